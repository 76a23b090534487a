"""The SQLAlchemy 2 implementation of :class:`~stepauth.store.adapter.Store`.

* PostgreSQL through psycopg 3's async driver (``postgresql+psycopg://…``; plain
  ``postgresql://`` is read as psycopg).
* SQLite (``sqlite+aiosqlite:///path``): WAL journal, ``synchronous=NORMAL``, the stdlib
  ``sqlite3`` driver. Each operation runs inline on the event loop's thread over one
  connection that never waits for a lock; when another process holds the lock, the
  operation runs again in a worker thread whose connection waits (busy timeout). Inline,
  an operation costs about half the CPU of a thread hop and no GIL hand-offs (aiosqlite
  through SQLAlchemy costs five or more hops per statement). WAL checkpoints run in the
  worker threads, never on the event loop.

Each operation is a small synchronous function over one SQLAlchemy ``Connection`` and
one transaction: PostgreSQL runs it with ``AsyncConnection.run_sync``, SQLite as above.
Every single-use operation is ONE statement (DESIGN.md §4):

* :meth:`SQLStore.consume` — ``UPDATE items SET consumed_at=:now WHERE … AND consumed_at
  IS NULL AND (expires_at IS NULL OR expires_at > :now) AND revoked = false RETURNING
  payload, grant_id``; only when nothing is returned does a read-only look tell replayed,
  expired and missing apart.
* :meth:`SQLStore.add` — ``INSERT … ON CONFLICT DO UPDATE … WHERE expires_at <= :now
  RETURNING``: a row comes back only when nothing live held the key.
* :meth:`SQLStore.rotate_session` — ``DELETE … RETURNING`` the old row, then insert the new
  one in the same transaction: of two concurrent rotations only one deletes the row.
* :meth:`SQLStore.advance_counter` — ``INSERT … ON CONFLICT DO UPDATE … WHERE value <
  excluded.value RETURNING value`` on ``factor_counters``.
* :meth:`SQLStore.record_failure` — ``INSERT … ON CONFLICT DO UPDATE SET count = count + 1
  RETURNING count``.

Opaque ids come from :func:`secrets.token_urlsafe`. Nothing is cached in the process.

Outages (:class:`Timeouts`): PostgreSQL connections time out after ``connect`` seconds
(``connect_timeout``, and the pool's checkout), statements after ``statement`` seconds on
the server (``statement_timeout``), and an operation the database does not answer within
``connect + statement`` seconds (a frozen server or network) is abandoned on the client;
SQLite waits ``statement`` seconds for a lock (busy timeout). The driver's connection and
timeout errors become :class:`~stepauth.store.adapter.StoreUnavailable` here, at the store
boundary; errors that mean something else (a duplicate key, a schema problem) do not.

At rest (:mod:`stepauth.store.at_rest`): a session row holds the keyed hash of its id, a
factor row its secrets sealed to the row, and a SQLite database file, its WAL and its SHM
are created ``0600``. The keys come from the Provider's secret (``secret=`` or
:meth:`SQLStore.protect`); without them sessions and factor secrets are refused.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, overload

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy import (
    Connection,
    Engine,
    Row,
    delete,
    event,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool, QueuePool, StaticPool

from stepauth.errors import ConfigError
from stepauth.keying import DEFAULT_KEY_ENV
from stepauth.store import statements as stmts
from stepauth.store.adapter import (
    KEY_STATES,
    Consumed,
    Factor,
    FailureState,
    Item,
    KeyRecord,
    Session,
    Store,
    StoreError,
    StoreUnavailable,
    User,
    session_sid,
)
from stepauth.store.at_rest import SEALED, SEALED_KINDS, SECRET_FIELDS, AtRest, open_factor
from stepauth.store.schema import (
    audit,
    factor_counters,
    factors,
    metadata,
    signing_keys,
    users,
)
from stepauth.store.sqlite_lane import JOURNAL_SIZE_LIMIT, Busy, SQLiteLane, private_file

__all__ = [
    "BUSY_TIMEOUT_MS",
    "MIGRATIONS",
    "SQLITE_THREADS",
    "SQLStore",
    "Timeouts",
    "build_store",
    "open_store",
    "sql_store",
]

T = TypeVar("T")

#: How long a SQLite writer waits for the lock by default (``Timeouts.statement``).
BUSY_TIMEOUT_MS = 5_000
#: Worker threads (and pooled connections) of one SQLite store.
SQLITE_THREADS = 8
#: Inline SQLite writes between two WAL checkpoints (run in a worker thread).
CHECKPOINT_EVERY = 500
#: A WAL at least this large is checkpointed with ``TRUNCATE`` rather than ``PASSIVE``.
#: Under steady writes a passive checkpoint never catches up with the writer (it copies
#: the frames that existed when it began while new ones are appended), so the WAL is never
#: restarted and grows without bound; ``TRUNCATE`` holds writers off for the copy and
#: empties the file (https://sqlite.org/wal.html §"Avoiding Excessively Large WAL Files").
WAL_TRUNCATE_BYTES = 8 * 1024 * 1024
#: How long (ms) a ``TRUNCATE`` checkpoint waits for readers and writers before it gives
#: up (it holds new writers off while it waits, so never for long).
CHECKPOINT_WAIT_MS = 250
#: The Alembic script directory shipped inside the package.
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK = threading.Lock()
#: SQLite result codes (low byte) that mean "cannot answer now", not "wrong request":
#: BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL.
_SQLITE_UNAVAILABLE = frozenset({5, 6, 7, 8, 10, 13, 14, 15})


#: How long the vacuum after a purge may run (PostgreSQL ``statement_timeout``, ms).
VACUUM_TIMEOUT_MS = 300_000


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


def _unavailable(exc: BaseException) -> bool:
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


def _database_unavailable(exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable("database", f"the database is unavailable ({type(exc).__name__})")


def _discard(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: an abandoned operation's error is not logged as lost


def _url(url: str) -> URL:
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


def _sqlite_pragmas(engine: Engine, *, memory: bool, busy_timeout_ms: int) -> None:
    if not memory:
        path = str(engine.url.database)

        @event.listens_for(engine, "do_connect")
        def _private(*_: Any) -> None:
            private_file(path)  # before SQLite creates it (and its -wal, -shm) with 0644

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if busy_timeout_ms == 0 and not memory:
            # the inline connection never checkpoints on the event loop (fsync); the
            # store runs passive checkpoints in its threads instead
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()


def _sqlite_engine(
    parsed: URL, timeouts: Timeouts
) -> tuple[Engine, int, Engine, SQLiteLane | None]:
    """The pooled engine of the worker threads, their count, and the inline engine."""
    memory = parsed.database in (None, "", ":memory:")
    sync_url = parsed.set(drivername="sqlite+pysqlite")
    busy_ms = int(timeouts.statement * 1000)
    args = {"check_same_thread": False, "timeout": timeouts.statement}
    if memory:  # one connection, used by one thread at a time
        engine = create_sync_engine(sync_url, connect_args=args, poolclass=StaticPool)
        _sqlite_pragmas(engine, memory=True, busy_timeout_ms=busy_ms)
        return engine, 1, engine, None
    engine = create_sync_engine(
        sync_url,
        connect_args=args,
        poolclass=QueuePool,
        pool_size=SQLITE_THREADS,
        max_overflow=0,
    )
    _sqlite_pragmas(engine, memory=False, busy_timeout_ms=busy_ms)
    inline = create_sync_engine(
        sync_url, connect_args={"check_same_thread": False, "timeout": 0}, poolclass=StaticPool
    )
    _sqlite_pragmas(inline, memory=False, busy_timeout_ms=0)
    return engine, SQLITE_THREADS, inline, SQLiteLane(str(parsed.database))


def _postgresql_engine(parsed: URL, timeouts: Timeouts) -> AsyncEngine:
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


def _busy(exc: OperationalError) -> bool:
    """SQLITE_BUSY / SQLITE_LOCKED (any extended code): another connection holds a lock."""
    code = getattr(exc.orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (5, 6)
    return "locked" in str(exc.orig)


def _upgrade(connection: Connection, at_rest: AtRest | None, revision: str) -> None:
    if connection.dialect.name == "sqlite":
        # one migrator at a time across processes: take the write lock up front
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    cfg.attributes["at_rest"] = at_rest  # revision 0004 hashes and seals with it
    command.upgrade(cfg, revision)
    if revision == "head":
        _check_schema(connection)


class _AlembicPreamble(logging.Filter):
    """Drop Alembic's per-run preamble ("Context impl SQLiteImpl.", "Will assume
    transactional DDL."): it says nothing to an operator, and a start that fails should
    print one line. "Running upgrade …" lines stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(("Context impl ", "Will assume "))


logging.getLogger("alembic.runtime.migration").addFilter(_AlembicPreamble())
_purge_log = logging.getLogger("stepauth.purge")


def _check_schema(connection: Connection) -> None:
    """Refuse a schema stamped at head that lacks a table or column stepauth uses, and a
    SQLite file that fails ``PRAGMA quick_check``: at start, rather than as an error on
    the first request that needs them."""
    if connection.dialect.name == "sqlite":
        problems = [str(p) for p in connection.exec_driver_sql("PRAGMA quick_check(3)").scalars()]
        if problems != ["ok"]:
            found = " ".join("; ".join(problems).split())[:200]
            raise StoreError(
                f"the SQLite file is corrupted ({found}); restore it from a backup",
                error="database_corrupt",
            )
    inspector = inspect(connection)
    present = set(inspector.get_table_names())
    missing = [name for name in metadata.tables if name not in present]
    for name, table in metadata.tables.items():
        if name in present:
            columns = {c["name"] for c in inspector.get_columns(name)}
            missing += [f"{name}.{c.name}" for c in table.columns if c.name not in columns]
    if missing:
        raise StoreError(
            f"the schema is at the newest revision but lacks {', '.join(sorted(missing))}; "
            "restore the database from a backup",
            error="schema_incomplete",
        )


@overload
async def open_store(
    url: str,
    *,
    migrate_schema: bool = True,
    redis_url: None = None,
    redis_prefix: str = ...,
    secret: bytes | None = None,
    key_env: str = ...,
    timeouts: Timeouts = ...,
) -> SQLStore: ...


@overload
async def open_store(
    url: str,
    *,
    migrate_schema: bool = True,
    redis_url: str,
    redis_prefix: str = ...,
    secret: bytes | None = None,
    key_env: str = ...,
    timeouts: Timeouts = ...,
) -> Store: ...


async def open_store(
    url: str,
    *,
    migrate_schema: bool = True,
    redis_url: str | None = None,
    redis_prefix: str = "stepauth:",
    redis_retain: float | None = None,
    secret: bytes | None = None,
    key_env: str = DEFAULT_KEY_ENV,
    timeouts: Timeouts = Timeouts(),
) -> Store:
    """Open the store at ``url`` and migrate its schema to head (works on an empty DB).

    With ``redis_url`` the ephemeral single-use kinds live in Redis, each kept
    ``redis_retain`` seconds past its expiry
    (:class:`~stepauth.store.routed.RoutedStore`). ``secret`` is the Provider's secret:
    the store keeps session ids and factor secrets only under keys derived from it
    (:mod:`stepauth.store.at_rest`); without it those operations are refused
    (:meth:`SQLStore.protect` gives it later). A secret given must be long enough; errors
    name ``key_env``, the variable it came from. ``timeouts`` bound every wait on the
    database and Redis (:class:`Timeouts`).
    """
    store = await _open_sql(
        url, migrate_schema=migrate_schema, secret=secret, key_env=key_env, timeouts=timeouts
    )
    if redis_url is None:
        return store
    from stepauth.store.routed import RoutedStore

    return RoutedStore(store, _ephemeral(redis_url, redis_prefix, redis_retain, timeouts.redis))


def sql_store(
    url: str,
    *,
    secret: bytes | None = None,
    key_env: str = DEFAULT_KEY_ENV,
    timeouts: Timeouts = Timeouts(),
) -> SQLStore:
    """The SQL store for ``url`` without touching the database (no I/O, no migration)."""
    parsed = _url(url)
    at_rest = None if secret is None else AtRest(secret, key_env=key_env)
    if parsed.get_backend_name() == "sqlite":
        engine, threads, inline, lane = _sqlite_engine(parsed, timeouts)
        return SQLStore(
            sync_engine=engine,
            threads=threads,
            inline_engine=inline,
            lane=lane,
            at_rest=at_rest,
            timeouts=timeouts,
        )
    return SQLStore(
        async_engine=_postgresql_engine(parsed, timeouts), at_rest=at_rest, timeouts=timeouts
    )


def build_store(
    url: str,
    *,
    redis_url: str | None = None,
    redis_prefix: str = "stepauth:",
    redis_retain: float | None = None,
    secret: bytes | None = None,
    key_env: str = DEFAULT_KEY_ENV,
    timeouts: Timeouts = Timeouts(),
) -> Store:
    """Like :func:`open_store` without I/O: the schema must already be migrated.

    For callers that need a store before their event loop runs (``stepauth serve``).
    """
    store = sql_store(url, secret=secret, key_env=key_env, timeouts=timeouts)
    if redis_url is None:
        return store
    from stepauth.store.routed import RoutedStore

    return RoutedStore(store, _ephemeral(redis_url, redis_prefix, redis_retain, timeouts.redis))


async def _open_sql(
    url: str, *, migrate_schema: bool, secret: bytes | None, key_env: str, timeouts: Timeouts
) -> SQLStore:
    store = sql_store(url, secret=secret, key_env=key_env, timeouts=timeouts)
    if migrate_schema:
        shown = _url(url).render_as_string(hide_password=True)
        try:
            await store.migrate()
        except (OperationalError, InterfaceError, PoolTimeout) as exc:
            await store.close()
            if not _unavailable(exc):  # SQLite: the file opens but is not this schema
                raise StoreError(
                    f"the database {shown} cannot be used: {_reason(exc)}",
                    error="database_invalid",
                ) from None
            raise StoreUnavailable(
                "database", f"cannot open the database {shown}: {_reason(exc)}"
            ) from None
        except DBAPIError as exc:  # not a database, corrupted, or not stepauth's schema
            await store.close()
            raise StoreError(
                f"the database {shown} cannot be used: {_reason(exc)}", error="database_invalid"
            ) from None
        except CommandError as exc:  # an alembic_version this stepauth does not ship
            await store.close()
            raise StoreError(
                f"the database {shown} is at an unknown schema revision ({exc}); "
                "is it from a newer stepauth?",
                error="unknown_schema_revision",
            ) from None
        except BaseException:
            await store.close()
            raise
    return store


def _reason(exc: DBAPIError | PoolTimeout) -> str:
    """The driver's message on one line (no SQL, no parameters)."""
    orig = getattr(exc, "orig", None)
    return " ".join(str(orig if orig is not None else exc).split())[:300]


def _ephemeral(url: str, prefix: str, retain: float | None, timeout: float) -> Any:
    """The Redis half of a routed store; ``retain``: seconds its items outlive their
    expiry (default :data:`stepauth.store.redis.RETAIN`); ``timeout``: its waits."""
    from stepauth.store.redis import RETAIN, RedisEphemeral

    return RedisEphemeral(url, prefix, timeout=timeout, retain=RETAIN if retain is None else retain)


def _rowcount(stmt: Any, params: Mapping[str, Any], conn: Connection) -> int:
    return int(conn.execute(stmt, params).rowcount)


def _new_id(nbytes: int = 16) -> str:
    return secrets.token_urlsafe(nbytes)


def _json(value: Mapping[str, Any]) -> dict[str, Any]:
    return dict(value)


_COUNTER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def _with_counters(data: dict[str, Any], counters: Mapping[str, int]) -> dict[str, Any]:
    """``data`` with each advanced counter at its high-water mark."""
    for name, value in counters.items():
        current = data.get(name)
        if isinstance(current, int) and not isinstance(current, bool):
            value = max(value, current)
        data[name] = value
    return data


class _Values:
    """Attribute access over a dict of column values (to build records without a row)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.__dict__.update(values)


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        username=row.username,
        password_hash=row.password_hash,
        disabled=bool(row.disabled),
        created_at=row.created_at,
    )


def _session(row: Any, session_id: str) -> Session:
    """The session of ``row``, under its id as the cookie carries it (the row holds its
    keyed hash only)."""
    return Session(
        id=session_id,
        user_id=row.user_id,
        events=[dict(e) for e in row.events],
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        idle_expires_at=row.idle_expires_at,
        absolute_expires_at=row.absolute_expires_at,
        sid=row.sid,
    )


class SQLStore:
    """:class:`~stepauth.store.adapter.Store` over SQLAlchemy (see the module docstring)."""

    def __init__(
        self,
        *,
        async_engine: AsyncEngine | None = None,
        sync_engine: Engine | None = None,
        threads: int = SQLITE_THREADS,
        inline_engine: Engine | None = None,
        lane: SQLiteLane | None = None,
        at_rest: AtRest | None = None,
        timeouts: Timeouts = Timeouts(),
    ) -> None:
        if (async_engine is None) == (sync_engine is None):
            raise StoreError("give exactly one of async_engine and sync_engine")
        self.async_engine = async_engine
        self.sync_engine = sync_engine
        self.dialect = (async_engine or sync_engine).dialect.name  # type: ignore[union-attr]
        self._upserts = stmts.upserts(self.dialect)
        self._claims = stmts.failure_claims(self.dialect)
        self._executor = (
            ThreadPoolExecutor(threads, thread_name_prefix="stepauth-sqlite")
            if sync_engine is not None
            else None
        )
        self.inline_engine = inline_engine if sync_engine is not None else None
        self.lane = lane if sync_engine is not None else None
        self._inline_lock = threading.Lock()
        self._inline_writes = 0
        self._checkpointing = False
        self.at_rest = at_rest
        self.timeouts = timeouts

    def protect(self, at_rest: AtRest) -> None:
        """Keep session ids and factor secrets under ``at_rest`` from now on.

        A store already opened with another secret is refused: what it wrote would not
        open under this one (fail closed).
        """
        if self.at_rest is not None and self.at_rest.fingerprint != at_rest.fingerprint:
            raise ConfigError(
                "the store was opened with another secret than the Provider's",
                key="secrets.key_env",
            )
        self.at_rest = at_rest

    def _keys(self) -> AtRest:
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
            if _unavailable(exc):
                raise _database_unavailable(exc) from exc
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
        if self.inline_engine is not None and self._inline_lock.acquire(blocking=False):
            try:
                result = self._run(self.inline_engine, fn, write)
            except OperationalError as exc:
                if not _busy(exc):
                    raise
            else:
                if write:
                    self._after_inline_write()
                return result
            finally:
                self._inline_lock.release()
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
        """Every :data:`CHECKPOINT_EVERY` inline writes, a WAL checkpoint in a worker
        thread (the inline connection has automatic checkpoints off): see
        :meth:`_checkpoint`."""
        self._inline_writes += 1
        if self._inline_writes % CHECKPOINT_EVERY or self._checkpointing:
            return
        if self.inline_engine is self.sync_engine or self._executor is None:
            return
        self._checkpointing = True
        future = self._executor.submit(self._checkpoint)
        future.add_done_callback(lambda _: setattr(self, "_checkpointing", False))

    async def _checkpoint_after_purge(self) -> None:
        """On SQLite, a checkpoint after each purge batch: a batch rewrites many pages in
        one write, and back-to-back batches would otherwise grow the WAL by tens of MiB
        between two of the every-:data:`CHECKPOINT_EVERY`-writes checkpoints."""
        if self.inline_engine is None or self.inline_engine is self.sync_engine:
            return
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._checkpoint)

    def _checkpoint(self) -> None:
        """A passive checkpoint, or once the WAL reached :data:`WAL_TRUNCATE_BYTES` a
        ``TRUNCATE`` one that waits at most :data:`CHECKPOINT_WAIT_MS` (a busy database
        leaves it for the next one)."""
        assert self.sync_engine is not None
        path = self.sync_engine.url.database
        try:
            large = os.path.getsize(f"{path}-wal") >= WAL_TRUNCATE_BYTES
        except OSError:
            large = False
        with self.sync_engine.connect() as conn:
            if not large:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").all()
                return
            conn.exec_driver_sql(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
            try:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").all()
            finally:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    async def _execute(
        self, stmt: Any, params: Mapping[str, Any], *, write: bool
    ) -> tuple[Sequence[Any], int]:
        """One prebuilt statement: (rows, rowcount). On SQLite through the direct lane
        (:mod:`stepauth.store.sqlite_lane`) unless it is busy, else through SQLAlchemy."""
        if self.lane is not None:
            try:
                result = self.lane.execute(stmt, params)
            except Busy:
                pass
            except sqlite3.OperationalError as exc:
                if _unavailable(exc):
                    raise _database_unavailable(exc) from exc
                raise
            else:
                if write:
                    self._after_inline_write()
                return result

        def run(conn: Connection) -> tuple[Sequence[Any], int]:
            cursor = conn.execute(stmt, params)
            rows = cursor.all() if cursor.returns_rows else []
            return rows, int(cursor.rowcount)

        return await self.run_sync(run, write=write)

    async def _first(self, stmt: Any, params: Mapping[str, Any], *, write: bool = False) -> Any:
        rows, _ = await self._execute(stmt, params, write=write)
        return rows[0] if rows else None

    async def _write(self, fn: Callable[[Connection], T]) -> T:
        return await self.run_sync(fn, write=True)

    async def _read(self, fn: Callable[[Connection], T]) -> T:
        return await self.run_sync(fn)

    async def migrate(self, revision: str = "head") -> None:
        """Bring the schema to the newest Alembic revision (no-op when already there).

        Runs in a worker thread over a synchronous connection. Alembic's environment is
        process-global, so migrations in one process run one at a time; across processes
        PostgreSQL takes an advisory lock and SQLite the write lock (``BEGIN IMMEDIATE``).
        The store's secret, when it has one, is handed to the migrations (revision 0004).
        """
        await asyncio.to_thread(self._migrate_blocking, revision)

    def _migrate_blocking(self, revision: str) -> None:
        with _MIGRATION_LOCK:
            if self.sync_engine is not None:
                with self.sync_engine.begin() as conn:
                    _upgrade(conn, self.at_rest, revision)
                return
            assert self.async_engine is not None
            engine = create_sync_engine(
                self.async_engine.url,
                poolclass=NullPool,
                connect_args={"connect_timeout": max(2, round(self.timeouts.connect))},
            )
            try:
                with engine.begin() as conn:
                    _upgrade(conn, self.at_rest, revision)
            finally:
                engine.dispose()

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

    # -- single-use / expiring artefacts -------------------------------------------------

    async def put(
        self,
        kind: str,
        key: str,
        payload: Mapping[str, Any],
        *,
        expires_at: float | None,
        grant_id: str | None = None,
        user_id: str | None = None,
        sid: str | None = None,
    ) -> None:
        stored = self._keys().seal_payload(kind, key, payload) if kind in SEALED_KINDS else payload
        params = {
            "kind": kind,
            "key": key,
            "payload": _json(stored),
            "grant_id": grant_id,
            "user_id": user_id,
            "expires_at": expires_at,
            "consumed_at": None,
            "revoked": False,
            "created_at": time.time(),
            "sid": sid,
        }
        await self._execute(self._upserts.put_item, params, write=True)

    async def get(self, kind: str, key: str, *, now: float) -> Item | None:
        params = {"b_kind": kind, "b_key": key, "b_now": now}
        row = await self._first(stmts.GET_ITEM, params)
        if row is None:
            return None
        payload = self._payload(kind, key, row.payload)
        if payload is None:
            return None
        return Item(
            kind=row.kind,
            key=row.key,
            payload=payload,
            grant_id=row.grant_id,
            user_id=row.user_id,
            expires_at=row.expires_at,
            consumed_at=row.consumed_at,
            created_at=row.created_at,
        )

    async def consume(self, kind: str, key: str, *, now: float) -> Consumed:
        params = {"b_kind": kind, "b_key": key, "b_now": now}
        won = await self._first(stmts.CLAIM_ITEM, params, write=True)  # the one statement
        if won is not None:
            payload = self._payload(kind, key, won.payload)
            return Consumed("missing") if payload is None else Consumed("ok", payload, won.grant_id)
        row = await self._first(stmts.LOOK_ITEM, params)  # read-only: why did it fail?
        if row is None:
            return Consumed("missing")
        if row.consumed_at is not None:
            payload = self._payload(kind, key, row.payload)
            if payload is None:
                return Consumed("missing")
            return Consumed("replayed", payload, row.grant_id)
        if row.revoked:
            return Consumed("missing")
        if row.expires_at is not None and row.expires_at <= now:
            return Consumed("expired")
        return Consumed("missing")

    def _payload(self, kind: str, key: str, stored: Mapping[str, Any]) -> dict[str, Any] | None:
        """An item's payload as stored, opened when its kind is sealed (``None``: it does
        not open, or the store has no key; the item counts as missing)."""
        if kind not in SEALED_KINDS:
            return dict(stored)
        if self.at_rest is None:
            return None
        return self.at_rest.open_payload(kind, key, stored)

    async def add(
        self,
        kind: str,
        key: str,
        *,
        expires_at: float,
        now: float,
        data: Mapping[str, Any] | None = None,
    ) -> bool:
        payload = data or {}
        if kind in SEALED_KINDS:
            payload = self._keys().seal_payload(kind, key, payload)
        params = {
            "b_kind": kind,
            "b_key": key,
            "b_payload": _json(payload),
            "b_expires": float(expires_at),
            "b_now": float(now),
        }
        return await self._first(self._upserts.add_item, params, write=True) is not None

    async def delete(self, kind: str, key: str) -> None:
        params = {"b_kind": kind, "b_key": key}
        await self._execute(stmts.DELETE_ITEM, params, write=True)

    async def revoke_grant(self, grant_id: str) -> int:
        params = {"b_grant": grant_id}
        return await self._write(
            lambda conn: int(conn.execute(stmts.REVOKE_GRANT, params).rowcount)
        )

    async def revoke_session_items(self, sid: str) -> int:
        params = {"b_sid": sid}
        return await self._write(lambda conn: int(conn.execute(stmts.REVOKE_SID, params).rowcount))

    async def purge_expired(self, *, now: float) -> int:
        """Delete items expired before ``now`` (housekeeping; not part of the protocol)."""
        params = {"b_now": now}
        return await self._write(lambda conn: int(conn.execute(stmts.PURGE_ITEMS, params).rowcount))

    async def purge(
        self,
        *,
        now: float,
        retain: float,
        stale_before: float,
        batch: int = 1000,
        vacuum: bool = True,
    ) -> dict[str, int]:
        """Delete what can no longer be used, ``batch`` rows per statement (one short
        transaction each); returns the rows deleted per table.

        * ``items`` whose ``expires_at`` passed more than ``retain`` seconds ago: a
          consumed code or refresh token is kept that long after it expired so a replay
          still revokes its grant (RFC 6749 §4.1.2, RFC 9700 §4.14.2), and the record of
          an ended session outlives anything issued under it;
        * ``sessions`` past their idle or absolute limit (never read again);
        * per-address throttle rows of windows that ended before ``stale_before``.

        Safe to run from several instances at once (see ``PURGE_*_BATCH``). With
        ``vacuum``, PostgreSQL then vacuums each table it deleted from (see
        :meth:`_vacuum_after_purge`).
        """
        deleted = {"items": 0, "sessions": 0, "failures": 0}
        jobs = (
            ("items", stmts.PURGE_ITEMS_BATCH, {"b_cutoff": now - retain}),
            ("sessions", stmts.PURGE_SESSIONS_BATCH, {"b_now": now}),
            ("failures", stmts.PURGE_FAILURES_BATCH, {"b_now": now, "b_stale": stale_before}),
        )
        for table, stmt, params in jobs:
            run = partial(_rowcount, stmt, {**params, "b_limit": batch})
            while True:
                count = await self._write(run)
                deleted[table] += count
                await self._checkpoint_after_purge()
                if count < batch:
                    break
                await asyncio.sleep(0)  # let requests run between batches
        if vacuum:
            await self._vacuum_after_purge([table for table, n in deleted.items() if n])
        return deleted

    async def _vacuum_after_purge(self, tables: list[str]) -> None:
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
        names = ", ".join(tables)  # table names of this module, never input

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

    # -- users ---------------------------------------------------------------------------

    async def create_user(self, username: str, password_hash: str | None) -> User:
        user = User(_new_id(), username, password_hash, False, time.time())
        params = {
            "id": user.id,
            "username": username,
            "password_hash": password_hash,
            "disabled": False,
            "created_at": user.created_at,
        }
        try:
            await self._write(lambda conn: conn.execute(stmts.INSERT_USER, params))
        except IntegrityError:
            raise StoreError(f"user {username!r} already exists", error="user_exists") from None
        return user

    async def _one_user(self, stmt: Any, params: dict[str, Any]) -> User | None:
        row = await self._first(stmt, params)
        return None if row is None else _user(row)

    async def get_user(self, user_id: str) -> User | None:
        return await self._one_user(stmts.USER_BY_ID, {"b_id": user_id})

    async def get_user_by_username(self, username: str) -> User | None:
        return await self._one_user(stmts.USER_BY_NAME, {"b_username": username})

    async def list_users(self) -> list[User]:
        rows = await self._read(lambda conn: conn.execute(stmts.ALL_USERS).all())
        return [_user(row) for row in rows]

    async def _update_user(self, user_id: str, **values: Any) -> None:
        stmt = update(users).where(users.c.id == user_id).values(values)
        if await self._write(lambda conn: conn.execute(stmt).rowcount) == 0:
            raise StoreError("unknown user", error="unknown_user")

    async def set_user_disabled(self, user_id: str, disabled: bool) -> None:
        await self._update_user(user_id, disabled=disabled)

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        await self._update_user(user_id, password_hash=password_hash)

    # -- sessions ------------------------------------------------------------------------

    async def create_session(
        self,
        user_id: str,
        events: Sequence[Mapping[str, Any]],
        *,
        now: float,
        idle_timeout: int,
        absolute_timeout: int,
    ) -> Session:
        keys = self._keys()
        absolute = now + absolute_timeout
        session_id = _new_id(32)
        values = {
            "id": keys.session_key(session_id),  # the cookie value itself is never stored
            "user_id": user_id,
            "events": [dict(e) for e in events],
            "created_at": now,
            "last_seen_at": now,
            "idle_timeout": int(idle_timeout),
            "idle_expires_at": min(now + idle_timeout, absolute),
            "absolute_expires_at": absolute,
            "sid": _new_id(),
        }
        await self._write(lambda conn: conn.execute(stmts.INSERT_SESSION, values))
        return _session(_Values(values), session_id)

    async def get_session(self, session_id: str, *, now: float) -> Session | None:
        params = {"b_id": self._keys().session_key(session_id), "b_now": now}
        row = await self._first(stmts.GET_SESSION, params)
        return None if row is None else _session(row, session_id)

    async def rotate_session(
        self, session_id: str, *, append_events: Sequence[Mapping[str, Any]], now: float
    ) -> Session | None:
        keys = self._keys()
        params = {"b_id": keys.session_key(session_id), "b_now": now}
        added = [dict(e) for e in append_events]
        new_id = _new_id(32)

        def run(conn: Connection) -> Session | None:
            old = conn.execute(stmts.TAKE_SESSION, params).first()
            if old is None:
                return None  # unknown, expired, or another rotation won
            values = {
                "id": keys.session_key(new_id),
                "user_id": old.user_id,
                "events": [*(dict(e) for e in old.events), *added],
                "created_at": old.created_at,
                "last_seen_at": now,
                "idle_timeout": old.idle_timeout,
                "idle_expires_at": min(now + old.idle_timeout, old.absolute_expires_at),
                "absolute_expires_at": old.absolute_expires_at,
                "sid": old.sid or session_sid(session_id),  # stable across rotations
            }
            conn.execute(stmts.INSERT_SESSION, values)
            return _session(_Values(values), new_id)

        return await self._write(run)

    async def touch_session(self, session_id: str, *, now: float) -> None:
        params = {"b_id": self._keys().session_key(session_id), "b_now": now}
        await self._execute(stmts.TOUCH_SESSION, params, write=True)

    async def delete_session(self, session_id: str) -> None:
        params = {"b_id": self._keys().session_key(session_id)}
        await self._write(lambda conn: conn.execute(stmts.DELETE_SESSION, params))

    async def delete_user_sessions(
        self, user_id: str, *, except_session_id: str | None = None
    ) -> int:
        return len(await self.end_user_sessions(user_id, except_session_id=except_session_id))

    async def end_user_sessions(
        self, user_id: str, *, except_session_id: str | None = None
    ) -> list[str]:
        kept = None if except_session_id is None else self._keys().session_key(except_session_id)
        params = {"b_user": user_id, "b_except": kept}

        def end(conn: Connection) -> list[str]:
            # One transaction: the sessions deleted are exactly those whose items are revoked
            # (DELETE … RETURNING, no window for a session committed in between). Every
            # stored session has its sid (revision 0003), so none is derived from its id.
            ended = conn.execute(stmts.END_USER_SESSIONS, params)
            sids = [row.sid for row in ended if row.sid]
            if sids:
                conn.execute(stmts.REVOKE_SIDS, {"b_sids": sids})
            return sids

        return await self._write(end)

    # -- signing keys --------------------------------------------------------------------

    async def add_key(self, key: KeyRecord) -> None:
        if key.state not in KEY_STATES:
            raise StoreError(f"unknown key state {key.state!r}")
        stmt = insert(signing_keys).values(
            kid=key.kid,
            alg=key.alg,
            public_jwk=dict(key.public_jwk),
            private_enc=bytes(key.private_enc),
            state=key.state,
            created_at=key.created_at,
            activated_at=key.activated_at,
            retired_at=key.retired_at,
        )
        try:
            await self._write(lambda conn: conn.execute(stmt))
        except IntegrityError:
            raise StoreError(f"key {key.kid!r} already exists") from None

    async def list_keys(self) -> list[KeyRecord]:
        stmt = select(signing_keys).order_by(signing_keys.c.created_at, signing_keys.c.kid)
        rows = await self._read(lambda conn: conn.execute(stmt).all())
        return [
            KeyRecord(
                kid=row.kid,
                alg=row.alg,
                public_jwk=dict(row.public_jwk),
                private_enc=bytes(row.private_enc),
                state=row.state,
                created_at=row.created_at,
                activated_at=row.activated_at,
                retired_at=row.retired_at,
            )
            for row in rows
        ]

    async def set_key_state(self, kid: str, state: str, *, now: float) -> None:
        if state not in KEY_STATES:
            raise StoreError(f"unknown key state {state!r}")
        earlier = KEY_STATES[: KEY_STATES.index(state)]
        values: dict[str, Any] = {"state": state}
        if state == "active":
            values["activated_at"] = now
        if state == "retired":
            values["retired_at"] = now
        stmt = (
            update(signing_keys)
            .where(signing_keys.c.kid == kid, signing_keys.c.state.in_(earlier))
            .values(values)
        )
        await self._write(lambda conn: conn.execute(stmt))

    # -- factors -------------------------------------------------------------------------

    def _factors(self, conn: Connection, stmt: Any, params: dict[str, Any]) -> list[Factor]:
        rows = conn.execute(stmt, params).all()
        if not rows:
            return []
        counters: dict[str, dict[str, int]] = {}
        for c in conn.execute(stmts.COUNTERS_OF, {"b_ids": [row.id for row in rows]}).all():
            counters.setdefault(c.factor_id, {})[c.field] = int(c.value)
        return [
            Factor(
                id=row.id,
                user_id=row.user_id,
                kind=row.kind,
                label=row.label,
                data=_with_counters(
                    open_factor(
                        self.at_rest, row.data, factor_id=row.id, user_id=row.user_id, kind=row.kind
                    ),
                    counters.get(row.id, {}),
                ),
                credential_id=row.credential_id,
                created_at=row.created_at,
                last_used_at=row.last_used_at,
                disabled=bool(row.disabled),
            )
            for row in rows
        ]

    async def add_factor(
        self,
        user_id: str,
        kind: str,
        data: Mapping[str, Any],
        *,
        label: str,
        credential_id: str | None = None,
        now: float,
    ) -> Factor:
        factor_id = _new_id()
        stored = self._sealed(data, factor_id=factor_id, user_id=user_id, kind=kind)
        params = {
            "id": factor_id,
            "user_id": user_id,
            "kind": kind,
            "label": label,
            "data": stored,
            "credential_id": credential_id,
            "created_at": now,
            "last_used_at": None,
            "disabled": False,
        }

        try:
            await self._write(lambda conn: conn.execute(stmts.INSERT_FACTOR, params))
        except IntegrityError:
            raise StoreError(
                "credential is already registered", error="credential_exists"
            ) from None
        return Factor(factor_id, user_id, kind, label, _json(data), credential_id, now)

    async def list_factors(self, user_id: str) -> list[Factor]:
        params = {"b_user": user_id}
        return await self._read(lambda conn: self._factors(conn, stmts.FACTORS_OF_USER, params))

    async def get_factor(self, factor_id: str) -> Factor | None:
        params = {"b_id": factor_id}
        found = await self._read(lambda conn: self._factors(conn, stmts.FACTOR_BY_ID, params))
        return found[0] if found else None

    async def get_factor_by_credential_id(self, credential_id: str) -> Factor | None:
        params = {"b_credential": credential_id}
        found = await self._read(
            lambda conn: self._factors(conn, stmts.FACTOR_BY_CREDENTIAL, params)
        )
        return found[0] if found else None

    async def update_factor(
        self,
        factor_id: str,
        *,
        data: Mapping[str, Any] | None = None,
        label: str | None = None,
        last_used_at: float | None = None,
        disabled: bool | None = None,
    ) -> None:
        values: dict[str, Any] = {}
        if label is not None:
            values["label"] = label
        if last_used_at is not None:
            values["last_used_at"] = last_used_at
        if disabled is not None:
            values["disabled"] = disabled
        if not values and data is None:
            return

        def run(conn: Connection) -> int:
            if data is not None:  # sealed for its row: the owner and kind are read first
                owner = conn.execute(stmts.FACTOR_BY_ID, {"b_id": factor_id}).first()
                if owner is None:
                    return 0
                values["data"] = self._sealed(
                    data, factor_id=factor_id, user_id=owner.user_id, kind=owner.kind
                )
            stmt = update(factors).where(factors.c.id == factor_id).values(values)
            return int(conn.execute(stmt).rowcount)

        if await self._write(run) == 0:
            raise StoreError("unknown factor", error="unknown_factor")

    def _sealed(
        self, data: Mapping[str, Any], *, factor_id: str, user_id: str, kind: str
    ) -> dict[str, Any]:
        """Factor data as stored: secret fields sealed for this row (refused without a key)."""
        if not any(field in data for field in SECRET_FIELDS.get(kind, ())):
            return {k: v for k, v in data.items() if k != SEALED}
        return self._keys().seal_factor(data, factor_id=factor_id, user_id=user_id, kind=kind)

    async def remove_factor(self, factor_id: str) -> None:
        def run(conn: Connection) -> None:
            conn.execute(delete(factor_counters).where(factor_counters.c.factor_id == factor_id))
            conn.execute(delete(factors).where(factors.c.id == factor_id))

        await self._write(run)

    async def advance_counter(self, factor_id: str, field: str, value: int) -> bool:
        if not _COUNTER_NAME.match(field):
            raise StoreError(f"counter name {field!r} must match {_COUNTER_NAME.pattern}")
        params = {
            "b_factor": factor_id,
            "b_field": field,
            "b_path": f"$.{field}",
            "b_value": int(value),
        }
        stmt = self._upserts.advance_counter
        return await self._write(lambda conn: conn.execute(stmt, params).first() is not None)

    # -- failure counters ----------------------------------------------------------------

    async def record_failure(self, user_id: str, factor_type: str, *, now: float) -> int:
        params = {
            "user_id": user_id,
            "factor_type": factor_type,
            "count": 1,
            "blocked_until": None,
            "last_failure_at": now,
        }
        stmt = self._upserts.record_failure
        return await self._write(lambda conn: int(conn.execute(stmt, params).scalar_one()))

    async def reset_failures(self, user_id: str, factor_type: str) -> None:
        params = {"b_user": user_id, "b_type": factor_type}
        await self._write(lambda conn: conn.execute(stmts.RESET_FAILURES, params))

    async def failure_state(self, user_id: str, factor_type: str) -> FailureState:
        params = {"b_user": user_id, "b_type": factor_type}
        row = await self._read(lambda conn: conn.execute(stmts.FAILURE_STATE, params).first())
        if row is None:
            return FailureState()
        return FailureState(int(row._mapping["count"]), row.blocked_until, row.last_failure_at)

    async def set_blocked_until(self, user_id: str, factor_type: str, until: float | None) -> None:
        params = {
            "user_id": user_id,
            "factor_type": factor_type,
            "count": 0,
            "blocked_until": until,
            "last_failure_at": None,
        }
        stmt = self._upserts.set_blocked_until
        await self._write(lambda conn: conn.execute(stmt, params))

    async def claim_failure(
        self, user_id: str, factor_type: str, *, now: float, every: int, hold_until: float
    ) -> int | None:
        params = {
            "b_user": user_id,
            "b_type": factor_type,
            "b_now": float(now),
            "b_every": int(every),
            "b_hold": float(hold_until),
            "b_first": float(hold_until) if every == 1 else None,
        }
        row = await self._first(self._claims.claim, params, write=True)
        return None if row is None else int(row.claimed)

    async def raise_blocked_until(self, user_id: str, factor_type: str, until: float) -> None:
        params = {"b_user": user_id, "b_type": factor_type, "b_hold": float(until)}
        await self._execute(self._claims.raise_block, params, write=True)

    async def release_failure(self, user_id: str, factor_type: str) -> None:
        params = {"b_user": user_id, "b_type": factor_type}
        await self._execute(self._claims.release, params, write=True)

    async def settle_failures(self, user_id: str, factor_type: str, *, keep_from: float) -> None:
        params = {"b_user": user_id, "b_type": factor_type, "b_hold": float(keep_from)}
        await self._execute(self._claims.settle, params, write=True)

    # -- audit ---------------------------------------------------------------------------

    async def append_audit(self, event: Mapping[str, Any], *, now: float) -> None:
        params = {"at": now, "event": _json(event)}
        await self._write(lambda conn: conn.execute(stmts.INSERT_AUDIT, params))

    async def tail_audit(self, limit: int = 50) -> list[dict[str, Any]]:
        stmt = select(audit).order_by(audit.c.seq.desc()).limit(max(0, int(limit)))
        rows = await self._read(lambda conn: conn.execute(stmt).all())
        return [{**dict(row.event), "at": row.at, "seq": int(row.seq)} for row in reversed(rows)]
