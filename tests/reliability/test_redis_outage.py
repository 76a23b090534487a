"""Revocation reaches the durable store whatever Redis does.

With ``[redis]`` the codes live in Redis and the refresh and access tokens in SQL. A
revocation (a reused refresh token, RFC 9700 §4.14.2; a logout, RP-Initiated Logout §2)
revokes in SQL first and in Redis after it, best effort: a Redis outage must never leave
the rotated grant or the signed-out user's tokens active (fail closed), neither while
Redis is down nor once it is back.

Redis here is a private ``redis-server`` on a free port, stopped mid-test; the shared
server is never touched.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.conftest import free_port, require
from tests.helpers.harness import REDIRECT_URI, Provider, pkce_pair
from tests.helpers.metrics import value
from tests.reliability.providers import live_tokens, provider_on

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

REDIS_SERVER = "/usr/bin/redis-server"
SCOPE = "openid offline_access"
#: No persistence: a restarted server comes back empty, as after a crash.
PRIVATE = ("--save", "", "--appendonly", "no")


class PrivateRedis:
    """A ``redis-server`` of this test's own on a free loopback port, without persistence."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [*(REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"), *PRIVATE],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.1):
                    return
            except OSError:
                assert self.process.poll() is None, "redis-server exited at start"
                time.sleep(0.02)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    require(shutil.which(REDIS_SERVER) is not None, REDIS_SERVER)
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def routed(
    tmp_path: Path, postgres_url: str, private_redis: PrivateRedis
) -> AsyncIterator[Provider]:
    """A Provider on PostgreSQL with its codes in the private Redis."""
    async with provider_on(
        tmp_path, database_url=postgres_url, redis_url=private_redis.url
    ) as provider:
        yield provider


async def _refresh(provider: Provider, token: str) -> tuple[int, dict[str, Any]]:
    response = await provider.token({"grant_type": "refresh_token", "refresh_token": token})
    return response.status_code, response.json()


async def _assert_dead(provider: Provider, body: dict[str, Any]) -> None:
    for name in ("access_token", "refresh_token"):
        assert await provider.introspect(str(body[name])) == {"active": False}, name
    status, answer = await _refresh(provider, str(body["refresh_token"]))
    assert (status, answer["error"]) == (400, "invalid_grant")


async def test_refresh_reuse_while_redis_is_down_revokes_the_grant(
    routed: Provider, private_redis: PrivateRedis
) -> None:
    first, _ = await routed.login_and_exchange(scope=SCOPE)
    status, rotated = await _refresh(routed, str(first["refresh_token"]))
    assert status == 200
    private_redis.stop()
    # The rotated-away token comes back: a replay, answered invalid_grant (not a 5xx).
    status, answer = await _refresh(routed, str(first["refresh_token"]))
    assert (status, answer["error"]) == (400, "invalid_grant")
    await _assert_dead(routed, rotated)
    # The replay and the Redis half that failed are both counted.
    assert routed.store.ephemeral_errors == 1
    assert value(routed.app, "stepauth_replays_detected_total", kind="refresh_token") == 1
    assert value(routed.app, "stepauth_store_errors_total", backend="redis") == 1
    private_redis.start()
    await _assert_dead(routed, rotated)
    assert await live_tokens(routed) == 0


async def test_logout_while_redis_is_down_revokes_the_session_tokens(
    routed: Provider, private_redis: PrivateRedis
) -> None:
    body, _ = await routed.login_and_exchange(scope=SCOPE)
    private_redis.stop()
    response = await routed.browser.get("/logout", params={"id_token_hint": body["id_token"]})
    assert response.status_code == 200
    assert "signed out" in response.text
    await _assert_dead(routed, body)
    private_redis.start()
    await _assert_dead(routed, body)
    assert await live_tokens(routed) == 0


async def test_code_left_in_redis_by_a_failed_revocation_is_refused_after_logout(
    routed: Provider,
) -> None:
    """Redis fails only for the logout's revocation, so the session's unused code stays
    live there; exchanged afterwards, the ended-session record refuses it and nothing it
    stored stays live."""
    body, _ = await routed.login_and_exchange(scope=SCOPE)
    verifier, challenge = pkce_pair()
    pending = await routed.authorize(code_challenge=challenge, scope=SCOPE, expect_login=False)
    ephemeral = routed.store.ephemeral
    real = ephemeral.revoke_session_items

    async def unreachable(sid: str) -> int:
        raise RedisConnectionError("Connection refused")

    ephemeral.revoke_session_items = unreachable
    try:
        response = await routed.browser.get("/logout", params={"id_token_hint": body["id_token"]})
    finally:
        ephemeral.revoke_session_items = real
    assert response.status_code == 200
    exchanged = await routed.token(
        {
            "grant_type": "authorization_code",
            "code": pending.code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        }
    )
    assert (exchanged.status_code, exchanged.json()["error"]) == (400, "invalid_grant")
    await _assert_dead(routed, body)
    assert await live_tokens(routed) == 0
