"""SQLite: an operation that meets the store's own WAL checkpoint waits for it.

A ``TRUNCATE`` checkpoint holds writers off while it copies the WAL (SQLite, "Write-Ahead
Logging" §"Checkpointing"). Operations refused meanwhile on the event loop's connections
wait for that checkpoint and run there again; only a lock held by someone else sends
them to the worker threads.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from stepauth.store import SQLStore, open_store
from stepauth.store.sql.database import Database
from tests.store.conftest import SECRET

NOW = 1.0e9
HOLD = 0.3  # seconds the fake checkpoint holds the write lock


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLStore]:
    opened = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'stepauth.db'}", secret=SECRET)
    try:
        yield opened
    finally:
        await opened.close()


def _hold_write_lock(path: str, held: threading.Event, seconds: float) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")  # the writer lock, as a TRUNCATE checkpoint takes it
        held.set()
        time.sleep(seconds)
        db.execute("COMMIT")
    finally:
        db.close()


@pytest.fixture
def threads_used(sqlite_store: SQLStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The operations that ran in a worker thread (through SQLAlchemy)."""
    used: list[str] = []
    db = sqlite_store.db
    original = db._in_thread

    def spy(fn: Any, write: bool) -> Any:
        used.append("thread")
        return original(fn, write)

    monkeypatch.setattr(db, "_in_thread", spy)
    return used


async def _own_checkpoint_holding_lock(db: Database, monkeypatch: pytest.MonkeyPatch) -> float:
    """Start the store's checkpoint, made to hold the write lock for HOLD seconds; returns
    when the lock is held, with the time the checkpoint will have ended by."""
    held = threading.Event()
    path = str(db.sync_engine.url.database)  # type: ignore[union-attr]
    monkeypatch.setattr(db, "_checkpoint_now", lambda: _hold_write_lock(path, held, HOLD))
    db._start_checkpoint()
    assert await asyncio.to_thread(held.wait, 5)
    return time.monotonic() + HOLD


async def test_lane_write_waits_for_own_checkpoint(
    sqlite_store: SQLStore, threads_used: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ended_by = await _own_checkpoint_holding_lock(sqlite_store.db, monkeypatch)
    await sqlite_store.put("code", "k1", {"a": 1}, expires_at=NOW + 60)
    assert time.monotonic() >= ended_by - 0.05  # ran once the checkpoint let go
    assert threads_used == []  # on the lane, not through a worker thread
    item = await sqlite_store.get("code", "k1", now=NOW)
    assert item is not None
    assert item.payload == {"a": 1}


async def test_inline_operation_waits_for_own_checkpoint(
    sqlite_store: SQLStore, threads_used: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def write(conn: Connection) -> int:
        conn.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
        return int(conn.execute(text("INSERT INTO t VALUES (1)")).rowcount)

    ended_by = await _own_checkpoint_holding_lock(sqlite_store.db, monkeypatch)
    assert await sqlite_store.run_sync(write, write=True) == 1
    assert time.monotonic() >= ended_by - 0.05
    assert threads_used == []


async def test_lock_held_elsewhere_goes_to_the_threads(
    sqlite_store: SQLStore, threads_used: list[str]
) -> None:
    held = threading.Event()
    path = str(sqlite_store.db.sync_engine.url.database)  # type: ignore[union-attr]
    other = threading.Thread(target=_hold_write_lock, args=(path, held, HOLD))
    other.start()
    try:
        assert await asyncio.to_thread(held.wait, 5)
        await sqlite_store.put("code", "k2", {"b": 2}, expires_at=NOW + 60)
    finally:
        await asyncio.to_thread(other.join)
    assert threads_used == ["thread"]  # waited on the lock in a worker thread
    assert await sqlite_store.get("code", "k2", now=NOW) is not None


async def test_checkpoints_go_on_after_one_ends(sqlite_store: SQLStore) -> None:
    db = sqlite_store.db
    first = db._start_checkpoint()
    await asyncio.wrap_future(first)
    assert db._checkpoint is None  # the next one is not held off by a finished one
    await db.checkpoint_after_purge()
    assert db._checkpoint is None
