"""Redis keys expire with their item: ``retain`` seconds past its ``expires_at`` (the SQL
purge's retention), not a fixed day."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from stepauth.store.redis import RedisEphemeral

pytestmark = pytest.mark.redis


@pytest.fixture
async def ephemeral(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisEphemeral]:
    store = RedisEphemeral(redis_url, redis_prefix, retain=30)
    try:
        yield store
    finally:
        await store.close()


async def test_redis_code_keys_live_as_long_as_the_item_and_its_retention(
    ephemeral: RedisEphemeral,
) -> None:
    now = time.time()
    await ephemeral.put("code", "c1", {}, expires_at=now + 60, grant_id="g1")
    assert await ephemeral.add("client_jti", "j1", expires_at=now + 60, now=now)
    for key in (ephemeral._item("code", "c1"), ephemeral._item("client_jti", "j1")):
        ttl_ms = await ephemeral.client.pttl(key)
        assert 80_000 < ttl_ms <= 90_000, (key, ttl_ms)
    # used and presented again within the retention: still recognised as a replay
    assert (await ephemeral.consume("code", "c1", now=now)).status == "ok"
    assert (await ephemeral.consume("code", "c1", now=now + 70)).status == "replayed"
