"""The store's records and errors (frozen dataclasses; times are epoch seconds)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from stepauth.errors import StepAuthError

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
    "SessionSummary",
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
class SessionSummary:
    """A live session as an operator sees it: never its id (the cookie value), only its
    stable ``sid``, times and the methods (RFC 8176 ``amr``) of its events."""

    sid: str | None
    created_at: float
    last_seen_at: float
    methods: tuple[str, ...]


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
    """Outcome of :meth:`~stepauth.store.repositories.ItemStore.consume` (see
    :mod:`stepauth.store.adapter`)."""

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

    ``data`` is the factor's JSON; counters advanced with
    :meth:`~stepauth.store.repositories.FactorRepository.advance_counter`
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
