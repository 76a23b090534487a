"""The end of the app's lifespan: after the last in-flight request, leave storage clean.

uvicorn stops accepting connections on SIGTERM and lets the requests in flight finish
(``[server] shutdown_timeout``) before the lifespan's shutdown runs. There the store is
closed, then a SQLite database gets a ``PRAGMA wal_checkpoint(TRUNCATE)``: every
committed page is copied into the main file and the ``-wal`` file cut to zero bytes, so
a copy or backup of the ``.db`` file alone is complete (SQLite, "Write-Ahead Logging"
§ checkpointing).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from stepauth.store.sql.engine import truncate_wal

__all__ = ["checkpoint_sqlite", "sqlite_path"]

_log = logging.getLogger("stepauth.shutdown")


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite database URL (``None`` for PostgreSQL or ``:memory:``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    return database if database and database != ":memory:" else None


def checkpoint_sqlite(url: str) -> bool:
    """Checkpoint and truncate the WAL of the SQLite database at ``url``.

    Runs once every pooled connection is closed (nothing can hold a read mark that would
    stop the truncation). Returns whether the checkpoint completed.
    """
    path = sqlite_path(url)
    if path is None or not Path(path).exists():
        return False
    try:
        complete = truncate_wal(path, timeout=5)
    except sqlite3.Error as exc:
        _log.warning("shutdown: WAL checkpoint failed (%s)", type(exc).__name__)
        return False
    if not complete:
        _log.warning("shutdown: WAL checkpoint incomplete (database busy)")
    return complete
