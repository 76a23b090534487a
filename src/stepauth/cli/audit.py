"""``stepauth audit tail [-n N]`` and ``stepauth audit verify-transaction TXN``.

``tail`` prints the latest audit events, oldest first, one line each: time, event,
result, then the recorded fields (ASVS 5.0 16.3.1). ``verify-transaction`` loads the
stored approval record of a transaction (store kind ``txn_record``) and re-verifies it
(:func:`~stepauth.provider.factors.webauthn.transaction_audit.verify_transaction`):
``VALID`` with the approved details (exit 0), or ``INVALID`` with the failed step (exit
1); a transaction with no stored approval is an error (``no such transaction``, exit 2),
not a failed check.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stepauth.audit.log import AUDIT_FIELDS
from stepauth.cli import add_action, add_command_group, load_cli_config, with_store
from stepauth.errors import StepAuthError
from stepauth.provider.factors.webauthn.transaction_audit import RECORD_KIND, verify_transaction

if TYPE_CHECKING:
    from stepauth.store import Store

__all__ = ["format_event", "register"]


def register(subparsers: Any) -> None:
    commands = add_command_group(
        subparsers, "audit", "read the audit log and re-verify transaction approvals"
    )
    tail = add_action(commands, "tail", "print the latest audit events", _tail)
    tail.add_argument("-n", type=int, default=20, metavar="N", help="how many (default 20)")
    verify = add_action(
        commands, "verify-transaction", "re-verify the stored approval of a transaction", _verify
    )
    verify.add_argument("txn", metavar="TXN")


def format_event(event: dict[str, Any]) -> str:
    at = datetime.fromtimestamp(float(event.get("at", 0)), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    parts = [at, str(event.get("event", "-")), str(event.get("result", "-"))]
    for name in AUDIT_FIELDS[2:]:
        value = event.get(name)
        if value is None or value == [] or value == "":
            continue
        text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{name}={json.dumps(text) if ' ' in text else text}")
    return " ".join(parts)


def _tail(args: argparse.Namespace) -> int:
    if args.n < 0:
        raise StepAuthError("-n must not be negative", error="usage")
    config = load_cli_config(args)
    for event in with_store(config, lambda store: store.tail_audit(args.n)):
        print(format_event(event))
    return 0


def _verify(args: argparse.Namespace) -> int:
    config = load_cli_config(args)

    async def fetch(store: Store) -> dict[str, Any] | None:
        item = await store.get(RECORD_KIND, args.txn, now=datetime.now(tz=UTC).timestamp())
        return dict(item.payload) if item is not None else None

    record = with_store(config, fetch)
    if record is None:
        raise StepAuthError(
            f"no such transaction {args.txn!r} (no approval is stored for it)",
            error="unknown_transaction",
        )
    check = verify_transaction(record)
    if not check.valid:
        print(f"INVALID: step {check.failed_step}: {check.reason}")
        return 1
    print(f"VALID: transaction {args.txn}")
    for key in ("user_id", "client_id", "credential_id", "verified_at"):
        if record.get(key) is not None:
            print(f"  {key}: {record[key]}")
    print("  authorization_details: " + json.dumps(check.details, sort_keys=True))
    return 0
