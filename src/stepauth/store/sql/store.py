"""The SQL store: :class:`SQLStore`, one repository per part over one :class:`Database`.

Besides the :class:`~stepauth.store.adapter.Store` methods (forwarded by
:class:`~stepauth.store.facade.StoreFacade` to :class:`SQLItems`, :class:`SQLUsers`,
:class:`SQLSessions`, :class:`SQLKeys`, :class:`SQLFactors`, :class:`SQLFailures` and
:class:`SQLAudit`), it migrates its schema, runs an operation of its own
(:meth:`SQLStore.run_sync`) and purges what can no longer be used
(:meth:`SQLStore.purge`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection

from stepauth.store.at_rest import AtRest
from stepauth.store.facade import StoreFacade
from stepauth.store.sql import statements as stmts
from stepauth.store.sql.audit import SQLAudit
from stepauth.store.sql.database import Database
from stepauth.store.sql.factors import SQLFactors
from stepauth.store.sql.failures import SQLFailures
from stepauth.store.sql.items import SQLItems
from stepauth.store.sql.keys import SQLKeys
from stepauth.store.sql.migrate import migrate_blocking
from stepauth.store.sql.sessions import SQLSessions
from stepauth.store.sql.users import SQLUsers

__all__ = ["SQLStore"]

T = TypeVar("T")


def _rowcount(stmt: Any, params: Mapping[str, Any], conn: Connection) -> int:
    return int(conn.execute(stmt, params).rowcount)


class SQLStore(StoreFacade):
    """:class:`~stepauth.store.adapter.Store` over SQLAlchemy (see the module docstring)."""

    items: SQLItems
    users: SQLUsers
    sessions: SQLSessions
    signing_keys: SQLKeys
    factors: SQLFactors
    failures: SQLFailures
    audit: SQLAudit

    def __init__(self, db: Database) -> None:
        super().__init__(
            items=SQLItems(db),
            users=SQLUsers(db),
            sessions=SQLSessions(db),
            signing_keys=SQLKeys(db),
            factors=SQLFactors(db),
            failures=SQLFailures(db),
            audit=SQLAudit(db),
        )
        self.db = db

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def protect(self, at_rest: AtRest) -> None:
        """Keep session ids and factor secrets under ``at_rest`` from now on.

        A store already opened with another secret is refused: what it wrote would not
        open under this one (fail closed).
        """
        self.db.protect(at_rest)

    async def run_sync(self, fn: Callable[[Connection], T], *, write: bool = False) -> T:
        """Run ``fn(connection)`` in one transaction (committed when ``write``); see
        :meth:`Database.run_sync`."""
        return await self.db.run_sync(fn, write=write)

    async def migrate(self, revision: str = "head") -> None:
        """Bring the schema to the newest Alembic revision (no-op when already there), in
        a worker thread (:func:`stepauth.store.sql.migrate.migrate_blocking`)."""
        await asyncio.to_thread(migrate_blocking, self.db, revision)

    async def close(self) -> None:
        await self.db.close()

    async def purge_expired(self, *, now: float) -> int:
        """Delete items expired before ``now`` (housekeeping; not part of the protocol)."""
        params = {"b_now": now}
        return await self.db.write(partial(_rowcount, stmts.PURGE_ITEMS, params))

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
        ``vacuum``, PostgreSQL then vacuums each table it deleted from
        (:meth:`~stepauth.store.sql.database.Database.vacuum_after_purge`).
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
                count = await self.db.write(run)
                deleted[table] += count
                await self.db.checkpoint_after_purge()
                if count < batch:
                    break
                await asyncio.sleep(0)  # let requests run between batches
        if vacuum:
            await self.db.vacuum_after_purge([table for table, n in deleted.items() if n])
        return deleted
