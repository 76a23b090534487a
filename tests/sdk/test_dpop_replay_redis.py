"""DPoP ``jti`` replay across resource-server instances sharing a Redis ledger (RFC 9449 §11.1):
the real Redis on 127.0.0.1:6379, each test under its own key prefix."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from stepauth.sdk.errors import InvalidDPoPProof
from stepauth.sdk.redis_stores import RedisLedger, SyncRedisLedger
from tests.sdk.conftest import NOW, Keys
from tests.sdk.dpop_flow import PHR, bound_token, client_key, dpop_request, proof, resource_server

pytestmark = pytest.mark.redis


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis[Any]]:
    c: redis.Redis[Any] = redis.Redis.from_url(redis_url)
    yield c
    c.close()


def test_replayed_jti_is_rejected_by_another_instance_sharing_redis(
    redis_url: str, client: redis.Redis[Any], redis_prefix: str, keys: Keys
) -> None:
    key = client_key()
    token = bound_token(keys, key.thumbprint())
    with redis.Redis.from_url(redis_url) as other:
        first = resource_server(
            keys, ledger=SyncRedisLedger(client, prefix=redis_prefix, clock=lambda: NOW)
        )
        second = resource_server(
            keys, ledger=SyncRedisLedger(other, prefix=redis_prefix, clock=lambda: NOW)
        )
        once = proof(key, token=token)
        assert first.verify_request(dpop_request(token, once), PHR)["sub"] == "user-42"
        with pytest.raises(InvalidDPoPProof, match="jti replayed"):
            second.verify_request(dpop_request(token, once), PHR)
    (stored,) = list(client.scan_iter(f"{redis_prefix}*"))
    assert stored.decode().startswith(f"{redis_prefix}txn:dpop:{key.thumbprint()}:")
    # Kept for the window (60 s) + leeway (5 s) + 1 s after iat, then forgotten.
    assert 60_000 < client.pttl(stored) <= 66_000


async def test_concurrent_replays_on_two_async_instances_pass_once(
    redis_url: str, redis_prefix: str, keys: Keys
) -> None:
    key = client_key()
    token = bound_token(keys, key.thumbprint())
    ledgers = [
        RedisLedger.from_url(redis_url, prefix=redis_prefix, clock=lambda: NOW) for _ in range(2)
    ]
    servers = [resource_server(keys, ledger=ledger) for ledger in ledgers]
    once = proof(key, token=token)

    async def attempt(i: int) -> bool:
        try:
            await servers[i % 2].averify_request(dpop_request(token, once), PHR)
        except InvalidDPoPProof:
            return False
        return True

    try:
        results = await asyncio.gather(*(attempt(i) for i in range(8)))
    finally:
        for ledger in ledgers:
            await ledger.close()
    assert results.count(True) == 1
