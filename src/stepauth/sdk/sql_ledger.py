"""Consume-once ledgers in a SQL table (:mod:`stepauth.sdk.ledger`; the ``sql`` extra).

:class:`SQLLedger` (SQLAlchemy async; SQLite ≥ 3.35 or PostgreSQL) and :class:`SyncSQLLedger`
(a sync engine, for Flask and Django) share one ``stepauth_used_txn`` table whose PRIMARY
KEY is the consumed key (a token's ``txn``, or a browser grant's ``grant:<id>``);
``consume`` is ``INSERT … ON CONFLICT (txn) DO NOTHING RETURNING txn`` — a row comes back
only to the caller whose insert created it, across processes and hosts sharing the
database. ``create_schema()`` creates the table; ``purge()`` drops the rows whose approvals
can no longer be accepted. ``consume`` returns ``False`` (never a first use) for an
``expires_at`` already past.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Generic, Self, TypeVar

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

__all__ = ["SQLLedger", "SyncSQLLedger", "used_txn"]

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
            f"the SQL ledger needs SQLite or PostgreSQL, not {name!r}", key="database.url"
        )


def _insert_once(dialect: str, key: str, *, now: float, expires_at: float) -> Insert:
    """``INSERT … ON CONFLICT (txn) DO NOTHING RETURNING txn``: a row comes back only to
    the caller whose insert created it."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(used_txn)
        .values(txn=key, used_at=now, expires_at=expires_at)
        .on_conflict_do_nothing(index_elements=[used_txn.c.txn])
        .returning(used_txn.c.txn)
    )


_EngineT = TypeVar("_EngineT", AsyncEngine, Engine)


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

    def _consume_statement(self, key: str, expires_at: float) -> Insert | None:
        """The single insert that records ``key``, or ``None`` for an approval already dead."""
        now = self.clock()
        if expires_at <= now:
            return None
        return _insert_once(self.engine.dialect.name, key, now=now, expires_at=expires_at)

    def _purge_statement(self, now: float | None) -> Delete:
        cutoff = self.clock() if now is None else now
        return delete(used_txn).where(used_txn.c.expires_at <= cutoff)


class SQLLedger(_SQLLedger[AsyncEngine]):
    """Consumed keys in a SQL table (SQLite or PostgreSQL through SQLAlchemy async)."""

    @staticmethod
    def _connect(url: str) -> AsyncEngine:
        return create_async_engine(url)

    async def create_schema(self) -> None:
        """Create the ``stepauth_used_txn`` table if it does not exist."""
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    async def consume(self, key: str, *, expires_at: float) -> bool:
        statement = self._consume_statement(key, expires_at)
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


class SyncSQLLedger(_SQLLedger[Engine]):
    """:class:`SQLLedger` for sync code (Flask, Django): the same table and statement on
    a sync SQLAlchemy engine (``sqlite:///…``, ``postgresql+psycopg://…``)."""

    @staticmethod
    def _connect(url: str) -> Engine:
        return create_engine(url)

    def create_schema(self) -> None:
        """Create the ``stepauth_used_txn`` table if it does not exist."""
        with self.engine.begin() as conn:
            metadata.create_all(conn)

    def consume(self, key: str, *, expires_at: float) -> bool:
        statement = self._consume_statement(key, expires_at)
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
