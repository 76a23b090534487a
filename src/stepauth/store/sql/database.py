"""Running the store's operations: :class:`Database`.

Each operation is a small synchronous function over one SQLAlchemy ``Connection`` and
one transaction: PostgreSQL runs it with ``AsyncConnection.run_sync``; SQLite runs it
inline on the event loop's thread over one connection that never waits for a lock, and
when another process holds the lock, again in a worker thread whose connection waits
(busy timeout). Inline, an operation costs about half the CPU of a thread hop and no GIL
hand-offs (aiosqlite through SQLAlchemy costs five or more hops per statement). WAL
checkpoints run in the worker threads, never on the event loop. One prebuilt statement
(:meth:`Database.execute`) runs on SQLite through the direct lane
(:mod:`stepauth.store.sql.lane`).

Outages: PostgreSQL connections time out after ``connect`` seconds (``connect_timeout``,
and the pool's checkout), statements after ``statement`` seconds on the server
(``statement_timeout``), and an operation the database does not answer within
``connect + statement`` seconds (a frozen server or network) is abandoned on the client;
SQLite waits ``statement`` seconds for a lock (busy timeout). The driver's connection and
timeout errors become :class:`~stepauth.store.records.StoreUnavailable` here, at the
store boundary; errors that mean something else (a duplicate key, a schema problem) do
not.

The repositories of one store share its :class:`Database`, and with it the keys the
store keeps session ids and factor secrets under (:attr:`Database.at_rest`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sqlite3
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from stepauth.errors import ConfigError
from stepauth.store.at_rest import AtRest
from stepauth.store.records import StoreError, StoreUnavailable
from stepauth.store.sql import statements as stmts
from stepauth.store.sql.engine import (
    CHECKPOINT_EVERY,
    DEFAULT_TIMEOUTS,
    SQLITE_THREADS,
    Timeouts,
    busy,
    checkpoint,
    database_unavailable,
    unavailable,
)
from stepauth.store.sql.lane import Busy, SQLiteLane

__all__ = ["Database", "Values", "new_id"]

T = TypeVar("T")
#: How long the vacuum after a purge may run (PostgreSQL ``statement_timeout``, ms).
VACUUM_TIMEOUT_MS = 300_000
_purge_log = logging.getLogger("stepauth.purge")


def new_id(nbytes: int = 16) -> str:
    """An opaque id (:func:`secrets.token_urlsafe`) that never starts with ``-``, so it
    can be passed to a command line as it is (an argument ``-x…`` reads as an option)."""
    while True:
        value = secrets.token_urlsafe(nbytes)
        if not value.startswith("-"):
            return value


class Values:
    """Attribute access over a dict of column values (to build records without a row)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.__dict__.update(values)


def _discard(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: an abandoned operation's error is not logged as lost


class Database:
    """The engines of one store and how its operations run (see the module docstring)."""

    def __init__(
        self,
        *,
        async_engine: AsyncEngine | None = None,
        sync_engine: Engine | None = None,
        threads: int = SQLITE_THREADS,
        inline_engine: Engine | None = None,
        lane: SQLiteLane | None = None,
        at_rest: AtRest | None = None,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
    ) -> None:
        if (async_engine is None) == (sync_engine is None):
            raise StoreError("give exactly one of async_engine and sync_engine")
        self.async_engine = async_engine
        self.sync_engine = sync_engine
        self.dialect = (async_engine or sync_engine).dialect.name  # type: ignore[union-attr]
        self.upserts = stmts.upserts(self.dialect)
        self.claims = stmts.failure_claims(self.dialect)
        self._executor = (
            ThreadPoolExecutor(threads, thread_name_prefix="stepauth-sqlite")
            if sync_engine is not None
            else None
        )
        self.inline_engine = inline_engine if sync_engine is not None else None
        self.lane = lane if sync_engine is not None else None
        self._inline_lock = threading.Lock()
        self._inline_writes = 0
        self._checkpoint: Future[None] | None = None  # the one running, if any
        self.at_rest = at_rest
        self.timeouts = timeouts

    # -- keys ----------------------------------------------------------------------------

    def protect(self, at_rest: AtRest) -> None:
        """Keep session ids and factor secrets under ``at_rest`` from now on; a database
        already given another secret is refused (what it wrote would not open)."""
        if self.at_rest is not None and self.at_rest.fingerprint != at_rest.fingerprint:
            raise ConfigError(
                "the store was opened with another secret than the Provider's",
                key="secrets.key_env",
            )
        self.at_rest = at_rest

    def keys(self) -> AtRest:
        """The keys of sessions and factor secrets; refused (fail closed) without them."""
        if self.at_rest is None:
            raise StoreError(
                "sessions and factor secrets are kept only under the Provider's secret; "
                "open the store with it (open_store(url, secret=…))",
                error="store_not_protected",
            )
        return self.at_rest

    # -- running operations --------------------------------------------------------------

    async def run_sync(self, fn: Callable[[Connection], T], *, write: bool = False) -> T:
        """Run ``fn(connection)`` in one transaction (committed when ``write``).

        SQLite runs it inline on the calling thread over a connection that never waits
        for a lock (``busy_timeout=0``): an operation is a few hundred microseconds, and a
        thread hop costs about as much CPU again. Only when another connection (another
        process) holds the lock is the operation rolled back and run again in a worker
        thread, which waits up to ``timeouts.statement`` without blocking the event loop.

        Raises :class:`StoreUnavailable` when the database cannot answer (see the module
        docstring); PostgreSQL operations are abandoned after ``timeouts.deadline``.
        """
        try:
            if self.async_engine is not None:
                return await self._within_deadline(self._run_async(fn, write))
            return await self._run_sqlite(fn, write)
        except (OperationalError, InterfaceError, PoolTimeout) as exc:
            if unavailable(exc):
                raise database_unavailable(exc) from exc
            raise

    async def _run_async(self, fn: Callable[[Connection], T], write: bool) -> T:
        assert self.async_engine is not None
        if write:
            async with self.async_engine.begin() as aconn:
                return await aconn.run_sync(fn)
        async with self.async_engine.connect() as aconn:
            return await aconn.run_sync(fn)

    async def _within_deadline(
        self, operation: Coroutine[Any, Any, T], *, deadline: float | None = None
    ) -> T:
        """``operation``'s result, or :class:`StoreUnavailable` after ``deadline``
        (default ``timeouts.deadline``).

        A frozen server or network answers nothing, not even the cancellation psycopg
        sends when its task is cancelled (which waits in turn): so the operation is
        shielded, abandoned (cancelled in the background, its connection discarded) and
        the request answered at the deadline.
        """
        limit = self.timeouts.deadline if deadline is None else deadline
        task = asyncio.ensure_future(operation)
        try:
            return await asyncio.wait_for(asyncio.shield(task), limit)
        except TimeoutError:
            task.cancel()
            task.add_done_callback(_discard)
            raise StoreUnavailable(
                "database", f"the database did not answer within {limit:g} s"
            ) from None

    async def _run_sqlite(self, fn: Callable[[Connection], T], write: bool) -> T:
        for _ in range(2):  # again inline once this store's own checkpoint is over
            if self.inline_engine is None or not self._inline_lock.acquire(blocking=False):
                break
            try:
                result = self._run(self.inline_engine, fn, write)
            except OperationalError as exc:
                if not busy(exc):
                    raise
            else:
                if write:
                    self._after_inline_write()
                return result
            finally:
                self._inline_lock.release()
            if not await self._checkpoint_over():
                break
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(self._in_thread, fn, write))

    @staticmethod
    def _run(engine: Engine, fn: Callable[[Connection], T], write: bool) -> T:
        if write:
            with engine.begin() as conn:
                return fn(conn)
        with engine.connect() as conn:
            return fn(conn)

    def _in_thread(self, fn: Callable[[Connection], T], write: bool) -> T:
        assert self.sync_engine is not None
        return self._run(self.sync_engine, fn, write)

    def _after_inline_write(self) -> None:
        """Every :data:`~stepauth.store.sql.engine.CHECKPOINT_EVERY` inline writes, a WAL
        checkpoint in a worker thread (the inline connection has automatic checkpoints
        off): see :func:`~stepauth.store.sql.engine.checkpoint`."""
        self._inline_writes += 1
        if self._inline_writes % CHECKPOINT_EVERY or self._checkpoint is not None:
            return
        if self.inline_engine is self.sync_engine or self._executor is None:
            return
        self._start_checkpoint()

    def _start_checkpoint(self) -> Future[None]:
        assert self._executor is not None
        future = self._checkpoint = self._executor.submit(self._checkpoint_now)
        future.add_done_callback(self._checkpoint_done)
        return future

    def _checkpoint_done(self, future: Future[None]) -> None:
        if self._checkpoint is future:
            self._checkpoint = None

    async def _checkpoint_over(self) -> bool:
        """Wait for this store's own running checkpoint, if there is one; whether there was.

        A ``TRUNCATE`` checkpoint (:func:`~stepauth.store.sql.engine.checkpoint`) holds
        writers off while it copies the WAL: an inline operation refused meanwhile waits
        here for it and runs inline again, rather than in a worker thread that would
        sleep on the lock (SQLite's busy handler) and then run it through SQLAlchemy.
        A lock held by another process still sends the operation to the threads."""
        running = self._checkpoint
        if running is None:
            return False
        with contextlib.suppress(Exception):  # a failed checkpoint is the next one's
            await asyncio.wrap_future(running)
        return True

    async def checkpoint_after_purge(self) -> None:
        """On SQLite, a checkpoint after each purge batch: a batch rewrites many pages in
        one write, and back-to-back batches would otherwise grow the WAL by tens of MiB
        between two of the every-``CHECKPOINT_EVERY``-writes checkpoints."""
        if self.inline_engine is None or self.inline_engine is self.sync_engine:
            return
        await self._checkpoint_over()  # the one running, if any, first
        await asyncio.wrap_future(self._start_checkpoint())

    async def vacuum_after_purge(self, tables: Sequence[str]) -> None:
        """On PostgreSQL, a plain ``VACUUM (SKIP_LOCKED)`` of the tables a purge deleted
        from, so the next rows reuse the space of the deleted ones.

        A deleted row stays in the table as a dead row version until a vacuum marks its
        space free; without one the table grows by every row ever written, however many
        are purged (a five-minute soak with autovacuum off grew the database from 8 to 67
        MiB with the live rows flat). Autovacuum does this when it is on and keeps up; this
        makes the bound hold either way. A plain vacuum takes no lock that blocks reads or
        writes, ``SKIP_LOCKED`` passes over a table another instance is vacuuming, and a
        failed vacuum is logged and left for the next purge: deleting is what matters.
        """
        if self.async_engine is None or self.dialect != "postgresql" or not tables:
            return
        engine = self.async_engine
        names = ", ".join(tables)  # table names of this package, never input

        async def vacuum() -> None:
            async with engine.connect() as aconn:
                conn = await aconn.execution_options(isolation_level="AUTOCOMMIT")
                # a vacuum outlasts the requests' statement_timeout on a large table;
                # RESET gives the pooled connection back its own limit
                await conn.exec_driver_sql(f"SET statement_timeout = {VACUUM_TIMEOUT_MS}")
                try:
                    await conn.exec_driver_sql(f"VACUUM (SKIP_LOCKED) {names}")
                finally:
                    await conn.exec_driver_sql("RESET statement_timeout")

        deadline = self.timeouts.connect + VACUUM_TIMEOUT_MS / 1000
        try:
            await self._within_deadline(vacuum(), deadline=deadline)
        except (OperationalError, InterfaceError, PoolTimeout, StoreUnavailable) as exc:
            _purge_log.warning("vacuum after purge failed: %s", type(exc).__name__)

    def _checkpoint_now(self) -> None:
        assert self.sync_engine is not None
        checkpoint(self.sync_engine)

    async def execute(
        self, stmt: Any, params: Mapping[str, Any], *, write: bool
    ) -> tuple[Sequence[Any], int]:
        """One prebuilt statement: (rows, rowcount). On SQLite through the direct lane
        (:mod:`stepauth.store.sql.lane`) unless it is busy, else through SQLAlchemy."""
        for _ in range(2 if self.lane is not None else 0):
            assert self.lane is not None
            try:
                result = self.lane.execute(stmt, params)
            except Busy:
                if not await self._checkpoint_over():  # then again on the lane, once
                    break
                continue
            except sqlite3.OperationalError as exc:
                if unavailable(exc):
                    raise database_unavailable(exc) from exc
                raise
            if write:
                self._after_inline_write()
            return result

        def run(conn: Connection) -> tuple[Sequence[Any], int]:
            cursor = conn.execute(stmt, params)
            rows = cursor.all() if cursor.returns_rows else []
            return rows, int(cursor.rowcount)

        return await self.run_sync(run, write=write)

    async def first(self, stmt: Any, params: Mapping[str, Any], *, write: bool = False) -> Any:
        """The first row :meth:`execute` returns, or ``None``."""
        rows, _ = await self.execute(stmt, params, write=write)
        return rows[0] if rows else None

    async def write(self, fn: Callable[[Connection], T]) -> T:
        return await self.run_sync(fn, write=True)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        return await self.run_sync(fn)

    async def close(self) -> None:
        if self.async_engine is not None:
            await self.async_engine.dispose()
        if self.sync_engine is not None and self._executor is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self.sync_engine.dispose)
            self._executor.shutdown(wait=False)
        if self.inline_engine is not None and self.inline_engine is not self.sync_engine:
            with self._inline_lock:
                self.inline_engine.dispose()
        if self.lane is not None:
            self.lane.close()
