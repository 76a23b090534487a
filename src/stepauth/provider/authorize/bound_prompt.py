"""The record of the one prompt per identical bound request: its key and its lifetime.

A bound request (RFC 9396 ``authorization_details``) of a signed-in user is keyed by
:func:`transaction_key` — SHA-256 of the canonical JSON (RFC 8785) of client, user and
details. The ``bound_prompt`` item under that key lives :data:`REUSE_WINDOW` seconds and
holds either the pending interaction or, once approved, the approval (``txn``) and the
stored key of the code that carries it (:func:`remember_approval`, called when that code
is issued). :mod:`stepauth.provider.authorize.prompt_reuse` reads it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.state import ProviderState
from stepauth.rar import canonical_json

__all__ = ["PROMPT_KIND", "REUSE_WINDOW", "remember_approval", "transaction_key"]

#: Store kind of the one prompt (pending interaction or unredeemed approval) per key.
PROMPT_KIND = "bound_prompt"
#: Seconds within which an identical bound request reuses the prompt or the approval.
REUSE_WINDOW = 120.0


def transaction_key(
    client_id: str | None, user_id: str, details: Sequence[Mapping[str, Any]]
) -> str:
    """The identity of a bound request: client, user and the canonical details."""
    canonical = canonical_json([client_id, user_id, [dict(d) for d in details]])
    return hashlib.sha256(canonical).hexdigest()


async def remember_approval(
    provider: ProviderState,
    ctx: AuthorizationContext,
    *,
    sub: str,
    sid: str,
    txn: str,
    code_key: str,
) -> None:
    """Record that the code stored under ``code_key`` carries the approval ``txn``."""
    if not ctx.authorization_details:
        return
    key = transaction_key(ctx.client_id, sub, ctx.authorization_details)
    record = {"sid": sid, "txn": txn, "code": code_key}
    expires_at = provider.clock() + REUSE_WINDOW
    await provider.store.put(PROMPT_KIND, key, record, expires_at=expires_at)
