"""The storage contract every Provider component talks to: :class:`Store`.

No process-local state: sessions, single-use artefacts, keys, factors, failure counters
and the audit trail all live behind this protocol, so any number of Provider instances
can share one database. :class:`Store` composes one typed protocol per part
(:mod:`stepauth.store.repositories`): the item store (:class:`ItemStore`, the only part
that may live in Redis) and a repository per aggregate; implementations compose one
object per part behind :class:`stepauth.store.facade.StoreFacade`.

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

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from stepauth.store.records import (
    KEY_STATES,
    Consumed,
    ConsumeStatus,
    Factor,
    FailureState,
    Item,
    KeyRecord,
    KeyState,
    Session,
    SessionSummary,
    StoreError,
    StoreUnavailable,
    User,
    session_sid,
)
from stepauth.store.repositories import (
    AuditRepository,
    FactorRepository,
    FailureRepository,
    ItemStore,
    KeyRepository,
    SessionRepository,
    UserRepository,
)

if TYPE_CHECKING:
    from stepauth.store.at_rest import AtRest

__all__ = [
    "KEY_STATES",
    "AuditRepository",
    "ConsumeStatus",
    "Consumed",
    "Factor",
    "FactorRepository",
    "FailureRepository",
    "FailureState",
    "Item",
    "ItemStore",
    "KeyRecord",
    "KeyRepository",
    "KeyState",
    "Session",
    "SessionRepository",
    "SessionSummary",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "User",
    "UserRepository",
    "session_sid",
]


@runtime_checkable
class Store(
    ItemStore,
    UserRepository,
    SessionRepository,
    KeyRepository,
    FactorRepository,
    FailureRepository,
    AuditRepository,
    Protocol,
):
    """Every part of the store behind one object (:mod:`stepauth.store.repositories`);
    SQLAlchemy: :func:`stepauth.store.open_store`."""

    def protect(self, at_rest: AtRest) -> None:
        """Keep session ids (keyed hashes) and factor secrets (sealed) under ``at_rest``.

        Until then the store refuses sessions and factor secrets. The Provider gives its
        store the keys derived from its secret when it starts.
        """
        ...

    async def close(self) -> None: ...
