"""A :class:`~stepauth.store.adapter.Store` that keeps ephemeral item kinds in Redis.

``RoutedStore(store, ephemeral, kinds)`` sends ``put``/``add``/``get``/``consume``/``delete`` of
the ``kinds`` (default :data:`EPHEMERAL_KINDS`: codes, PAR requests, interactions,
challenges, one-time codes, pending transactions, seen client assertion, DPoP proof and
request object ids) to a
:class:`~stepauth.store.redis.RedisEphemeral`, and everything else (users, sessions,
keys, factors, counters, audit, and long-lived items such as refresh and access tokens)
to the SQL store (sessions and factors with their secrets included: see
:mod:`stepauth.store.at_rest`). ``revoke_grant``, ``revoke_session_items`` and
``end_user_sessions`` revoke in both, the SQL store first: a revocation always reaches the
durable store whatever Redis does. A Redis error after it is logged (``stepauth.store``),
counted (:attr:`RoutedStore.ephemeral_errors`, and ``stepauth_store_errors_total`` during
a request) and not raised: the Provider's durable revoked-grant and ended-session records
(:mod:`stepauth.provider.grants`, :mod:`stepauth.provider.sessions`), checked after every
token is stored, refuse what a code left live in Redis could still be exchanged for.
Build one with ``open_store(url, redis_url=…, redis_prefix=…)``.

Only the item store is routed (:class:`RoutedItems`); the session repository is the SQL
one with the Redis half of its revocation added (:class:`RoutedSessions`, a subclass of
:class:`~stepauth.store.sql.sessions.SQLSessions`); every other
repository is the SQL store's own, composed by :class:`~stepauth.store.facade.StoreFacade`
(explicit, typed forwarding).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from redis.exceptions import RedisError

from stepauth import observe
from stepauth.errors import ConfigError
from stepauth.store.at_rest import SEALED_KINDS, AtRest
from stepauth.store.facade import StoreFacade
from stepauth.store.records import Consumed, Item, StoreUnavailable
from stepauth.store.redis import RedisEphemeral
from stepauth.store.repositories import ItemStore
from stepauth.store.sql.sessions import SQLSessions

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from stepauth.store.sql.store import SQLStore

__all__ = ["EPHEMERAL_KINDS", "RoutedItems", "RoutedSessions", "RoutedStore"]

_log = logging.getLogger("stepauth.store")

T = TypeVar("T")

EPHEMERAL_KINDS = frozenset(
    {
        "code",
        "par",
        "interaction",
        "webauthn_challenge",
        "oob_code",
        "txn",
        "pending",
        "client_jti",
        "dpop_jti",
        "request_object_jti",
    }
)


class RoutedItems:
    """The ``kinds`` in Redis, every other kind in SQL; revocations reach both, SQL first."""

    def __init__(
        self,
        durable: ItemStore,
        ephemeral: RedisEphemeral,
        kinds: frozenset[str] = EPHEMERAL_KINDS,
    ) -> None:
        if kinds & SEALED_KINDS:  # their payloads are sealed by the SQL store only
            raise ConfigError(f"{sorted(kinds & SEALED_KINDS)} cannot be kept in Redis")
        self.durable = durable
        self.ephemeral = ephemeral
        self.kinds = kinds
        #: Redis errors swallowed by a revocation (after the SQL store revoked).
        self.ephemeral_errors = 0

    def _items(self, kind: str) -> ItemStore:
        return self.ephemeral if kind in self.kinds else self.durable

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
        await self._items(kind).put(
            kind, key, payload, expires_at=expires_at, grant_id=grant_id, user_id=user_id, sid=sid
        )

    async def get(self, kind: str, key: str, *, now: float) -> Item | None:
        return await self._items(kind).get(kind, key, now=now)

    async def any_live(self, wanted: Sequence[tuple[str, str]], *, now: float) -> bool:
        durable = [(kind, key) for kind, key in wanted if kind not in self.kinds]
        ephemeral = [(kind, key) for kind, key in wanted if kind in self.kinds]
        if durable and await self.durable.any_live(durable, now=now):
            return True
        return bool(ephemeral) and await self.ephemeral.any_live(ephemeral, now=now)

    async def consume(self, kind: str, key: str, *, now: float) -> Consumed:
        return await self._items(kind).consume(kind, key, now=now)

    async def add(
        self,
        kind: str,
        key: str,
        *,
        expires_at: float,
        now: float,
        data: Mapping[str, Any] | None = None,
    ) -> bool:
        return await self._items(kind).add(kind, key, expires_at=expires_at, now=now, data=data)

    async def delete(self, kind: str, key: str) -> None:
        await self._items(kind).delete(kind, key)

    async def best_effort(self, what: str, revocation: Awaitable[int]) -> int:
        """Run a Redis revocation that follows the SQL one; a Redis error is logged and
        counted, never raised (the durable half already holds)."""
        try:
            return await revocation
        except (StoreUnavailable, RedisError, OSError) as exc:
            self.ephemeral_errors += 1
            _log.error(
                "redis unavailable: %s revoked in the database only (%s)",
                what,
                type(exc).__name__,
            )
            _count_redis_error()
            return 0

    async def revoke_grant(self, grant_id: str) -> int:
        durable = await self.durable.revoke_grant(grant_id)
        return durable + await self.best_effort("grant", self.ephemeral.revoke_grant(grant_id))

    async def revoke_session_items(self, sid: str) -> int:
        durable = await self.durable.revoke_session_items(sid)
        ephemeral = self.ephemeral.revoke_session_items(sid)
        return durable + await self.best_effort("session items", ephemeral)


class RoutedSessions(SQLSessions):
    """The SQL sessions; ending a user's sessions also revokes what they left in Redis
    (``delete_user_sessions`` ends them through :meth:`end_user_sessions`)."""

    def __init__(self, durable: SQLSessions, items: RoutedItems) -> None:
        super().__init__(durable.db)
        self.items = items

    async def end_user_sessions(
        self, user_id: str, *, except_session_id: str | None = None
    ) -> list[str]:
        # SQL ends the sessions and revokes their durable items in one transaction; then
        # what those same sessions left in Redis (codes, PAR requests) is revoked.
        sids = await super().end_user_sessions(user_id, except_session_id=except_session_id)
        for sid in sids:
            await self._revoke_ephemeral(sid)
        return sids

    async def end_user_session(self, user_id: str, sid: str) -> bool:
        ended = await super().end_user_session(user_id, sid)
        if ended:  # as end_user_sessions: then what the session left in Redis
            await self._revoke_ephemeral(sid)
        return ended

    async def _revoke_ephemeral(self, sid: str) -> None:
        await self.items.best_effort(
            "session items", self.items.ephemeral.revoke_session_items(sid)
        )


class RoutedStore(StoreFacade):
    """SQL for durable state, Redis for the ephemeral single-use kinds."""

    items: RoutedItems
    sessions: RoutedSessions

    def __init__(
        self,
        store: SQLStore,
        ephemeral: RedisEphemeral,
        kinds: frozenset[str] = EPHEMERAL_KINDS,
    ) -> None:
        items = RoutedItems(store.items, ephemeral, kinds)
        super().__init__(
            items=items,
            users=store.users,
            sessions=RoutedSessions(store.sessions, items),
            signing_keys=store.signing_keys,
            factors=store.factors,
            failures=store.failures,
            audit=store.audit,
        )
        self.store = store
        self.ephemeral = ephemeral
        self.kinds = kinds

    @property
    def ephemeral_errors(self) -> int:
        """Redis errors swallowed by a revocation (after the SQL store revoked)."""
        return self.items.ephemeral_errors

    def protect(self, at_rest: AtRest) -> None:
        self.store.protect(at_rest)

    async def run_sync(self, fn: Callable[[Connection], T], *, write: bool = False) -> T:
        """An operation of the SQL store's own (:meth:`SQLStore.run_sync`)."""
        return await self.store.run_sync(fn, write=write)

    async def purge(
        self,
        *,
        now: float,
        retain: float,
        stale_before: float,
        batch: int = 1000,
        vacuum: bool = True,
    ) -> dict[str, int]:
        """The SQL store's purge (:meth:`SQLStore.purge`); Redis expires its own keys."""
        return await self.store.purge(
            now=now, retain=retain, stale_before=stale_before, batch=batch, vacuum=vacuum
        )

    async def close(self) -> None:
        try:
            await self.ephemeral.close()
        finally:
            await self.store.close()


def _count_redis_error() -> None:
    """``stepauth_store_errors_total{backend="redis"}`` of the request being served, if any."""
    observe.store_error("redis")
