"""The storage contract every Provider component talks to: :class:`Store`.

One async adapter, no process-local state: sessions, single-use artefacts, keys,
factors, failure counters and the audit trail all live behind this protocol, so any
number of Provider instances can share one database (DESIGN.md §4 "Storage").

Records are frozen dataclasses. Times are epoch seconds (``float``); ``now`` is always
passed in by the caller (injectable clock).

Single-use artefacts (``put``/``consume``/``add``) are keyed by ``(kind, key)``; kinds used
include ``code``, ``par``, ``refresh_token``, ``access_token``, ``interaction``,
``webauthn_challenge``, ``oob_code``, ``txn``, ``pending``. :meth:`Store.consume` is one
atomic statement; its :class:`Consumed` result says what happened:

* ``"ok"`` — the payload is returned and the item is now consumed;
* ``"replayed"`` — it had been consumed before; ``payload`` and ``grant_id`` are returned
  so the caller can revoke what it issued (RFC 6749 §4.1.2, OIDC Core §16.11);
* ``"expired"`` — past ``expires_at``;
* ``"missing"`` — unknown, deleted, or revoked through :meth:`Store.revoke_grant`
  (revoked items are indistinguishable from unknown ones: fail closed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from stepauth.errors import StepAuthError

if TYPE_CHECKING:
    from stepauth.store.at_rest import AtRest

__all__ = [
    "KEY_STATES",
    "ConsumeStatus",
    "Consumed",
    "Factor",
    "FailureState",
    "Item",
    "KeyRecord",
    "KeyState",
    "Session",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "User",
    "session_sid",
]

ConsumeStatus = Literal["ok", "replayed", "expired", "missing"]
KeyState = Literal["next", "active", "retired"]
#: Key states in their only allowed order: a key is published ("next"), then signs
#: ("active"), then is only verified against ("retired").
KEY_STATES: tuple[str, ...] = ("next", "active", "retired")


def session_sid(session_id: str) -> str:
    """The ``sid`` of a session stored without one (created before ``sid`` existed): a
    digest of its id, the tag its items were issued under; the id never leaves the cookie."""
    return hashlib.sha256(session_id.encode()).hexdigest()[:32]


class StoreError(StepAuthError):
    """The store failed or was asked something impossible (unknown id, duplicate)."""

    error = "store_error"


class StoreUnavailable(StoreError):
    """The database or Redis cannot answer now (down, unreachable, frozen past its timeout,
    locked past its busy timeout): retry later. ``backend`` is ``database`` or ``redis``.

    Raised only at the store boundary, from the driver's connection and timeout errors;
    errors that mean something else (a duplicate key, a schema problem) keep their type.
    """

    error = "temporarily_unavailable"

    def __init__(self, backend: str, description: str = "") -> None:
        super().__init__(description or f"the {backend} is unavailable")
        self.backend = backend


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    password_hash: str | None
    disabled: bool
    created_at: float


@dataclass(frozen=True, slots=True)
class Session:
    """A server-side session; the cookie carries ``id`` only.

    The store keeps a keyed hash of ``id``, never ``id`` itself
    (:mod:`stepauth.store.at_rest`); every method taking a ``session_id`` takes the
    cookie value and hashes it.
    """

    id: str
    user_id: str
    events: list[dict[str, Any]]
    created_at: float
    last_seen_at: float
    idle_expires_at: float
    absolute_expires_at: float
    #: Stable across rotations of ``id``; the ``sid`` claim and the tag of the items
    #: issued in this session (``None`` only for sessions older than the column).
    sid: str | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """A single-use or expiring artefact (authorization code, PAR request, …)."""

    kind: str
    key: str
    payload: dict[str, Any]
    grant_id: str | None
    user_id: str | None
    expires_at: float | None
    consumed_at: float | None
    created_at: float


@dataclass(frozen=True, slots=True)
class Consumed:
    """Outcome of :meth:`Store.consume` (see the module docstring)."""

    status: ConsumeStatus
    payload: dict[str, Any] | None = None
    grant_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A signing key; ``private_enc`` is the AES-GCM encrypted private JWK."""

    kid: str
    alg: str
    public_jwk: dict[str, Any]
    private_enc: bytes
    state: str
    created_at: float
    activated_at: float | None = None
    retired_at: float | None = None


@dataclass(frozen=True, slots=True)
class Factor:
    """An authenticator of a user.

    ``data`` is the factor's JSON; counters advanced with :meth:`Store.advance_counter`
    show in it under their field name at their high-water mark.
    """

    id: str
    user_id: str
    kind: str
    label: str
    data: dict[str, Any]
    credential_id: str | None
    created_at: float
    last_used_at: float | None = None
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class FailureState:
    """Consecutive failures of one factor type for one user (lockout)."""

    count: int = 0
    blocked_until: float | None = None
    last_failure_at: float | None = None


@runtime_checkable
class Store(Protocol):
    """The async storage adapter (SQLAlchemy: :func:`stepauth.store.open_store`)."""

    def protect(self, at_rest: AtRest) -> None:
        """Keep session ids (keyed hashes) and factor secrets (sealed) under ``at_rest``.

        Until then the store refuses sessions and factor secrets. The Provider gives its
        store the keys derived from its secret when it starts.
        """
        ...

    # single-use / expiring artefacts
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

    # users
    async def create_user(self, username: str, password_hash: str | None) -> User:
        """Raises :class:`StoreError` when the username is taken."""
        ...

    async def get_user(self, user_id: str) -> User | None: ...

    async def get_user_by_username(self, username: str) -> User | None: ...

    async def list_users(self) -> list[User]: ...

    async def set_user_disabled(self, user_id: str, disabled: bool) -> None: ...

    async def set_password_hash(self, user_id: str, password_hash: str) -> None: ...

    # server-side sessions
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

    # signing keys (the private part is encrypted by the caller)
    async def add_key(self, key: KeyRecord) -> None: ...

    async def list_keys(self) -> list[KeyRecord]: ...

    async def set_key_state(self, kid: str, state: str, *, now: float) -> None:
        """Move a key forward (next → active → retired); never backwards."""
        ...

    # factors
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

    # failure counters (lockout)
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

    # audit
    async def append_audit(self, event: Mapping[str, Any], *, now: float) -> None: ...

    async def tail_audit(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest ``limit`` events, oldest first; each has ``at`` and ``seq``."""
        ...

    async def close(self) -> None: ...
