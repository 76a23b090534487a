"""Migrating the schema with the Alembic revisions shipped in
:mod:`stepauth.store.migrations`, and refusing at start a database stepauth cannot use."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, inspect
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.pool import NullPool

from stepauth.store.at_rest import AtRest
from stepauth.store.records import StoreError
from stepauth.store.schema import metadata
from stepauth.store.sql.database import Database
from stepauth.store.sql.engine import quick_check

__all__ = ["MIGRATIONS", "migrate_blocking"]

#: The Alembic script directory shipped inside the package.
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_MIGRATION_LOCK = threading.Lock()


class _AlembicPreamble(logging.Filter):
    """Drop Alembic's per-run preamble ("Context impl SQLiteImpl.", "Will assume
    transactional DDL."): it says nothing to an operator, and a start that fails should
    print one line. "Running upgrade …" lines stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(("Context impl ", "Will assume "))


logging.getLogger("alembic.runtime.migration").addFilter(_AlembicPreamble())


def migrate_blocking(db: Database, revision: str) -> None:
    """Bring ``db``'s schema to ``revision`` (blocking: run it in a worker thread).

    Alembic's environment is process-global, so migrations in one process run one at a
    time; across processes PostgreSQL takes an advisory lock and SQLite the write lock
    (``BEGIN IMMEDIATE``). The store's secret, when it has one, is handed to the
    migrations (revision 0004).
    """
    with _MIGRATION_LOCK:
        if db.sync_engine is not None:
            with db.sync_engine.begin() as conn:
                _upgrade(conn, db.at_rest, revision)
            return
        assert db.async_engine is not None
        engine = create_sync_engine(
            db.async_engine.url,
            poolclass=NullPool,
            connect_args={"connect_timeout": max(2, round(db.timeouts.connect))},
        )
        try:
            with engine.begin() as conn:
                _upgrade(conn, db.at_rest, revision)
        finally:
            engine.dispose()


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


def _check_schema(connection: Connection) -> None:
    """Refuse a schema stamped at head that lacks a table or column stepauth uses, and a
    SQLite file that fails ``PRAGMA quick_check``: at start, rather than as an error on
    the first request that needs them."""
    if connection.dialect.name == "sqlite":
        quick_check(connection)
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
