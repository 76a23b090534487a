"""The SQLAlchemy 2 implementation of :class:`~stepauth.store.adapter.Store`.

PostgreSQL (``postgresql+psycopg://…``) or SQLite (``sqlite+aiosqlite:///path``, WAL).
One module per concern:

* :mod:`~stepauth.store.sql.engine` — engines, and every SQLite rule (pragmas, the inline
  lane's connection, checkpoints, file mode ``0600``, ``quick_check``);
* :mod:`~stepauth.store.sql.lane` — prebuilt statements straight on ``sqlite3``;
* :mod:`~stepauth.store.sql.database` — how an operation runs (inline, in a worker
  thread, within a deadline) and when the database is unavailable;
* :mod:`~stepauth.store.sql.statements` — the prebuilt statements;
* one repository per part of the store: :mod:`~stepauth.store.sql.items`,
  :mod:`~stepauth.store.sql.users`, :mod:`~stepauth.store.sql.sessions`,
  :mod:`~stepauth.store.sql.keys`, :mod:`~stepauth.store.sql.factors`,
  :mod:`~stepauth.store.sql.failures`, :mod:`~stepauth.store.sql.audit`;
* :mod:`~stepauth.store.sql.store` — :class:`SQLStore`, the repositories behind one object,
  with migration (:mod:`~stepauth.store.sql.migrate`) and purge;
* :mod:`~stepauth.store.sql.factory` — :func:`open_store`, :func:`build_store`,
  :func:`sql_store`.

Every single-use operation is ONE statement (the item claim, the insert-if-absent, the
session rotation, the counter advance, the failure count). Opaque ids come from
:func:`secrets.token_urlsafe`. Nothing is cached in the process.

At rest (:mod:`stepauth.store.at_rest`): a session row holds the keyed hash of its id, a
factor row its secrets sealed to the row, and a SQLite database file, its WAL and its SHM
are created ``0600``. The keys come from the Provider's secret (``secret=`` or
:meth:`SQLStore.protect`); without them sessions and factor secrets are refused.
"""

from __future__ import annotations

from stepauth.store.sql.engine import BUSY_TIMEOUT_MS, SQLITE_THREADS, Timeouts
from stepauth.store.sql.factory import build_store, open_store, sql_store
from stepauth.store.sql.migrate import MIGRATIONS
from stepauth.store.sql.store import SQLStore

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
