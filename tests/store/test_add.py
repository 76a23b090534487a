"""Insert-if-absent (``Store.add``) and ending a user's other sessions.

``add`` backs replay caches such as the client assertion ``jti`` (RFC 7523 §3 item 7): of
any number of concurrent inserts of one key exactly one wins, on SQLite, PostgreSQL and
Redis alike. ``delete_user_sessions`` ends the other sessions of a user after a credential
change (ASVS 5.0 7.4.3, ASVS 3.3.3).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from stepauth.store import SQLStore, Store, open_store
from tests.store.conftest import SECRET

NOW = 1_800_000_000.0
RACERS = 16


async def _race(stores: list[Store], kind: str, key: str, *, now: float) -> list[bool]:
    calls = [
        stores[i % len(stores)].add(kind, key, expires_at=now + 60, now=now, data={"n": i})
        for i in range(RACERS)
    ]
    return list(await asyncio.gather(*calls))


async def test_concurrent_adds_have_exactly_one_winner(
    store: SQLStore, other_store: SQLStore
) -> None:
    """Two Provider instances, 16 concurrent inserts of one key: exactly one True."""
    results = await _race([store, other_store], "client_jti", "race", now=NOW)
    assert results.count(True) == 1
    item = await store.get("client_jti", "race", now=NOW)
    assert item is not None
    assert item.expires_at == NOW + 60


async def test_add_refuses_a_live_item_and_replaces_an_expired_one(store: SQLStore) -> None:
    assert await store.add("client_jti", "k", expires_at=NOW + 10, now=NOW, data={"v": 1})
    assert not await store.add("client_jti", "k", expires_at=NOW + 99, now=NOW + 9.5)
    kept = await store.get("client_jti", "k", now=NOW + 9.5)
    assert kept is not None
    assert kept.payload == {"v": 1}
    # past its expiry the key is free again, and the new item is live and unconsumed
    assert await store.add("client_jti", "k", expires_at=NOW + 40, now=NOW + 10, data={"v": 2})
    replaced = await store.get("client_jti", "k", now=NOW + 11)
    assert replaced is not None
    assert replaced.payload == {"v": 2}
    assert replaced.expires_at == NOW + 40
    assert not await store.add("client_jti", "k", expires_at=NOW + 50, now=NOW + 11)


async def test_add_refuses_consumed_revoked_and_unexpiring_items(store: SQLStore) -> None:
    """Fail closed: a consumed or revoked item still holds its key until it expires."""
    await store.put("code", "used", {}, expires_at=NOW + 60, grant_id="g")
    assert (await store.consume("code", "used", now=NOW)).ok
    assert not await store.add("code", "used", expires_at=NOW + 60, now=NOW + 1)
    await store.put("code", "revoked", {}, expires_at=NOW + 60, grant_id="g2")
    await store.revoke_grant("g2")
    assert not await store.add("code", "revoked", expires_at=NOW + 60, now=NOW + 1)
    await store.put("txn", "forever", {}, expires_at=None)
    assert not await store.add("txn", "forever", expires_at=NOW + 60, now=NOW + 10**6)


async def test_delete_user_sessions_keeps_the_current_one(store: SQLStore) -> None:
    """ASVS 5.0 7.4.3: a credential change ends every other session of the user."""

    async def new(user: str) -> str:
        session = await store.create_session(
            user, [], now=NOW, idle_timeout=600, absolute_timeout=3600
        )
        return session.id

    keep, other1, other2, foreign = (
        await new("u1"),
        await new("u1"),
        await new("u1"),
        await new("u2"),
    )
    assert await store.delete_user_sessions("u1", except_session_id=keep) == 2
    assert await store.get_session(keep, now=NOW) is not None
    assert await store.get_session(other1, now=NOW) is None
    assert await store.get_session(other2, now=NOW) is None
    assert await store.get_session(foreign, now=NOW) is not None
    assert await store.delete_user_sessions("u1") == 1
    assert await store.get_session(keep, now=NOW) is None
    assert await store.delete_user_sessions("nobody") == 0


@pytest.mark.redis
async def test_routed_add_races_in_redis(tmp_path: Path, redis_url: str, redis_prefix: str) -> None:
    """The ephemeral kinds (``client_jti`` among them) race in Redis: exactly one True."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'routed.db'}"
    one = await open_store(url, redis_url=redis_url, redis_prefix=redis_prefix, secret=SECRET)
    two = await open_store(url, redis_url=redis_url, redis_prefix=redis_prefix, secret=SECRET)
    now = time.time()
    try:
        results = await _race([one, two], "client_jti", "race", now=now)
        assert results.count(True) == 1
        assert await one.ephemeral.client.exists(f"{redis_prefix}item:client_jti:race")  # type: ignore[attr-defined]
        # expired (but still retained for replay detection) → replaceable
        assert await one.add("code", "k", expires_at=now + 5, now=now)
        assert not await two.add("code", "k", expires_at=now + 60, now=now + 4)
        assert await two.add("code", "k", expires_at=now + 60, now=now + 5, data={"v": 2})
        item = await one.get("code", "k", now=now + 6)
        assert item is not None
        assert item.payload == {"v": 2}
        assert (await one.consume("code", "k", now=now + 6)).ok
        assert not await one.add("code", "k", expires_at=now + 60, now=now + 7)
        # durable kinds still race in SQL
        results = await _race([one, two], "refresh_jti", "race", now=now)
        assert results.count(True) == 1
    finally:
        await one.close()
        await two.close()


async def _sessions_with_items(store: Store, now: float) -> tuple[str, str]:
    """Two sessions of ``u1``, each with a refresh token and a code issued in it.

    A revoked item consumes as ``missing``, the same answer as one never issued.
    """
    ids = []
    for name in ("keep", "other"):
        session = await store.create_session(
            "u1", [], now=now, idle_timeout=600, absolute_timeout=3600
        )
        await store.put("refresh", f"rt-{name}", {}, expires_at=now + 600, sid=session.sid)
        await store.put("code", f"code-{name}", {}, expires_at=now + 60, sid=session.sid)
        ids.append(session.id)
    return ids[0], ids[1]


async def _assert_only_keep_usable(store: Store, now: float) -> None:
    assert (await store.consume("refresh", "rt-other", now=now + 1)).status == "missing"
    assert (await store.consume("code", "code-other", now=now + 1)).status == "missing"
    assert (await store.consume("refresh", "rt-keep", now=now + 1)).ok
    assert (await store.consume("code", "code-keep", now=now + 1)).ok


async def test_ending_one_session_by_sid_revokes_what_it_issued(store: SQLStore) -> None:
    """``end_user_session``: only the session of that user with that sid ends, and with it
    the tokens and codes issued in it (the console's per-session sign-out)."""
    keep, other = await _sessions_with_items(store, NOW)
    ended = await store.get_session(other, now=NOW)
    assert ended is not None
    assert ended.sid is not None
    assert not await store.end_user_session("u2", ended.sid)  # the sid of another user
    assert await store.end_user_session("u1", ended.sid)
    assert await store.get_session(other, now=NOW) is None
    assert await store.get_session(keep, now=NOW) is not None
    await _assert_only_keep_usable(store, NOW)
    assert not await store.end_user_session("u1", ended.sid)  # already ended


async def test_ending_other_sessions_revokes_what_they_issued(store: SQLStore) -> None:
    """ASVS 5.0 7.4.3: the tokens and codes of the ended sessions stop working with them."""
    keep, _ = await _sessions_with_items(store, NOW)
    assert await store.delete_user_sessions("u1", except_session_id=keep) == 1
    await _assert_only_keep_usable(store, NOW)


@pytest.mark.redis
async def test_routed_ending_other_sessions_revokes_in_redis_and_sql(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    """Codes live in Redis, refresh tokens in SQL: both are revoked with their session."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'routed.db'}"
    store = await open_store(url, redis_url=redis_url, redis_prefix=redis_prefix, secret=SECRET)
    now = time.time()
    try:
        keep, _ = await _sessions_with_items(store, now)
        assert await store.delete_user_sessions("u1", except_session_id=keep) == 1
        await _assert_only_keep_usable(store, now)
    finally:
        await store.close()
