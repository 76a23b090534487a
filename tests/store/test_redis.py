"""RedisEphemeral: the same single-use semantics as the SQL store, on a real Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from stepauth.store.redis import RedisEphemeral

pytestmark = pytest.mark.redis


@pytest.fixture
async def ephemeral(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisEphemeral]:
    store = RedisEphemeral(redis_url, redis_prefix)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def other(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisEphemeral]:
    store = RedisEphemeral(redis_url, redis_prefix)
    try:
        yield store
    finally:
        await store.close()


async def test_put_get_and_expiry(ephemeral: RedisEphemeral) -> None:
    now = time.time()
    await ephemeral.put("par", "urn:1", {"client_id": "a"}, expires_at=now + 60, user_id="u")
    item = await ephemeral.get("par", "urn:1", now=now)
    assert item is not None
    assert item.payload == {"client_id": "a"}
    assert item.user_id == "u"
    assert await ephemeral.get("par", "urn:1", now=now + 60) is None
    assert await ephemeral.get("par", "urn:2", now=now) is None
    assert (await ephemeral.consume("par", "urn:1", now=now + 61)).status == "expired"


async def test_consume_once_then_replayed(ephemeral: RedisEphemeral) -> None:
    now = time.time()
    await ephemeral.put("code", "c", {"sub": "u"}, expires_at=now + 60, grant_id="g")
    first = await ephemeral.consume("code", "c", now=now)
    assert (first.status, first.payload, first.grant_id) == ("ok", {"sub": "u"}, "g")
    again = await ephemeral.consume("code", "c", now=now + 1)
    assert (again.status, again.payload, again.grant_id) == ("replayed", {"sub": "u"}, "g")
    assert (await ephemeral.consume("code", "unknown", now=now)).status == "missing"
    await ephemeral.delete("code", "c")
    assert (await ephemeral.consume("code", "c", now=now)).status == "missing"


async def test_concurrent_consumes_have_exactly_one_winner(
    ephemeral: RedisEphemeral, other: RedisEphemeral
) -> None:
    now = time.time()
    await ephemeral.put("code", "race", {"sub": "u"}, expires_at=now + 60)
    results = await asyncio.gather(
        *(s.consume("code", "race", now=now) for s in (ephemeral, other) * 4)
    )
    assert sorted(r.status for r in results) == ["ok"] + ["replayed"] * 7


async def test_revoke_grant(ephemeral: RedisEphemeral) -> None:
    now = time.time()
    await ephemeral.put("code", "c", {}, expires_at=now + 60, grant_id="g1")
    await ephemeral.put("refresh_token", "r", {}, expires_at=None, grant_id="g1")
    await ephemeral.put("refresh_token", "keep", {}, expires_at=now + 60, grant_id="g2")
    await ephemeral.consume("code", "c", now=now)
    assert await ephemeral.revoke_grant("g1") == 2
    assert await ephemeral.revoke_grant("g1") == 0
    assert (await ephemeral.consume("refresh_token", "r", now=now)).status == "missing"
    assert (await ephemeral.consume("code", "c", now=now)).status == "replayed"
    assert await ephemeral.get("refresh_token", "keep", now=now) is not None
    assert await ephemeral.revoke_grant("unknown") == 0


async def test_items_are_dropped_by_redis_after_retention(
    ephemeral: RedisEphemeral, redis_prefix: str
) -> None:
    now = time.time()
    await ephemeral.put("code", "c", {}, expires_at=now + 60, grant_id="g")
    ttl = await ephemeral.client.pttl(f"{redis_prefix}item:code:c")
    grant_ttl = await ephemeral.client.pttl(f"{redis_prefix}grant:g")
    assert ttl > 60_000
    assert grant_ttl > 60_000
