"""A :class:`~stepauth.store.adapter.Store` that keeps ephemeral item kinds in Redis.

``RoutedStore(store, ephemeral, kinds)`` sends ``put``/``add``/``get``/``consume``/``delete`` of
the ``kinds`` (default :data:`EPHEMERAL_KINDS`: codes, PAR requests, interactions,
challenges, one-time codes, pending transactions) to a
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
Build one with ``open_store(url, redis_url=…, redis_prefix=…)``. Methods not
defined here are the SQL store's own (attribute delegation), so the protocol's durable
half is never restated.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from typing import Any

from redis.exceptions import RedisError

from stepauth import observe
from stepauth.errors import ConfigError
from stepauth.store.adapter import Consumed, Item, Store, StoreUnavailable
from stepauth.store.at_rest import SEALED_KINDS
from stepauth.store.redis import RedisEphemeral

__all__ = ["EPHEMERAL_KINDS", "RoutedStore"]

_log = logging.getLogger("stepauth.store")

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
    }
)


class RoutedStore:
    """SQL for durable state, Redis for the ephemeral single-use kinds."""

    def __init__(
        self,
        store: Store,
        ephemeral: RedisEphemeral,
        kinds: frozenset[str] = EPHEMERAL_KINDS,
    ) -> None:
        if kinds & SEALED_KINDS:  # their payloads are sealed by the SQL store only
            raise ConfigError(f"{sorted(kinds & SEALED_KINDS)} cannot be kept in Redis")
        self.store = store
        self.ephemeral = ephemeral
        self.kinds = kinds
        #: Redis errors swallowed by a revocation (after the SQL store revoked).
        self.ephemeral_errors = 0

    def _items(self, kind: str) -> Store | RedisEphemeral:
        return self.ephemeral if kind in self.kinds else self.store

    async def close(self) -> None:
        try:
            await self.ephemeral.close()
        finally:
            await self.store.close()

    # items
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

    async def _best_effort(self, what: str, revocation: Awaitable[int]) -> int:
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
        durable = await self.store.revoke_grant(grant_id)
        return durable + await self._best_effort("grant", self.ephemeral.revoke_grant(grant_id))

    async def revoke_session_items(self, sid: str) -> int:
        durable = await self.store.revoke_session_items(sid)
        ephemeral = self.ephemeral.revoke_session_items(sid)
        return durable + await self._best_effort("session items", ephemeral)

    async def delete_user_sessions(
        self, user_id: str, *, except_session_id: str | None = None
    ) -> int:
        return len(await self.end_user_sessions(user_id, except_session_id=except_session_id))

    async def end_user_sessions(
        self, user_id: str, *, except_session_id: str | None = None
    ) -> list[str]:
        # SQL ends the sessions and revokes their durable items in one transaction; then
        # what those same sessions left in Redis (codes, PAR requests) is revoked.
        sids = await self.store.end_user_sessions(user_id, except_session_id=except_session_id)
        for sid in sids:
            await self._best_effort("session items", self.ephemeral.revoke_session_items(sid))
        return sids

    # everything else (users, sessions, keys, factors, counters, audit): the SQL store
    def __getattr__(self, name: str) -> Any:
        if name in ("store", "ephemeral", "kinds"):  # not set yet (copying, unpickling)
            raise AttributeError(name)
        return getattr(self.store, name)


def _count_redis_error() -> None:
    """``stepauth_store_errors_total{backend="redis"}`` of the request being served, if any."""
    observe.store_error("redis")
