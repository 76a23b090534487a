"""Ledgers of used ``txn`` ids (:class:`~stepauth.sdk.transaction.TxnLedger`).

Single use is one atomic operation, never read-then-write, so of any number of concurrent
uses of one ``txn`` — across processes and hosts sharing the database — exactly one wins:

- :class:`SQLTxnLedger` (SQLAlchemy async; SQLite ≥ 3.35 or PostgreSQL): a
  ``stepauth_used_txn`` table with ``txn`` as PRIMARY KEY; ``consume`` is
  ``INSERT … ON CONFLICT (txn) DO NOTHING RETURNING txn`` — a row comes back only to the
  caller whose insert created it. ``await ledger.create_schema()`` creates the table;
  ``await ledger.purge()`` drops rows whose tokens can no longer be accepted.
- :class:`RedisTxnLedger`: ``SET {prefix}txn:{txn} 1 NX PX <ms until expires_at>`` — Redis
  answers ``OK`` to the first setter only and forgets the key when the token is dead. The
  lifetime is relative and measured on the ledger's clock (the one that judged ``exp``), so
  a Redis host whose wall clock runs ahead cannot drop a record early (``EXAT`` could).

:class:`SyncSQLTxnLedger` and :class:`SyncRedisTxnLedger` are the same ledgers for sync
code (Flask, Django): the same table, keys and single statement.

``consume`` returns ``False`` (never a first use) for an ``expires_at`` already past: such a
record would be forgotten at once and a replay would pass.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import redis
import redis.asyncio as aioredis
from sqlalchemy import Column, Engine, Float, Insert, MetaData, String, Table, create_engine, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from stepauth.errors import ConfigError
from stepauth.sdk.transaction import TXN_MAX_LENGTH

__all__ = [
    "RedisTxnLedger",
    "SQLTxnLedger",
    "SyncRedisTxnLedger",
    "SyncSQLTxnLedger",
    "used_txn",
]

metadata = MetaData()

#: One row per executed transaction; the primary key makes the second insert a no-op.
used_txn = Table(
    "stepauth_used_txn",
    metadata,
    Column("txn", String(TXN_MAX_LENGTH), primary_key=True),
    Column("used_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)

_DIALECTS = ("postgresql", "sqlite")


def _check_dialect(name: str) -> None:
    if name not in _DIALECTS:
        raise ConfigError(
            f"the txn ledger needs SQLite or PostgreSQL, not {name!r}", key="database.url"
        )


def _insert_once(dialect: str, txn: str, *, now: float, expires_at: float) -> Insert:
    """``INSERT … ON CONFLICT (txn) DO NOTHING RETURNING txn``: a row comes back only to
    the caller whose insert created it."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(used_txn)
        .values(txn=txn, used_at=now, expires_at=expires_at)
        .on_conflict_do_nothing(index_elements=[used_txn.c.txn])
        .returning(used_txn.c.txn)
    )


def _remaining_ms(expires_at: float, now: float) -> int:
    return math.ceil((expires_at - now) * 1000)


class SQLTxnLedger:
    """Used ``txn`` ids in a SQL table (SQLite or PostgreSQL through SQLAlchemy async)."""

    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], float] = time.time) -> None:
        _check_dialect(engine.dialect.name)
        self.engine = engine
        self.clock = clock
        self._owns_engine = False

    @classmethod
    def from_url(cls, url: str, *, clock: Callable[[], float] = time.time) -> SQLTxnLedger:
        """A ledger on its own engine (``sqlite+aiosqlite://…``, ``postgresql+psycopg://…``)."""
        ledger = cls(create_async_engine(url), clock=clock)
        ledger._owns_engine = True
        return ledger

    async def create_schema(self) -> None:
        """Create the ``stepauth_used_txn`` table if it does not exist."""
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    async def consume(self, txn: str, *, expires_at: float) -> bool:
        now = self.clock()
        if expires_at <= now:
            return False
        statement = _insert_once(self.engine.dialect.name, txn, now=now, expires_at=expires_at)
        async with self.engine.begin() as conn:
            won = (await conn.execute(statement)).scalar_one_or_none()
        return won is not None

    async def purge(self, *, now: float | None = None) -> int:
        """Delete the records whose tokens have expired; returns how many."""
        cutoff = self.clock() if now is None else now
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(used_txn).where(used_txn.c.expires_at <= cutoff))
        return int(result.rowcount)

    async def close(self) -> None:
        """Dispose of the engine if this ledger created it."""
        if self._owns_engine:
            await self.engine.dispose()


class RedisTxnLedger:
    """Used ``txn`` ids as Redis keys that expire with their tokens."""

    def __init__(
        self,
        client: aioredis.Redis,  # type: ignore[type-arg]
        *,
        prefix: str = "stepauth:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.clock = clock
        self._owns_client = False

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = "stepauth:", clock: Callable[[], float] = time.time
    ) -> RedisTxnLedger:
        ledger = cls(aioredis.Redis.from_url(url), prefix=prefix, clock=clock)
        ledger._owns_client = True
        return ledger

    def key(self, txn: str) -> str:
        return f"{self.prefix}txn:{txn}"

    async def consume(self, txn: str, *, expires_at: float) -> bool:
        now = self.clock()
        if expires_at <= now:
            return False
        # Relative lifetime (PX) measured on the caller's clock, the one that judged the
        # token's exp: the record's life does not depend on the Redis host's wall clock.
        won = await self.client.set(self.key(txn), b"1", nx=True, px=_remaining_ms(expires_at, now))
        return bool(won)

    async def close(self) -> None:
        """Close the connection pool if this ledger created it."""
        if self._owns_client:
            await self.client.aclose()  # type: ignore[attr-defined]  # redis>=5; stubs lag


class SyncSQLTxnLedger:
    """:class:`SQLTxnLedger` for sync code (Flask, Django): the same table and statement on
    a sync SQLAlchemy engine (``sqlite:///…``, ``postgresql+psycopg://…``)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        _check_dialect(engine.dialect.name)
        self.engine = engine
        self.clock = clock
        self._owns_engine = False

    @classmethod
    def from_url(cls, url: str, *, clock: Callable[[], float] = time.time) -> SyncSQLTxnLedger:
        ledger = cls(create_engine(url), clock=clock)
        ledger._owns_engine = True
        return ledger

    def create_schema(self) -> None:
        """Create the ``stepauth_used_txn`` table if it does not exist."""
        with self.engine.begin() as conn:
            metadata.create_all(conn)

    def consume(self, txn: str, *, expires_at: float) -> bool:
        now = self.clock()
        if expires_at <= now:
            return False
        statement = _insert_once(self.engine.dialect.name, txn, now=now, expires_at=expires_at)
        with self.engine.begin() as conn:
            won = conn.execute(statement).scalar_one_or_none()
        return won is not None

    def purge(self, *, now: float | None = None) -> int:
        """Delete the records whose tokens have expired; returns how many."""
        cutoff = self.clock() if now is None else now
        with self.engine.begin() as conn:
            result = conn.execute(delete(used_txn).where(used_txn.c.expires_at <= cutoff))
        return int(result.rowcount)

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()


class SyncRedisTxnLedger:
    """:class:`RedisTxnLedger` for sync code: ``SET {prefix}txn:{txn} 1 NX PX <ms>``."""

    def __init__(
        self,
        client: redis.Redis,  # type: ignore[type-arg]
        *,
        prefix: str = "stepauth:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.clock = clock
        self._owns_client = False

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = "stepauth:", clock: Callable[[], float] = time.time
    ) -> SyncRedisTxnLedger:
        ledger = cls(redis.Redis.from_url(url), prefix=prefix, clock=clock)
        ledger._owns_client = True
        return ledger

    def key(self, txn: str) -> str:
        return f"{self.prefix}txn:{txn}"

    def consume(self, txn: str, *, expires_at: float) -> bool:
        now = self.clock()
        if expires_at <= now:
            return False
        won = self.client.set(self.key(txn), b"1", nx=True, px=_remaining_ms(expires_at, now))
        return bool(won)

    def close(self) -> None:
        if self._owns_client:
            self.client.close()
