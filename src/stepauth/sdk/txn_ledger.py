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
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Generic, Self, TypeVar

import redis
import redis.asyncio as aioredis
from sqlalchemy import (
    Column,
    Delete,
    Engine,
    Float,
    Insert,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
)
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


_EngineT = TypeVar("_EngineT", AsyncEngine, Engine)
_ClientT = TypeVar("_ClientT")


class _SQLLedger(ABC, Generic[_EngineT]):
    """What the async and sync SQL ledgers share: the engine, the clock and the statements."""

    def __init__(self, engine: _EngineT, *, clock: Callable[[], float] = time.time) -> None:
        _check_dialect(engine.dialect.name)
        self.engine: _EngineT = engine
        self.clock = clock
        self._owns_engine = False

    @staticmethod
    @abstractmethod
    def _connect(url: str) -> _EngineT:
        """A new engine for ``url``."""

    @classmethod
    def from_url(cls, url: str, *, clock: Callable[[], float] = time.time) -> Self:
        """A ledger on its own engine (async: ``sqlite+aiosqlite://…``; sync: ``sqlite:///…``;
        either: ``postgresql+psycopg://…``)."""
        ledger = cls(cls._connect(url), clock=clock)
        ledger._owns_engine = True
        return ledger

    def _consume_statement(self, txn: str, expires_at: float) -> Insert | None:
        """The single insert that records ``txn``, or ``None`` for a token already dead."""
        now = self.clock()
        if expires_at <= now:
            return None
        return _insert_once(self.engine.dialect.name, txn, now=now, expires_at=expires_at)

    def _purge_statement(self, now: float | None) -> Delete:
        cutoff = self.clock() if now is None else now
        return delete(used_txn).where(used_txn.c.expires_at <= cutoff)


class _RedisLedger(ABC, Generic[_ClientT]):
    """What the async and sync Redis ledgers share: the client, the key and the lifetime."""

    def __init__(
        self,
        client: _ClientT,
        *,
        prefix: str = "stepauth:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.clock = clock
        self._owns_client = False

    @staticmethod
    @abstractmethod
    def _connect(url: str) -> _ClientT:
        """A new client for ``url``."""

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = "stepauth:", clock: Callable[[], float] = time.time
    ) -> Self:
        ledger = cls(cls._connect(url), prefix=prefix, clock=clock)
        ledger._owns_client = True
        return ledger

    def key(self, txn: str) -> str:
        return f"{self.prefix}txn:{txn}"

    def _lifetime_ms(self, expires_at: float) -> int | None:
        """Milliseconds the record must live, or ``None`` for a token already dead.

        Relative lifetime (PX) measured on the ledger's clock, the one that judged the
        token's exp: the record's life does not depend on the Redis host's wall clock."""
        now = self.clock()
        if expires_at <= now:
            return None
        return _remaining_ms(expires_at, now)


class SQLTxnLedger(_SQLLedger[AsyncEngine]):
    """Used ``txn`` ids in a SQL table (SQLite or PostgreSQL through SQLAlchemy async)."""

    @staticmethod
    def _connect(url: str) -> AsyncEngine:
        return create_async_engine(url)

    async def create_schema(self) -> None:
        """Create the ``stepauth_used_txn`` table if it does not exist."""
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    async def consume(self, txn: str, *, expires_at: float) -> bool:
        statement = self._consume_statement(txn, expires_at)
        if statement is None:
            return False
        async with self.engine.begin() as conn:
            won = (await conn.execute(statement)).scalar_one_or_none()
        return won is not None

    async def purge(self, *, now: float | None = None) -> int:
        """Delete the records whose tokens have expired; returns how many."""
        async with self.engine.begin() as conn:
            result = await conn.execute(self._purge_statement(now))
        return int(result.rowcount)

    async def close(self) -> None:
        """Dispose of the engine if this ledger created it."""
        if self._owns_engine:
            await self.engine.dispose()


class RedisTxnLedger(_RedisLedger["aioredis.Redis[bytes]"]):
    """Used ``txn`` ids as Redis keys that expire with their tokens."""

    @staticmethod
    def _connect(url: str) -> aioredis.Redis[bytes]:
        return aioredis.Redis.from_url(url)

    async def consume(self, txn: str, *, expires_at: float) -> bool:
        lifetime = self._lifetime_ms(expires_at)
        if lifetime is None:
            return False
        return bool(await self.client.set(self.key(txn), b"1", nx=True, px=lifetime))

    async def close(self) -> None:
        """Close the connection pool if this ledger created it."""
        if self._owns_client:
            await self.client.aclose()  # type: ignore[attr-defined]  # redis>=5; stubs lag


class SyncSQLTxnLedger(_SQLLedger[Engine]):
    """:class:`SQLTxnLedger` for sync code (Flask, Django): the same table and statement on
    a sync SQLAlchemy engine (``sqlite:///…``, ``postgresql+psycopg://…``)."""

    @staticmethod
    def _connect(url: str) -> Engine:
        return create_engine(url)

    def create_schema(self) -> None:
        """Create the ``stepauth_used_txn`` table if it does not exist."""
        with self.engine.begin() as conn:
            metadata.create_all(conn)

    def consume(self, txn: str, *, expires_at: float) -> bool:
        statement = self._consume_statement(txn, expires_at)
        if statement is None:
            return False
        with self.engine.begin() as conn:
            won = conn.execute(statement).scalar_one_or_none()
        return won is not None

    def purge(self, *, now: float | None = None) -> int:
        """Delete the records whose tokens have expired; returns how many."""
        with self.engine.begin() as conn:
            result = conn.execute(self._purge_statement(now))
        return int(result.rowcount)

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()


class SyncRedisTxnLedger(_RedisLedger["redis.Redis[bytes]"]):
    """:class:`RedisTxnLedger` for sync code: ``SET {prefix}txn:{txn} 1 NX PX <ms>``."""

    @staticmethod
    def _connect(url: str) -> redis.Redis[bytes]:
        return redis.Redis.from_url(url)

    def consume(self, txn: str, *, expires_at: float) -> bool:
        lifetime = self._lifetime_ms(expires_at)
        if lifetime is None:
            return False
        return bool(self.client.set(self.key(txn), b"1", nx=True, px=lifetime))

    def close(self) -> None:
        if self._owns_client:
            self.client.close()
