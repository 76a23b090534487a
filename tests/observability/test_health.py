"""``/healthz`` and ``/readyz``: liveness without the store, readiness of what requests need."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest

from stepauth.store import build_store, open_store
from tests.conftest import PG_ADMIN_DSN, free_port
from tests.helpers.frontchannel import query
from tests.helpers.harness import Provider, running_provider
from tests.observability.conftest import app_over, value


class _NoStore:
    """A store that fails the test if anything touches it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"/healthz touched the store ({name})")


async def test_healthz_answers_without_touching_the_store(provider: Provider) -> None:
    real = provider.state.store
    provider.state.store = _NoStore()
    try:
        response = await provider.browser.get("/healthz")
    finally:
        provider.state.store = real
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


async def test_readyz_is_ready_on_a_migrated_database(provider: Provider) -> None:
    response = await provider.browser.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok"},
    }
    assert response.headers["cache-control"] == "no-store"


async def test_readyz_reports_a_schema_behind_head(tmp_path: Path) -> None:
    async with running_provider(tmp_path) as provider:
        with sqlite3.connect(tmp_path / "stepauth.db") as db:
            db.execute("UPDATE alembic_version SET version_num = '0002'")
        db.close()
        response = await provider.browser.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["not_ready"] == ["migrations"]
    assert body["checks"] == {"database": "ok", "migrations": "behind head"}


@pytest.mark.postgres
async def test_readyz_reports_a_database_that_is_gone_without_naming_it(
    tmp_path: Path, postgres_url: str
) -> None:
    name = postgres_url.rsplit("/", 1)[1]
    async with app_over(tmp_path, database={"url": postgres_url}) as (app, client):
        assert (await client.get("/readyz")).status_code == 200
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        response = await client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["not_ready"] == ["database", "migrations"]
        assert body["checks"]["database"] == "unreachable"
        for leak in (name, "127.0.0.1", "5432", "postgres", "psycopg"):
            assert leak not in response.text
        probes = value(app, "stepauth_store_errors_total", backend="database")
        assert probes == 1
        # a request that needs the database answers a 503 page naming nothing, and is
        # counted as a database error
        page = await client.get("/authorize", params=query())
        assert page.status_code == 503
        assert page.headers["retry-after"]
        for leak in (name, "127.0.0.1", "5432", "postgres", "psycopg", "Traceback"):
            assert leak not in page.text
        assert value(app, "stepauth_store_errors_total", backend="database") == probes + 1


@pytest.mark.redis
async def test_readyz_reports_redis_down(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'stepauth.db'}"
    await (await open_store(url)).close()  # migrated
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    store = build_store(url, redis_url=closed, redis_prefix="stepauth-test:")
    async with app_over(tmp_path, store=store, redis={"url": closed}) as (app, client):
        response = await client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["not_ready"] == ["redis"]
        assert body["checks"] == {"database": "ok", "redis": "unreachable", "migrations": "ok"}
        assert str(closed.split(":")[2].split("/")[0]) not in response.text
        assert value(app, "stepauth_store_errors_total", backend="redis") == 1


@pytest.mark.redis
async def test_readyz_is_ready_with_redis_up(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'stepauth.db'}"
    await (await open_store(url)).close()
    store = build_store(url, redis_url=redis_url, redis_prefix=redis_prefix)
    async with app_over(tmp_path, store=store, redis={"url": redis_url}) as (_, client):
        response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "redis": "ok", "migrations": "ok"}
