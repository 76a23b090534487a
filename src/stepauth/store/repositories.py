"""The store's parts, one typed protocol each.

* :class:`ItemStore` — single-use and expiring artefacts keyed by ``(kind, key)``: the one
  part a deployment may keep in Redis (:class:`stepauth.store.routed.RoutedStore`);
* one repository per aggregate, always in the SQL database: :class:`UserRepository`,
  :class:`SessionRepository`, :class:`KeyRepository`, :class:`FactorRepository`,
  :class:`FailureRepository` (lockout and throttle counters) and :class:`AuditRepository`.

:class:`stepauth.store.adapter.Store` is all of them behind one object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from stepauth.store.records import (
    Consumed,
    Factor,
    FailureState,
    Item,
    KeyRecord,
    Session,
    SessionSummary,
    User,
)

__all__ = [
    "AuditRepository",
    "FactorRepository",
    "FailureRepository",
    "ItemStore",
    "KeyRepository",
    "SessionRepository",
    "UserRepository",
]


@runtime_checkable
class ItemStore(Protocol):
    """Single-use and expiring artefacts (see :mod:`stepauth.store.adapter`)."""

    async def put(
        self,
        kind: str,
        key: str,
        payload: Mapping[str, Any],
        *,
        expires_at: float | None,
        grant_id: str | None = None,
        user_id: str | None = None,
        sid: str | None = None,
    ) -> None:
        """Store (or replace) an item; a replaced item starts unconsumed.

        ``sid`` tags it with the session it was issued in (:meth:`revoke_session_items`).
        """
        ...

    async def get(self, kind: str, key: str, *, now: float) -> Item | None:
        """The item, or ``None`` if absent, expired, revoked or already consumed."""
        ...

    async def any_live(self, wanted: Sequence[tuple[str, str]], *, now: float) -> bool:
        """Whether any of the ``(kind, key)`` items in ``wanted`` is one :meth:`get` would
        return (two of them are looked up in one statement)."""
        ...

    async def consume(self, kind: str, key: str, *, now: float) -> Consumed:
        """Mark the item consumed in one atomic statement; see :class:`Consumed`."""
        ...

    async def add(
        self,
        kind: str,
        key: str,
        *,
        expires_at: float,
        now: float,
        data: Mapping[str, Any] | None = None,
    ) -> bool:
        """Insert an item only if no live one exists, in ONE atomic statement.

        True when this call inserted it; False when an unexpired item (consumed, revoked
        or not) already holds ``(kind, key)``. An expired item is replaced. Of any number
        of concurrent calls for one key, exactly one gets True (replay caches: a client
        assertion ``jti``, RFC 7523 §3 item 7).
        """
        ...

    async def delete(self, kind: str, key: str) -> None: ...

    async def revoke_grant(self, grant_id: str) -> int:
        """Make every item of ``grant_id`` unusable; returns how many."""
        ...

    async def revoke_session_items(self, sid: str) -> int:
        """Make every item tagged with session ``sid`` unusable in one statement; returns
        how many (RP-Initiated Logout ends the codes and tokens issued in the session)."""
        ...


@runtime_checkable
class UserRepository(Protocol):
    """Accounts."""

    async def create_user(self, username: str, password_hash: str | None) -> User:
        """Raises :class:`StoreError` when the username is taken."""
        ...

    async def get_user(self, user_id: str) -> User | None: ...

    async def get_user_by_username(self, username: str) -> User | None: ...

    async def list_users(self) -> list[User]: ...

    async def set_user_disabled(self, user_id: str, disabled: bool) -> None: ...

    async def set_password_hash(self, user_id: str, password_hash: str) -> None: ...

    async def user_roles(self, user_id: str) -> frozenset[str]: ...

    async def set_user_role(self, user_id: str, role: str, granted: bool) -> bool:
        """Grant or revoke ``role``; whether anything changed."""
        ...


@runtime_checkable
class SessionRepository(Protocol):
    """Server-side sessions (the cookie carries the id; the store keeps its keyed hash)."""

    async def create_session(
        self,
        user_id: str,
        events: Sequence[Mapping[str, Any]],
        *,
        now: float,
        idle_timeout: int,
        absolute_timeout: int,
    ) -> Session: ...

    async def get_session(self, session_id: str, *, now: float) -> Session | None:
        """``None`` when unknown or past its idle or absolute limit."""
        ...

    async def rotate_session(
        self, session_id: str, *, append_events: Sequence[Mapping[str, Any]], now: float
    ) -> Session | None:
        """Atomically replace the session by one with a new id and ``append_events`` added.

        ``None`` when the session is unknown, expired, or another rotation won.
        """
        ...

    async def touch_session(self, session_id: str, *, now: float) -> None:
        """Slide the idle limit (never beyond the absolute limit)."""
        ...

    async def delete_session(self, session_id: str) -> None: ...

    async def delete_user_sessions(
        self, user_id: str, *, except_session_id: str | None = None
    ) -> int:
        """End every session of ``user_id`` but ``except_session_id``; returns how many.

        ASVS 5.0 7.4.3 / 7.4.5: after a credential change the other sessions end, and
        every item issued in them (codes, refresh and access tokens) is revoked with them.
        """
        ...

    async def end_user_sessions(
        self, user_id: str, *, except_session_id: str | None = None
    ) -> list[str]:
        """:meth:`delete_user_sessions`, returning the ``sid`` of each session it ended."""
        ...

    async def end_user_session(self, user_id: str, sid: str) -> bool:
        """End the one session of ``user_id`` whose ``sid`` is ``sid`` and revoke its
        items; whether there was one."""
        ...

    async def list_user_sessions(self, user_id: str, *, now: float) -> list[SessionSummary]:
        """The live sessions of ``user_id``, oldest first (no ids: the store has hashes)."""
        ...


@runtime_checkable
class KeyRepository(Protocol):
    """Signing keys (the private part is encrypted by the caller)."""

    async def add_key(self, key: KeyRecord) -> None: ...

    async def list_keys(self) -> list[KeyRecord]: ...

    async def set_key_state(self, kid: str, state: str, *, now: float) -> None:
        """Move a key forward (next → active → retired); never backwards."""
        ...


@runtime_checkable
class FactorRepository(Protocol):
    """The authenticators of users, and their replay counters."""

    async def add_factor(
        self,
        user_id: str,
        kind: str,
        data: Mapping[str, Any],
        *,
        label: str,
        credential_id: str | None = None,
        now: float,
    ) -> Factor:
        """Raises :class:`StoreError` when ``credential_id`` is already registered."""
        ...

    async def list_factors(self, user_id: str) -> list[Factor]: ...

    async def get_factor(self, factor_id: str) -> Factor | None: ...

    async def get_factor_by_credential_id(self, credential_id: str) -> Factor | None: ...

    async def update_factor(
        self,
        factor_id: str,
        *,
        data: Mapping[str, Any] | None = None,
        label: str | None = None,
        last_used_at: float | None = None,
        disabled: bool | None = None,
    ) -> None: ...

    async def remove_factor(self, factor_id: str) -> None: ...

    async def advance_counter(self, factor_id: str, field: str, value: int) -> bool:
        """Atomically set counter ``field`` to ``value`` only if ``value`` is greater.

        True if it advanced; False is a replay or regression (RFC 6238 §5.2, WebAuthn
        §6.1.1 signCount). The floor is the larger of the integer at ``data[field]``
        (e.g. the signCount at registration) and the last advanced value; a factor that
        does not exist never advances. ``field`` is an identifier (``[A-Za-z_]\\w*``).
        """
        ...


@runtime_checkable
class FailureRepository(Protocol):
    """Consecutive failures per user and factor type (lockout, throttling)."""

    async def record_failure(self, user_id: str, factor_type: str, *, now: float) -> int:
        """Atomically count one more consecutive failure; returns the new count."""
        ...

    async def reset_failures(self, user_id: str, factor_type: str) -> None: ...

    async def failure_state(self, user_id: str, factor_type: str) -> FailureState: ...

    async def set_blocked_until(
        self, user_id: str, factor_type: str, until: float | None
    ) -> None: ...

    async def claim_failure(
        self, user_id: str, factor_type: str, *, now: float, every: int, hold_until: float
    ) -> int | None:
        """Count one attempt before it is verified, in one atomic statement.

        ``None`` (nothing counted) while a block is in force (``blocked_until > now``);
        else the new count. The attempt that makes the count a multiple of ``every``
        also blocks until ``hold_until``, so no other is counted while it is settled.
        """
        ...

    async def raise_blocked_until(self, user_id: str, factor_type: str, until: float) -> None:
        """Block until ``until`` unless a longer block is in force (never shortens one)."""
        ...

    async def release_failure(self, user_id: str, factor_type: str) -> None:
        """Give back one counted attempt (it succeeded) and lift the block it reached."""
        ...

    async def settle_failures(self, user_id: str, factor_type: str, *, keep_from: float) -> None:
        """A success: forget the count and any block ending before ``keep_from``."""
        ...


@runtime_checkable
class AuditRepository(Protocol):
    """The append-only audit trail."""

    async def append_audit(self, event: Mapping[str, Any], *, now: float) -> None: ...

    async def tail_audit(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest ``limit`` events, oldest first; each has ``at`` and ``seq``."""
        ...

    async def audit_between(
        self, *, since: float, until: float, event: str | None = None
    ) -> list[dict[str, Any]]:
        """The events with ``since <= at < until`` (of kind ``event`` when given), oldest
        first; each has ``at`` and ``seq``."""
        ...
