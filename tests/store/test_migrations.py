"""The Alembic migrations: run on an empty database, idempotent, shipped in the package."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, inspect, text

from stepauth.errors import ConfigError
from stepauth.store import StoreError, open_store, session_sid
from stepauth.store.sql import MIGRATIONS, sql_store
from tests.helpers.old_rows import HEAD, insert_session
from tests.store.conftest import SECRET

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


def _schema(conn: Connection) -> tuple[set[str], list[str]]:
    names = set(inspect(conn).get_table_names())
    versions = [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
    return names, versions


async def test_migrations_create_schema_and_are_idempotent(store_url: str) -> None:
    first = await open_store(store_url)
    await first.create_user("alice", None)
    await first.close()
    second = await open_store(store_url)  # migrating again changes nothing
    try:
        await second.migrate()
        names, versions = await second.run_sync(_schema)
        assert names >= TABLES
        assert versions == [HEAD]
        assert await second.get_user_by_username("alice") is not None
    finally:
        await second.close()


async def test_sqlite_uses_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    """Inline operations never wait for a lock; the worker threads' connections do."""
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'wal.db'}")

    def pragmas(conn: Connection) -> tuple[str, int]:
        return (
            conn.exec_driver_sql("PRAGMA journal_mode").scalar_one(),
            conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one(),
        )

    try:
        assert await store.run_sync(pragmas) == ("wal", 0)
        assert store.db.sync_engine is not None
        with store.db.sync_engine.connect() as conn:
            mode, timeout = pragmas(conn)
        assert mode == "wal"
        assert timeout >= 1000
    finally:
        await store.close()


async def test_a_lock_held_by_another_process_waits_off_the_event_loop(tmp_path: Path) -> None:
    """While another connection holds the write lock, a write waits in a worker thread
    (the event loop keeps running) and succeeds once the lock is released."""
    import asyncio
    import sqlite3

    path = tmp_path / "locked.db"
    store = await open_store(f"sqlite+aiosqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        write = asyncio.ensure_future(store.create_user("waiting", None))
        ticks = 0
        while ticks < 5:  # the loop is free while the write waits
            await asyncio.sleep(0.01)
            ticks += 1
        assert not write.done()
        other.execute("COMMIT")
        user = await write
        assert (await store.get_user(user.id)) == user
    finally:
        other.close()
        await store.close()


async def test_in_memory_sqlite_works() -> None:
    store = await open_store("sqlite+aiosqlite://")
    try:
        await store.put("code", "k", {"v": 1}, expires_at=None)
        assert (await store.consume("code", "k", now=0.0)).status == "ok"
    finally:
        await store.close()


def test_migrations_ship_inside_the_package() -> None:
    assert (MIGRATIONS / "env.py").is_file()
    assert any(p.suffix == ".py" for p in (MIGRATIONS / "versions").iterdir())


@pytest.mark.parametrize(
    "url",
    ["mysql+aiomysql://x@h/db", "not a url", "sqlite+pysqlcipher:///x", "postgresql+asyncpg://h/d"],
)
async def test_unsupported_urls_raise_config_error(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        await open_store(url)
    assert caught.value.key == "database.url"


async def test_plain_sqlite_url_is_accepted(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        await store.create_user("alice", None)
        assert (tmp_path / "plain.db").exists()
    finally:
        await store.close()


async def test_instances_starting_together_migrate_once(store_url: str) -> None:
    """Several Provider instances opening an empty database at once all come up."""
    import asyncio

    stores = await asyncio.gather(*(open_store(store_url) for _ in range(3)))
    try:
        _, versions = await stores[0].run_sync(_schema)
        assert versions == [HEAD]
        await stores[1].create_user("alice", None)
        assert await stores[2].get_user_by_username("alice") is not None
    finally:
        for store in stores:
            await store.close()


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:////nonexistent-stepauth-dir/x.db",
        "postgresql+psycopg://postgres:hunter2@127.0.0.1:1/none",
    ],
)
async def test_unreachable_database_is_one_store_error(url: str) -> None:
    with pytest.raises(StoreError) as caught:
        await open_store(url)
    assert "cannot open the database" in str(caught.value)
    assert "hunter2" not in str(caught.value)


async def test_migrations_match_the_schema(store_url: str) -> None:
    """The tables the store queries (schema.py) are exactly what the migrations create."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from stepauth.store.schema import metadata

    store = await open_store(store_url)
    try:
        diff = await store.run_sync(
            lambda conn: compare_metadata(MigrationContext.configure(conn), metadata)
        )
        assert diff == []
    finally:
        await store.close()


async def test_sessions_from_before_sid_are_backfilled_and_revocable(store_url: str) -> None:
    """A session stored before ``sid`` existed (NULL) gets the digest its items were tagged
    with (revision 0003), so ending it revokes them, and a rotation keeps that ``sid``."""
    store = sql_store(store_url, secret=SECRET)
    try:
        await store.migrate("0002")
        legacy, other = "legacy-cookie-" + "a" * 30, "other-cookie-" + "b" * 30

        def sessions_of_0002(conn: Connection) -> None:
            insert_session(conn, legacy, "u1", None)
            insert_session(conn, other, "u1", "other-sid")

        await store.run_sync(sessions_of_0002, write=True)
        tag = session_sid(legacy)
        await store.put("refresh", "rt", {}, expires_at=1.0e9 + 600, sid=tag)
        await store.migrate()
        _, versions = await store.run_sync(_schema)
        assert versions == [HEAD]
        loaded = await store.get_session(legacy, now=1.0e9)
        assert loaded is not None
        assert loaded.sid == tag
        rotated = await store.rotate_session(legacy, append_events=[], now=1.0e9 + 1)
        assert rotated is not None
        assert rotated.sid == tag
        assert await store.end_user_sessions("u1", except_session_id=other) == [tag]
        assert (await store.consume("refresh", "rt", now=1.0e9 + 2)).status == "missing"
    finally:
        await store.close()
