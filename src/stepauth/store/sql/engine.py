"""Database engines and every SQLite rule of the store, in one place.

* PostgreSQL through psycopg 3's async driver (``postgresql+psycopg://…``; plain
  ``postgresql://`` is read as psycopg), with a connect timeout, a pool checkout timeout
  and a server-side ``statement_timeout`` (:func:`postgresql_engine`).
* SQLite (``sqlite+aiosqlite:///path``, run through the stdlib ``sqlite3`` driver): the
  pragmas of every connection (:func:`sqlite_pragmas`: WAL journal, ``synchronous=NORMAL``,
  a journal size limit, the busy timeout), the pooled engine of the worker threads, the
  inline engine and the direct lane (:mod:`stepauth.store.sql.lane`) whose connections
  never wait for a lock and never checkpoint on the event loop (:func:`sqlite_engines`),
  the WAL checkpoints (:func:`checkpoint` in a worker thread, :func:`truncate_wal` at
  shutdown), the database file and its ``-wal`` and ``-shm`` created ``0600``
  (:func:`private_file`) and the integrity check at start (:func:`quick_check`).

The driver's connection and timeout errors are told apart from errors that mean
something else (:func:`unavailable`).
"""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool, StaticPool

from stepauth.errors import ConfigError
from stepauth.store.records import StoreError, StoreUnavailable
from stepauth.store.sql.lane import SQLiteLane

__all__ = [
    "BUSY_TIMEOUT_MS",
    "CHECKPOINT_EVERY",
    "DEFAULT_TIMEOUTS",
    "JOURNAL_SIZE_LIMIT",
    "SQLITE_THREADS",
    "SQLiteEngines",
    "Timeouts",
    "busy",
    "checkpoint",
    "database_unavailable",
    "database_url",
    "postgresql_engine",
    "private_file",
    "quick_check",
    "sqlite_engines",
    "sqlite_pragmas",
    "truncate_wal",
    "unavailable",
]

#: How long a SQLite writer waits for the lock by default (``Timeouts.statement``).
BUSY_TIMEOUT_MS = 5_000
#: Worker threads (and pooled connections) of one SQLite store.
SQLITE_THREADS = 8
#: Inline SQLite writes between two WAL checkpoints (run in a worker thread).
CHECKPOINT_EVERY = 500
#: ``PRAGMA journal_size_limit`` of every connection: a WAL restarted after a complete
#: checkpoint is cut back to this many bytes.
JOURNAL_SIZE_LIMIT = 8 * 1024 * 1024
#: A WAL at least this large is checkpointed with ``TRUNCATE`` rather than ``PASSIVE``.
#: Under steady writes a passive checkpoint never catches up with the writer (it copies
#: the frames that existed when it began while new ones are appended), so the WAL is never
#: restarted and grows without bound; ``TRUNCATE`` holds writers off for the copy and
#: empties the file (https://sqlite.org/wal.html §"Avoiding Excessively Large WAL Files").
WAL_TRUNCATE_BYTES = 8 * 1024 * 1024
#: How long (ms) a ``TRUNCATE`` checkpoint waits for readers and writers before it gives
#: up (it holds new writers off while it waits, so never for long).
CHECKPOINT_WAIT_MS = 250
#: SQLite result codes (low byte) that mean "cannot answer now", not "wrong request":
#: BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL.
_SQLITE_UNAVAILABLE = frozenset({5, 6, 7, 8, 10, 13, 14, 15})


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long the store waits before it reports :class:`StoreUnavailable` (seconds).

    ``connect``: a PostgreSQL connection (``connect_timeout``) and a pool checkout;
    ``statement``: one statement on the server (PostgreSQL ``statement_timeout``), a SQLite
    lock (busy timeout); an operation unanswered after ``connect + statement`` is abandoned
    on the client. ``redis``: Redis socket connect and reads.
    """

    connect: float = 5.0
    statement: float = BUSY_TIMEOUT_MS / 1000
    redis: float = 3.0

    @property
    def deadline(self) -> float:
        """The longest a PostgreSQL operation is awaited before it is given up."""
        return self.connect + self.statement


#: The default waits (a frozen dataclass: one shared instance).
DEFAULT_TIMEOUTS = Timeouts()


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot answer now (down, unreachable, timed out,
    locked); a constraint, syntax or schema error says something else."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, OperationalError | InterfaceError):
        exc = exc.orig if exc.orig is not None else exc
        if not isinstance(exc, sqlite3.Error):
            return True  # psycopg: connection failures, timeouts, shutdowns, resources
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        return isinstance(code, int) and code & 0xFF in _SQLITE_UNAVAILABLE
    return False


def database_unavailable(exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable("database", f"the database is unavailable ({type(exc).__name__})")


def busy(exc: OperationalError) -> bool:
    """SQLITE_BUSY / SQLITE_LOCKED (any extended code): another connection holds a lock."""
    code = getattr(exc.orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (5, 6)
    return "locked" in str(exc.orig)


def database_url(url: str) -> URL:
    """``url`` with its driver: ``sqlite+aiosqlite`` or ``postgresql+psycopg``."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"not a database URL ({exc})", key="database.url") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.get_driver_name() not in {"aiosqlite", "pysqlite"}:
            raise ConfigError("SQLite needs the aiosqlite driver", key="database.url")
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql":
        if parsed.get_driver_name() not in {"psycopg", "psycopg2"}:
            raise ConfigError("PostgreSQL needs the psycopg driver", key="database.url")
        return parsed.set(drivername="postgresql+psycopg")
    raise ConfigError(
        "only sqlite+aiosqlite:// and postgresql+psycopg:// are supported", key="database.url"
    )


# -- SQLite ------------------------------------------------------------------------------


def private_file(path: str) -> None:
    """Create the database file ``path`` mode ``0600`` unless it exists, and take away
    any group or other access from it and its ``-wal`` and ``-shm`` files.

    SQLite gives its ``-wal`` and ``-shm`` files the mode of the database file, so a
    file created ``0600`` keeps them private too.
    """
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError:
        return  # SQLite itself reports why the database cannot be opened
    for name in (path, f"{path}-wal", f"{path}-shm"):
        try:
            mode = stat.S_IMODE(os.stat(name).st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            os.chmod(name, mode & 0o700)


def sqlite_pragmas(*, memory: bool, busy_timeout_ms: int) -> list[str]:
    """The pragmas every SQLite connection of the store runs when it opens.

    A connection that never waits for a lock (``busy_timeout_ms == 0``: the inline
    engine and the direct lane, which run on the event loop) never checkpoints either
    (an fsync); :func:`checkpoint` runs in a worker thread instead.
    """
    pragmas = []
    if not memory:
        pragmas += ["PRAGMA journal_mode=WAL", f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}"]
    pragmas += [f"PRAGMA busy_timeout={busy_timeout_ms}", "PRAGMA synchronous=NORMAL"]
    if busy_timeout_ms == 0 and not memory:
        pragmas.append("PRAGMA wal_autocheckpoint=0")
    return pragmas


def _on_connect(engine: Engine, *, memory: bool, busy_timeout_ms: int) -> None:
    pragmas = sqlite_pragmas(memory=memory, busy_timeout_ms=busy_timeout_ms)
    if not memory:
        path = str(engine.url.database)

        @event.listens_for(engine, "do_connect")
        def _private(*_: Any) -> None:
            private_file(path)  # before SQLite creates it (and its -wal, -shm) with 0644

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()


@dataclass(frozen=True, slots=True)
class SQLiteEngines:
    """The pooled engine of the worker threads, their count, the inline engine (the
    pooled one itself for an in-memory database) and the direct lane (files only)."""

    pooled: Engine
    threads: int
    inline: Engine
    lane: SQLiteLane | None


def sqlite_engines(parsed: URL, timeouts: Timeouts) -> SQLiteEngines:
    memory = parsed.database in (None, "", ":memory:")
    sync_url = parsed.set(drivername="sqlite+pysqlite")
    busy_ms = int(timeouts.statement * 1000)
    args = {"check_same_thread": False, "timeout": timeouts.statement}
    if memory:  # one connection, used by one thread at a time
        engine = create_sync_engine(sync_url, connect_args=args, poolclass=StaticPool)
        _on_connect(engine, memory=True, busy_timeout_ms=busy_ms)
        return SQLiteEngines(engine, 1, engine, None)
    engine = create_sync_engine(
        sync_url,
        connect_args=args,
        poolclass=QueuePool,
        pool_size=SQLITE_THREADS,
        max_overflow=0,
    )
    _on_connect(engine, memory=False, busy_timeout_ms=busy_ms)
    inline = create_sync_engine(
        sync_url, connect_args={"check_same_thread": False, "timeout": 0}, poolclass=StaticPool
    )
    _on_connect(inline, memory=False, busy_timeout_ms=0)
    path = str(parsed.database)
    lane = SQLiteLane(
        path,
        pragmas=sqlite_pragmas(memory=False, busy_timeout_ms=0),
        on_open=private_file,
    )
    return SQLiteEngines(engine, SQLITE_THREADS, inline, lane)


def checkpoint(engine: Engine) -> None:
    """A passive WAL checkpoint over ``engine`` (a worker thread's), or once the WAL
    reached :data:`WAL_TRUNCATE_BYTES` a ``TRUNCATE`` one that waits at most
    :data:`CHECKPOINT_WAIT_MS` (a busy database leaves it for the next one)."""
    path = engine.url.database
    try:
        large = os.path.getsize(f"{path}-wal") >= WAL_TRUNCATE_BYTES
    except OSError:
        large = False
    with engine.connect() as conn:
        if not large:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").all()
            return
        conn.exec_driver_sql(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
        try:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").all()
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def truncate_wal(path: str, *, timeout: float = BUSY_TIMEOUT_MS / 1000) -> bool:
    """``PRAGMA wal_checkpoint(TRUNCATE)`` of the database file ``path`` over a connection
    of its own (at shutdown, once the store's connections are closed): every committed
    page is copied into the main file and the ``-wal`` file cut to zero bytes. Returns
    whether it completed (``False``: the database was busy); raises ``sqlite3.Error``."""
    db = sqlite3.connect(path, timeout=timeout)
    try:
        busy_, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        db.close()
    return not busy_


def quick_check(connection: Connection) -> None:
    """Refuse a SQLite file that fails ``PRAGMA quick_check`` (at start, rather than as an
    error on the first request that reads a damaged page)."""
    problems = [str(p) for p in connection.exec_driver_sql("PRAGMA quick_check(3)").scalars()]
    if problems != ["ok"]:
        found = " ".join("; ".join(problems).split())[:200]
        raise StoreError(
            f"the SQLite file is corrupted ({found}); restore it from a backup",
            error="database_corrupt",
        )


# -- PostgreSQL --------------------------------------------------------------------------


def postgresql_engine(parsed: URL, timeouts: Timeouts) -> AsyncEngine:
    """psycopg with a connect timeout, a pool checkout timeout and a server-side
    ``statement_timeout`` (added to any ``options`` the URL already sets)."""
    options = parsed.query.get("options", "")
    if not isinstance(options, str):
        options = " ".join(options)
    statement_ms = max(1, int(timeouts.statement * 1000))
    return create_async_engine(
        parsed,
        pool_pre_ping=True,
        pool_timeout=timeouts.connect,
        connect_args={
            # libpq counts whole seconds (and at least 2)
            "connect_timeout": max(2, round(timeouts.connect)),
            "options": f"{options} -c statement_timeout={statement_ms}".strip(),
        },
    )
