"""``stepauth outbox``: print the development outbox of one-time codes.

The development OOB sender (:class:`stepauth.provider.notices.OutboxSender`)
appends each SMS/email it would send to a local JSON-lines file; this command shows
the latest messages so an operator can complete a sign-in without a real gateway.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from stepauth.errors import StepAuthError
from stepauth.provider.notices import read_outbox

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "outbox", help="print the development outbox (SMS codes, account notices)"
    )
    parser.add_argument(
        "--path",
        default=None,
        help="outbox file (default: $STEPAUTH_OUTBOX or ./stepauth-outbox.jsonl)",
    )
    parser.add_argument("-n", "--tail", type=int, default=20, help="show the last N messages")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.tail < 0:
        raise StepAuthError("-n/--tail must not be negative", error="usage")
    if args.path is not None and not Path(args.path).is_file():
        # an outbox named on purpose must be there; only the default one may not exist yet
        raise StepAuthError(f"no outbox file at {args.path}", error="usage")
    try:
        messages = read_outbox(args.path)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise StepAuthError(f"cannot read the outbox: {reason}", error="usage") from None
    if not messages:
        print("outbox is empty")
        return 0
    for item in messages[-max(args.tail, 1) :]:
        at = item.get("at")
        when = (
            dt.datetime.fromtimestamp(float(at), tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
            if isinstance(at, int | float)
            else "?"
        )
        channel, to = item.get("channel", "?"), item.get("to", "?")
        print(f"{when}  {channel:5}  {to}  {item.get('message', '')}")
    return 0
