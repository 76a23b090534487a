"""A request object (RFC 9101) is used once across Provider instances sharing a store.

Behind a load balancer the second push of one signed request object reaches another
instance: its ``jti`` (kind ``request_object_jti``) must be seen there too. With Redis
configured the kind is ephemeral, kept in the shared Redis (each instance on its own
SQLite database, under this test's own prefix); without Redis, two instances on one
PostgreSQL database share it in SQL. The real Redis at 127.0.0.1:6379 and PostgreSQL at
127.0.0.1:5432.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from stepauth.provider.request_object import JTI_KIND
from stepauth.store.routed import EPHEMERAL_KINDS
from tests.helpers.harness import config_data
from tests.provider.fapi import JAR, assert_error, fapi_clients, push_object, request_object
from tests.reliability.providers import provider_on

INVALID = "invalid_request_object"


def _clients(tmp_path: Path) -> list[dict[str, Any]]:
    return [*config_data(tmp_path / "unused.db")["clients"], *fapi_clients()]


def test_request_object_jti_is_kept_in_redis() -> None:
    assert JTI_KIND in EPHEMERAL_KINDS


@pytest.mark.redis
async def test_request_object_replayed_at_another_instance_is_refused_via_redis(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    shared: dict[str, Any] = {
        "redis_url": redis_url,
        "redis_prefix": redis_prefix,
        "clients": _clients(tmp_path),
    }
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    async with (
        provider_on(tmp_path / "one", **shared) as one,
        provider_on(tmp_path / "two", **shared) as two,
    ):
        token = request_object(one, JAR, jti="once-" + secrets.token_urlsafe(8))
        assert (await push_object(one, JAR, token)).status_code == 201
        replay = await push_object(two, JAR, token)
        assert_error(replay, INVALID, because="already used")
        # Kept in the shared Redis, not in either instance's own database.
        assert _redis_items(redis_url, redis_prefix) == 1
        for provider in (one, two):
            assert await provider.store.store.run_sync(_sql_items) == 0


def _redis_items(url: str, prefix: str) -> int:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return len(list(client.scan_iter(f"{prefix}item:{JTI_KIND}:*")))
    finally:
        client.close()


def _sql_items(conn: Connection) -> int:
    query = text("SELECT count(*) FROM items WHERE kind = :kind")
    return int(conn.execute(query, {"kind": JTI_KIND}).scalar_one())


@pytest.mark.postgres
async def test_request_object_replayed_at_another_instance_is_refused_on_postgres(
    tmp_path: Path, postgres_url: str
) -> None:
    clients = _clients(tmp_path)
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    async with (
        provider_on(tmp_path / "one", database_url=postgres_url, clients=clients) as one,
        provider_on(
            tmp_path / "two", database_url=postgres_url, clients=clients, with_user=False
        ) as two,
    ):
        token = request_object(one, JAR, jti=None)  # recorded by its digest
        assert (await push_object(one, JAR, token)).status_code == 201
        replay = await push_object(two, JAR, token)
        assert_error(replay, INVALID, because="already used")
