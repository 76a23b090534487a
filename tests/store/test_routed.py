"""open_store(..., redis_url=...): ephemeral kinds in Redis, durable state in SQL."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from stepauth.store import open_store
from stepauth.store.routed import RoutedStore
from tests.store.conftest import SECRET

pytestmark = pytest.mark.redis


async def test_ephemeral_kinds_live_in_redis_and_grants_revoke_everywhere(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'routed.db'}"
    store = await open_store(url, redis_url=redis_url, redis_prefix=redis_prefix, secret=SECRET)
    other = await open_store(url, redis_url=redis_url, redis_prefix=redis_prefix, secret=SECRET)
    assert isinstance(store, RoutedStore)
    assert isinstance(other, RoutedStore)
    now = time.time()
    try:
        await store.put("code", "c1", {"sub": "u"}, expires_at=now + 60, grant_id="g")
        await store.put("refresh_token", "r1", {"sub": "u"}, expires_at=now + 900, grant_id="g")
        assert await store.ephemeral.client.exists(f"{redis_prefix}item:code:c1")
        assert await store.ephemeral.get("refresh_token", "r1", now=now) is None
        assert await store.store.get("refresh_token", "r1", now=now) is not None

        results = await asyncio.gather(
            store.consume("code", "c1", now=now), other.consume("code", "c1", now=now)
        )
        assert sorted(r.status for r in results) == ["ok", "replayed"]
        assert await store.revoke_grant("g") == 2
        assert (await store.consume("refresh_token", "r1", now=now)).status == "missing"

        await store.put("code", "c2", {}, expires_at=now + 60, grant_id="g2", sid="s")
        await store.put("refresh_token", "r2", {}, expires_at=now + 900, grant_id="g2", sid="s")
        await store.put("code", "c3", {}, expires_at=now + 60, grant_id="g3", sid="t")
        assert await other.revoke_session_items("s") == 2  # one in Redis, one in SQL
        assert (await store.consume("code", "c2", now=now)).status == "missing"
        assert (await store.consume("refresh_token", "r2", now=now)).status == "missing"
        assert (await store.consume("code", "c3", now=now)).ok

        # any_live asks each backend about its own kinds
        await store.put("revoked_grant", "g9", {}, expires_at=now + 60)
        await store.put("code", "c4", {}, expires_at=now + 60)
        assert await other.any_live([("code", "c4"), ("revoked_grant", "nope")], now=now)
        assert await other.any_live([("code", "nope"), ("revoked_grant", "g9")], now=now)
        assert not await other.any_live([("code", "c2"), ("revoked_grant", "g8")], now=now)

        user = await store.create_user("alice", None)
        assert await other.get_user_by_username("alice") == user
    finally:
        await store.close()
        await other.close()


async def test_routed_store_implements_the_protocol(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    from stepauth.store import Store

    url = f"sqlite+aiosqlite:///{tmp_path / 'routed.db'}"
    store = await open_store(url, redis_url=redis_url, redis_prefix=redis_prefix, secret=SECRET)
    try:
        assert isinstance(store, Store)
    finally:
        await store.close()


async def test_only_the_item_store_is_routed(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    from stepauth.store.repositories import (
        AuditRepository,
        FactorRepository,
        FailureRepository,
        ItemStore,
        KeyRepository,
        SessionRepository,
        UserRepository,
    )
    from stepauth.store.routed import RoutedItems, RoutedSessions, RoutedStore
    from stepauth.store.sql.sessions import SQLSessions

    url = f"sqlite+aiosqlite:///{tmp_path / 'parts.db'}"
    store = await open_store(url, redis_url=redis_url, redis_prefix=redis_prefix, secret=SECRET)
    try:
        assert isinstance(store, RoutedStore)
        assert not hasattr(RoutedStore, "__getattr__")  # every method forwards explicitly
        sql = store.store
        parts = (
            (store.items, ItemStore),
            (store.users, UserRepository),
            (store.sessions, SessionRepository),
            (store.signing_keys, KeyRepository),
            (store.factors, FactorRepository),
            (store.failures, FailureRepository),
            (store.audit, AuditRepository),
        )
        for part, protocol in parts:
            assert isinstance(part, protocol)
        assert isinstance(store.items, RoutedItems)
        assert store.items.durable is sql.items
        assert isinstance(store.sessions, RoutedSessions)
        assert isinstance(store.sessions, SQLSessions)  # the SQL sessions, Redis revocation added
        assert store.sessions.db is sql.sessions.db
        # every other repository is the SQL store's own
        assert store.users is sql.users
        assert store.signing_keys is sql.signing_keys
        assert store.factors is sql.factors
        assert store.failures is sql.failures
        assert store.audit is sql.audit
    finally:
        await store.close()
