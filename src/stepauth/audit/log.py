"""Audit helpers: one JSON event per authentication attempt, step-up or factor change.

ASVS 5.0 16.3.1 asks to "log all authentication operations, including the type of
authentication and factors used"; each event names the user, client, reason, method,
credential, result, acr before and after, IP and user agent.

Secrets never reach the log: the helpers take named fields only (no form, no payload
pass-through; the optional ones shared by attempts and step-ups are the keys of
:class:`Context`), so a password, a one-time code or a recovery code has no parameter
to arrive through. Values are truncated (a user agent is at most 256 characters).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict, Unpack

from starlette.requests import HTTPConnection

from stepauth import observe

__all__ = [
    "AUDIT_FIELDS",
    "Client",
    "Context",
    "admin_action",
    "attempt",
    "client_of",
    "factor_change",
    "role_change",
    "sessions_ended",
    "step_up",
]

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
    "count",
    "binding_before",
    "binding_after",
    "factors_before",
    "factors_after",
    "held_after",
    "admin_id",
    "stepup_acr",
    "stepup_auth_time",
    "role",
    "before",
    "after",
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
    """The client address and ``User-Agent`` of ``request``.

    The address is ``request.client``: the TCP peer, or — behind ``[server]
    trusted_proxies`` — the client that :func:`stepauth.provider.forwarded.client_address`
    resolved for this request. The per-address throttle keys on the same value.
    """
    host = request.client.host if request.client is not None else None
    return Client(ip=host, user_agent=request.headers.get("user-agent"))


class Context(TypedDict, total=False):
    """The optional fields an attempt and a step-up share."""

    #: The OAuth client the authentication is for.
    client_id: str | None
    #: Why it was asked (login policy reasons, ``account_change``).
    reason: Sequence[str] | str | None
    #: RFC 8176 ``amr`` values of the verified event.
    method: Sequence[str] | None
    #: The factor id — never the submitted value.
    credential: str | None


def _clean(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value][:16]
    return str(value)[:_MAX]


async def _write(
    store: _AuditStore,
    now: float,
    client: Client,
    event: str,
    result: str,
    user_id: str | None,
    **fields: Any,
) -> None:
    fields.update(
        event=event, result=result, user_id=user_id, ip=client.ip, user_agent=client.user_agent
    )
    kept = {k: _clean(v) for k, v in fields.items() if k in AUDIT_FIELDS and v is not None}
    observe.client_known(kept.get("client_id"))
    await store.append_audit(kept, now=now)


async def attempt(
    store: _AuditStore,
    *,
    now: float,
    result: str,
    factor: str,
    user_id: str | None,
    client: Client,
    **context: Unpack[Context],
) -> None:
    """One authentication attempt (``result``: ``success``, ``failure``, ``locked``,
    ``throttled``, ``code_sent``); counted in the Provider's metrics as well."""
    observe.attempt(factor, result)
    await _write(store, now, client, "authentication", result, user_id, factor=factor, **context)


async def step_up(
    store: _AuditStore,
    *,
    now: float,
    user_id: str,
    client: Client,
    acr_before: str | None,
    acr_after: str | None,
    result: str = "success",
    **context: Unpack[Context],
) -> None:
    """A verified factor's step: the assurance before and after, and why it was asked."""
    acr = {"acr_before": acr_before, "acr_after": acr_after}
    await _write(store, now, client, "step_up", result, user_id, **acr, **context)


async def factor_change(
    store: _AuditStore,
    *,
    now: float,
    user_id: str,
    action: str,
    factor: str,
    client: Client,
    credential: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """A factor added, renamed, removed or replaced on ``/account`` (or by the CLI);
    ``before``/``after``: the account's ``factors`` (kind:id) and ``binding`` level."""
    change: dict[str, Any] = {"action": action, "factor": factor, "credential": credential}
    for name, shot in (("before", before), ("after", after)):
        if shot is not None:
            change[f"binding_{name}"] = shot.get("binding")
            change[f"factors_{name}"] = list(shot.get("factors", ()))
    if after is not None:
        change["held_after"] = list(after.get("held", ()))
    await _write(store, now, client, "factor_change", "success", user_id, **change)


async def sessions_ended(
    store: _AuditStore, *, now: float, user_id: str, client: Client, count: int
) -> None:
    """The user ended their other sessions (ASVS 5.0 7.4.3): how many there were."""
    await _write(store, now, client, "sessions_ended", "success", user_id, count=count)


async def admin_action(
    store: _AuditStore,
    *,
    now: float,
    admin_id: str,
    stepup_acr: str,
    stepup_auth_time: float,
    user_id: str | None,
    action: str,
    client: Client,
    before: str | None = None,
    after: str | None = None,
) -> None:
    """A change made on the operator console ``/admin``: the admin, the fresh step-up that
    authorised it (its ``acr`` and ``auth_time``), the user it touched and what the
    changed thing was ``before`` and ``after`` (states and counts, never a secret)."""
    await _write(
        store,
        now,
        client,
        "admin_action",
        "success",
        user_id,
        action=action,
        admin_id=admin_id,
        stepup_acr=stepup_acr,
        stepup_auth_time=stepup_auth_time,
        before=before,
        after=after,
    )


async def role_change(
    store: _AuditStore, *, now: float, user_id: str, role: str, granted: bool, client: Client
) -> None:
    """A role granted or revoked by the operator (``stepauth users grant-admin``)."""
    action = "grant" if granted else "revoke"
    await _write(store, now, client, "role_change", "success", user_id, action=action, role=role)
