"""The Alembic migrations: run on an empty database, idempotent, shipped in the package."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from stepauth.errors import ConfigError
from stepauth.store import open_store
from stepauth.store.sql import MIGRATIONS, create_engine, migrate

TABLES = {
    "alembic_version",
    "audit",
    "factor_counters",
    "factors",
    "failures",
    "items",
    "sessions",
    "signing_keys",
    "users",
}


async def test_migrations_create_schema_and_are_idempotent(store_url: str) -> None:
    first = await open_store(store_url)
    await first.create_user("alice", None)
    await first.close()
    second = await open_store(store_url)  # migrating again changes nothing
    try:
        await migrate(second.engine)
        async with second.engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert names >= TABLES
        assert len(version) == 1
        assert await second.get_user_by_username("alice") is not None
    finally:
        await second.close()


async def test_sqlite_uses_wal(tmp_path: Path) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'wal.db'}")
    try:
        async with store.engine.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
            timeout = (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one()
        assert mode == "wal"
        assert timeout >= 1000
    finally:
        await store.close()


def test_migrations_ship_inside_the_package() -> None:
    assert (MIGRATIONS / "env.py").is_file()
    assert any(p.suffix == ".py" for p in (MIGRATIONS / "versions").iterdir())


@pytest.mark.parametrize(
    "url",
    ["mysql+aiomysql://x@h/db", "not a url", "sqlite+pysqlcipher:///x", "postgresql+asyncpg://h/d"],
)
def test_unsupported_urls_raise_config_error(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        create_engine(url)
    assert caught.value.key == "database.url"


async def test_plain_sqlite_url_uses_aiosqlite(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        assert store.engine.url.drivername == "sqlite+aiosqlite"
    finally:
        await store.close()
