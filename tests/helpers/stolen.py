"""What a reader of the database sees: every row, read with the database's own driver."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url

__all__ = ["raw_rows", "sqlite_bytes"]


def raw_rows(url: str) -> str:
    """Every row of every table as text (``sqlite3`` / ``psycopg``, not the store)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with closing(sqlite3.connect(str(parsed.database))) as db:
            return "\n".join(db.iterdump())
    import psycopg

    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as db:
        tables = [
            row[0]
            for row in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        return "\n".join(
            str(row) for table in tables for row in db.execute(f'SELECT * FROM "{table}"')
        )


def sqlite_bytes(url: str) -> bytes:
    """The bytes of a SQLite database file and its WAL: what a copied file holds."""
    path = Path(str(make_url(url).database))
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
