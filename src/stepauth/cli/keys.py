"""``stepauth keys rotate|list``: signing-key rotation.

``rotate`` promotes each algorithm's published ``next`` key to ``active``, retires the
active one (still published until its tokens expire) and publishes a fresh ``next`` key
(see :mod:`stepauth.provider.keys`). Running Providers pick the change up from the store.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stepauth.cli import add_action, add_command_group, load_cli_config, with_store
from stepauth.provider.keys import ALGORITHMS
from stepauth.provider.ops.bootstrap import load_key_ring

if TYPE_CHECKING:
    from stepauth.store import Store

__all__ = ["register"]


def register(subparsers: Any) -> None:
    commands = add_command_group(subparsers, "keys", "manage signing keys")
    rotate = add_action(commands, "rotate", "rotate the signing keys", _rotate)
    rotate.add_argument(
        "--alg", action="append", choices=ALGORITHMS, help="only this algorithm (repeatable)"
    )
    add_action(commands, "list", "list signing keys and their states", _list)


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rotate(args: argparse.Namespace) -> int:
    config = load_cli_config(args)

    async def rotate(store: Store) -> dict[str, str]:
        ring = await load_key_ring(store, config)
        return await ring.rotate(algs=args.alg)

    for alg, kid in with_store(config, rotate).items():
        print(f"{alg}: {kid} is now active")
    return 0


def _list(args: argparse.Namespace) -> int:
    config = load_cli_config(args)
    for record in with_store(config, lambda store: store.list_keys()):
        print(
            f"{record.kid}\t{record.alg}\t{record.state}\tcreated={_when(record.created_at)}"
            f"\tactivated={_when(record.activated_at)}\tretired={_when(record.retired_at)}"
        )
    return 0
