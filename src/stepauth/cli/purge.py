"""``stepauth purge [--batch N]``: delete expired rows once, now.

The same purge ``stepauth serve`` runs every ``[purge] interval`` seconds
(:mod:`stepauth.provider.ops.purge`): expired items past their retention, ended sessions,
per-address throttle rows of past windows, in batches of ``[purge] batch`` rows (or
``--batch``). Safe while servers run on the same database. Prints the rows deleted per
table; a database error is one ``stepauth: error:`` line (exit 2).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from stepauth.cli import add_config_argument, load_cli_config, with_store
from stepauth.errors import StepAuthError
from stepauth.provider.ops.purge import purge_once

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "purge", help="delete expired codes, tokens, sessions and throttle rows now"
    )
    add_config_argument(parser)
    parser.add_argument(
        "--batch",
        type=int,
        default=None,
        metavar="N",
        help="rows deleted per statement (default: [purge] batch)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_cli_config(args)
    if args.batch is not None:
        if args.batch < 1:
            raise StepAuthError("--batch must be at least 1", error="invalid_argument")
        config = dataclasses.replace(
            config, purge=dataclasses.replace(config.purge, batch=args.batch)
        )
    try:
        deleted = with_store(config, lambda store: purge_once(store, config, now=time.time()))
    except (SQLAlchemyError, OSError) as exc:
        raise StepAuthError(
            f"purge failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            error="store_unavailable",
        ) from None
    total = sum(deleted.values())
    detail = ", ".join(f"{table} {count}" for table, count in deleted.items())
    print(f"purged {total} expired rows ({detail})")
    return 0
