"""The direct SQLite lane: prebuilt statements on one raw ``sqlite3`` connection.

The hot operations of a code flow (sessions, users, single-use items) run the store's
prebuilt SQLAlchemy statements (:mod:`stepauth.store.sql.statements`), compiled once to SQLite
SQL, straight on a ``sqlite3`` connection in autocommit mode: each statement is its own
transaction, as atomic as before (the single-use claim is still ONE statement). This skips
SQLAlchemy's per-execution work (connection checkout, execution context, result
processing), which costs several times the statement itself. Values bound for JSON
columns are serialized here, and JSON result columns decoded, exactly as the SQLAlchemy
``JSON`` type does on SQLite, so both lanes read each other's rows.

The connection never waits for a lock (``busy_timeout=0``); :class:`Busy` tells the
caller to run the operation through SQLAlchemy instead, whose worker threads wait.

Its pragmas and the file's mode are the engine's (:mod:`stepauth.store.sql.engine`):
the lane is given them when it is built.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.dialects import sqlite

__all__ = ["Busy", "Rows", "SQLiteLane"]

_DIALECT = sqlite.dialect(paramstyle="qmark")


class Busy(Exception):
    """The lane cannot run now (a lock held elsewhere, or another thread is using it)."""


class Rows:
    """Result rows with attribute access by column name (like SQLAlchemy ``Row``)."""

    __slots__ = ("__dict__",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.__dict__.update(values)


@dataclass(frozen=True, slots=True)
class _Prepared:
    sql: str
    order: tuple[str, ...]
    json_columns: frozenset[str]
    #: values the statement itself binds (``values(grant_id=None)``)
    fixed: Mapping[str, Any]


def _prepare(stmt: Any, column_keys: Sequence[str] | None) -> _Prepared:
    compiled = stmt.compile(dialect=_DIALECT, column_keys=column_keys)
    returned = getattr(stmt, "exported_columns", ())
    json_columns = frozenset(c.name for c in returned if isinstance(c.type, JSON))
    order = tuple(compiled.positiontup or ())
    fixed = {name: _bind(value) for name, value in compiled.params.items() if value is not None}
    return _Prepared(str(compiled), order, json_columns, fixed)


_JSON_VALUES = (dict, list)


def _bind(value: Any) -> Any:
    """A parameter as SQLite takes it: a dict or a list as its JSON text."""
    return json.dumps(value) if isinstance(value, _JSON_VALUES) else value


class SQLiteLane:
    """One raw connection for the calling (event loop) thread; see the module docstring."""

    def __init__(
        self, path: str, *, pragmas: Sequence[str], on_open: Callable[[str], None]
    ) -> None:
        """``pragmas`` run when the connection opens, after ``on_open(path)``
        (:func:`stepauth.store.sql.engine.sqlite_engines` gives both)."""
        self.path = path
        self._pragmas = tuple(pragmas)
        self._on_open = on_open
        self._connection: sqlite3.Connection | None = None  # opened on first use
        self._lock = threading.Lock()
        self._prepared: dict[tuple[int, tuple[str, ...]], _Prepared] = {}

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            self._on_open(self.path)
            db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=0
            )
            for pragma in self._pragmas:
                db.execute(pragma)
            self._connection = db
        return self._connection

    def _get(self, stmt: Any, params: Mapping[str, Any]) -> _Prepared:
        keys = tuple(params)
        cache_key = (id(stmt), keys)
        prepared = self._prepared.get(cache_key)
        if prepared is None:
            # statements are module-level constants, so ids are stable and few
            # bare INSERTs take their columns from the parameter names
            columns = None if all(k.startswith("b_") for k in keys) else list(keys)
            prepared = self._prepared[cache_key] = _prepare(stmt, columns)
        return prepared

    def execute(self, stmt: Any, params: Mapping[str, Any]) -> tuple[list[Rows], int]:
        """Run one prebuilt statement; returns (rows, rowcount). Raises :class:`Busy`."""
        if not self._lock.acquire(blocking=False):
            raise Busy
        try:
            # the cache hit and the open connection inline: this runs for every query
            prepared = self._prepared.get((id(stmt), tuple(params))) or self._get(stmt, params)
            fixed = prepared.fixed
            args = [
                (json.dumps(value) if isinstance(value := params[name], _JSON_VALUES) else value)
                if name in params
                else fixed.get(name)
                for name in prepared.order
            ]
            try:
                cursor = (self._connection or self._db()).execute(prepared.sql, args)
                raw = cursor.fetchall()
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    raise Busy from exc
                raise
            if not raw:
                return [], cursor.rowcount
            names = [d[0] for d in cursor.description]
            decode = prepared.json_columns
            rows = []
            for row in raw:
                values = dict(zip(names, row, strict=True))
                for name in decode:
                    if values.get(name) is not None:
                        values[name] = json.loads(values[name])
                rows.append(Rows(values))
            return rows, cursor.rowcount
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
