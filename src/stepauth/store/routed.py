"""A :class:`~stepauth.store.adapter.Store` that keeps ephemeral item kinds in Redis.

``RoutedStore(store, ephemeral, kinds)`` sends ``put``/``add``/``get``/``consume``/``delete`` of
the ``kinds`` (default :data:`EPHEMERAL_KINDS`: codes, PAR requests, interactions,
challenges, one-time codes, pending transactions) to a
:class:`~stepauth.store.redis.RedisEphemeral`, and everything else (users, sessions,
keys, factors, counters, audit, and long-lived items such as refresh and access tokens)
to the SQL store. ``revoke_grant`` and ``revoke_session_items`` revoke in both. Build one with
``open_store(url, redis_url=…, redis_prefix=…)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stepauth.store.adapter import (
    Consumed,
    Factor,
    FailureState,
    Item,
    KeyRecord,
    Session,
    Store,
    User,
)
from stepauth.store.redis import RedisEphemeral

__all__ = ["EPHEMERAL_KINDS", "RoutedStore"]

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
        self.store = store
        self.ephemeral = ephemeral
        self.kinds = kinds

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

    async def revoke_grant(self, grant_id: str) -> int:
        return await self.ephemeral.revoke_grant(grant_id) + await self.store.revoke_grant(grant_id)

    async def revoke_session_items(self, sid: str) -> int:
        ephemeral = await self.ephemeral.revoke_session_items(sid)
        return ephemeral + await self.store.revoke_session_items(sid)

    # everything else goes to the SQL store
    async def create_user(self, username: str, password_hash: str | None) -> User:
        return await self.store.create_user(username, password_hash)

    async def get_user(self, user_id: str) -> User | None:
        return await self.store.get_user(user_id)

    async def get_user_by_username(self, username: str) -> User | None:
        return await self.store.get_user_by_username(username)

    async def list_users(self) -> list[User]:
        return await self.store.list_users()

    async def set_user_disabled(self, user_id: str, disabled: bool) -> None:
        await self.store.set_user_disabled(user_id, disabled)

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        await self.store.set_password_hash(user_id, password_hash)

    async def create_session(
        self,
        user_id: str,
        events: Sequence[Mapping[str, Any]],
        *,
        now: float,
        idle_timeout: int,
        absolute_timeout: int,
    ) -> Session:
        return await self.store.create_session(
            user_id, events, now=now, idle_timeout=idle_timeout, absolute_timeout=absolute_timeout
        )

    async def get_session(self, session_id: str, *, now: float) -> Session | None:
        return await self.store.get_session(session_id, now=now)

    async def rotate_session(
        self, session_id: str, *, append_events: Sequence[Mapping[str, Any]], now: float
    ) -> Session | None:
        return await self.store.rotate_session(session_id, append_events=append_events, now=now)

    async def touch_session(self, session_id: str, *, now: float) -> None:
        await self.store.touch_session(session_id, now=now)

    async def delete_session(self, session_id: str) -> None:
        await self.store.delete_session(session_id)

    async def delete_user_sessions(
        self, user_id: str, *, except_session_id: str | None = None
    ) -> int:
        return await self.store.delete_user_sessions(user_id, except_session_id=except_session_id)

    async def add_key(self, key: KeyRecord) -> None:
        await self.store.add_key(key)

    async def list_keys(self) -> list[KeyRecord]:
        return await self.store.list_keys()

    async def set_key_state(self, kid: str, state: str, *, now: float) -> None:
        await self.store.set_key_state(kid, state, now=now)

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
        return await self.store.add_factor(
            user_id, kind, data, label=label, credential_id=credential_id, now=now
        )

    async def list_factors(self, user_id: str) -> list[Factor]:
        return await self.store.list_factors(user_id)

    async def get_factor(self, factor_id: str) -> Factor | None:
        return await self.store.get_factor(factor_id)

    async def get_factor_by_credential_id(self, credential_id: str) -> Factor | None:
        return await self.store.get_factor_by_credential_id(credential_id)

    async def update_factor(
        self,
        factor_id: str,
        *,
        data: Mapping[str, Any] | None = None,
        label: str | None = None,
        last_used_at: float | None = None,
        disabled: bool | None = None,
    ) -> None:
        await self.store.update_factor(
            factor_id, data=data, label=label, last_used_at=last_used_at, disabled=disabled
        )

    async def remove_factor(self, factor_id: str) -> None:
        await self.store.remove_factor(factor_id)

    async def advance_counter(self, factor_id: str, field: str, value: int) -> bool:
        return await self.store.advance_counter(factor_id, field, value)

    async def record_failure(self, user_id: str, factor_type: str, *, now: float) -> int:
        return await self.store.record_failure(user_id, factor_type, now=now)

    async def reset_failures(self, user_id: str, factor_type: str) -> None:
        await self.store.reset_failures(user_id, factor_type)

    async def failure_state(self, user_id: str, factor_type: str) -> FailureState:
        return await self.store.failure_state(user_id, factor_type)

    async def set_blocked_until(self, user_id: str, factor_type: str, until: float | None) -> None:
        await self.store.set_blocked_until(user_id, factor_type, until)

    async def append_audit(self, event: Mapping[str, Any], *, now: float) -> None:
        await self.store.append_audit(event, now=now)

    async def tail_audit(self, limit: int = 50) -> list[dict[str, Any]]:
        return await self.store.tail_audit(limit)
