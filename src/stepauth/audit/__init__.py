"""Audit events of authentication (ASVS 5.0 16.3.1): every attempt and every step-up.

``stepauth.audit.log`` writes them through ``Store.append_audit``; ``stepauth audit
tail`` reads them back, ``stepauth audit verify-transaction`` re-verifies a stored
transaction approval (:mod:`stepauth.provider.factors.webauthn.transaction_audit`).
"""

from __future__ import annotations

from stepauth.audit.log import (
    AUDIT_FIELDS,
    Client,
    admin_action,
    attempt,
    client_of,
    factor_change,
    role_change,
    sessions_ended,
    step_up,
)

__all__ = [
    "AUDIT_FIELDS",
    "Client",
    "admin_action",
    "attempt",
    "client_of",
    "factor_change",
    "role_change",
    "sessions_ended",
    "step_up",
]
