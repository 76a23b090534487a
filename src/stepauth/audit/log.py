"""Audit helpers: one JSON event per authentication attempt, step-up or factor change.

ASVS 5.0 16.3.1 asks to "log all authentication operations, including the type of
authentication and factors used"; issue 4 §8 names the fields: user, client, reason,
method, credential, result, acr before and after, IP, user agent.

Secrets never reach the log: the helpers take named fields only (no form, no payload
pass-through), so a password, a one-time code or a recovery code has no parameter to
arrive through. Values are truncated (a user agent is at most 256 characters).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import HTTPConnection

__all__ = ["AUDIT_FIELDS", "Client", "attempt", "client_of", "factor_change", "step_up"]

#: The fields an event may carry, in display order (``stepauth audit tail``).
AUDIT_FIELDS = (
    "event",
    "result",
    "user_id",
    "client_id",
    "reason",
    "method",
    "factor",
    "credential",
    "acr_before",
    "acr_after",
    "ip",
    "user_agent",
    "action",
)
_MAX = 256


class _AuditStore(Protocol):
    async def append_audit(self, event: Any, *, now: float) -> None: ...


@dataclass(frozen=True)
class Client:
    """Where an attempt came from: the remote address and the user agent."""

    ip: str | None = None
    user_agent: str | None = None


def client_of(request: HTTPConnection) -> Client:
    """The peer address (the ASGI server's view) and ``User-Agent`` of ``request``."""
    host = request.client.host if request.client is not None else None
    return Client(ip=host, user_agent=request.headers.get("user-agent"))


def _clean(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value][:16]
    return str(value)[:_MAX]


async def _write(store: _AuditStore, now: float, **fields: Any) -> None:
    event = {k: _clean(v) for k, v in fields.items() if k in AUDIT_FIELDS and v is not None}
    await store.append_audit(event, now=now)


async def attempt(
    store: _AuditStore,
    *,
    now: float,
    result: str,
    factor: str,
    user_id: str | None,
    client: Client,
    client_id: str | None = None,
    reason: Sequence[str] | str | None = None,
    method: Sequence[str] | None = None,
    credential: str | None = None,
) -> None:
    """One authentication attempt (``result``: ``success``, ``failure``, ``locked``,
    ``throttled``). ``method`` is the RFC 8176 ``amr`` of the event, ``credential`` the
    factor id — never the submitted value."""
    await _write(
        store,
        now,
        event="authentication",
        result=result,
        factor=factor,
        user_id=user_id,
        client_id=client_id,
        reason=reason,
        method=method,
        credential=credential,
        ip=client.ip,
        user_agent=client.user_agent,
    )


async def step_up(
    store: _AuditStore,
    *,
    now: float,
    user_id: str,
    client: Client,
    acr_before: str | None,
    acr_after: str | None,
    reason: Sequence[str] | str | None,
    method: Sequence[str] | None,
    credential: str | None = None,
    client_id: str | None = None,
    result: str = "success",
) -> None:
    """A completed step-up: the assurance before and after, and why it was asked."""
    await _write(
        store,
        now,
        event="step_up",
        result=result,
        user_id=user_id,
        client_id=client_id,
        reason=reason,
        method=method,
        credential=credential,
        acr_before=acr_before,
        acr_after=acr_after,
        ip=client.ip,
        user_agent=client.user_agent,
    )


async def factor_change(
    store: _AuditStore,
    *,
    now: float,
    user_id: str,
    action: str,
    factor: str,
    client: Client,
    credential: str | None = None,
) -> None:
    """A factor added, renamed, removed or replaced on ``/account`` (or by the CLI)."""
    await _write(
        store,
        now,
        event="factor_change",
        result="success",
        action=action,
        factor=factor,
        user_id=user_id,
        credential=credential,
        ip=client.ip,
        user_agent=client.user_agent,
    )
