"""``GET /admin/audit``: the audit log, filtered, and a transaction approval re-verified.

* ``?user=NAME`` — the events of that user (by name; an unknown name shows none);
* ``?action=WORD`` — events whose ``event`` or ``action`` is ``WORD`` (``step_up``,
  ``lock``…);
* ``?txn=ID`` — the stored approval of that transaction, re-verified on the spot
  (:func:`stepauth.provider.factors.webauthn.transaction_audit.verify_transaction`,
  WebAuthn L3 §7.2 over ``SHA-256(nonce ‖ JCS(details))``, PSD2 RTS Art. 5) with a
  **valid** / **invalid** badge, the first failed step, and what was approved.

The newest :data:`SCANNED` events are searched, newest first; the page lists at most
:data:`SHOWN`. Every field shown is one the audit log keeps
(:data:`stepauth.audit.AUDIT_FIELDS`), none of them a secret.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from stepauth.audit import AUDIT_FIELDS
from stepauth.provider.console.access import Admin, admin_of
from stepauth.provider.console.render import render_console, timestamp
from stepauth.provider.factors.webauthn.transaction_audit import RECORD_KIND, verify_transaction

__all__ = ["SCANNED", "SHOWN", "audit_page"]

SCANNED = 2000
SHOWN = 200
#: The meta-data of an approval the page shows beside the badge.
_APPROVAL_FIELDS = ("user_id", "client_id", "credential_id")


def _fields(event: dict[str, Any]) -> list[tuple[str, str]]:
    shown = []
    for name in AUDIT_FIELDS[2:]:
        value = event.get(name)
        if value is None or value in ([], ""):
            continue
        text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        shown.append((name, text))
    return shown


async def _transaction(admin: Admin, txn: str) -> dict[str, Any] | None:
    if not txn:
        return None
    item = await admin.state.store.get(RECORD_KIND, txn, now=admin.state.clock())
    if item is None:
        return {"txn": txn, "found": False}
    record = dict(item.payload)
    check = verify_transaction(record)
    return {
        "txn": txn,
        "found": True,
        "valid": check.valid,
        "failed_step": check.failed_step,
        "reason": check.reason,
        "meta": [(k, str(record[k])) for k in _APPROVAL_FIELDS if record.get(k) is not None],
        "verified_at": timestamp(record.get("verified_at")),
        "details": json.dumps(record.get("authorization_details"), indent=2, sort_keys=True),
    }


async def audit_page(request: Request) -> Response:
    admin = await admin_of(request)
    if not isinstance(admin, Admin):
        return admin
    params = request.query_params
    name = params.get("user", "").strip()[:255]
    action = params.get("action", "").strip()[:64]
    txn = params.get("txn", "").strip()[:128]
    store = admin.state.store
    user_id: str | None = None
    if name:
        user = await store.get_user_by_username(name)
        user_id = user.id if user is not None else ""
    events = []
    for event in await store.tail_audit(SCANNED):
        if user_id is not None and event.get("user_id") != user_id:
            continue
        if action and action not in (event.get("event"), event.get("action")):
            continue
        events.append(
            {
                "at": timestamp(float(event.get("at", 0))),
                "event": str(event.get("event", "")),
                "result": str(event.get("result", "")),
                "fields": _fields(event),
            }
        )
    return render_console(
        admin,
        "audit.html",
        events=events[-SHOWN:][::-1],
        user=name,
        action=action,
        txn=txn,
        transaction=await _transaction(admin, txn),
    )
