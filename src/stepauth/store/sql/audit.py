"""The audit trail in SQL: :class:`SQLAudit`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from stepauth.store.schema import audit
from stepauth.store.sql import statements as stmts
from stepauth.store.sql.database import Database

__all__ = ["SQLAudit"]


class SQLAudit:
    """:class:`~stepauth.store.repositories.AuditRepository` over SQLAlchemy."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def append_audit(self, event: Mapping[str, Any], *, now: float) -> None:
        params = {"at": now, "event": dict(event)}
        await self.db.write(lambda conn: conn.execute(stmts.INSERT_AUDIT, params))

    async def tail_audit(self, limit: int = 50) -> list[dict[str, Any]]:
        stmt = select(audit).order_by(audit.c.seq.desc()).limit(max(0, int(limit)))
        rows = await self.db.read(lambda conn: conn.execute(stmt).all())
        return [_row(row) for row in reversed(rows)]

    async def audit_between(
        self, *, since: float, until: float, event: str | None = None
    ) -> list[dict[str, Any]]:
        stmt = select(audit).where(audit.c.at >= since, audit.c.at < until)
        if event is not None:
            stmt = stmt.where(audit.c.event["event"].as_string() == event)
        rows = await self.db.read(lambda conn: conn.execute(stmt.order_by(audit.c.seq)).all())
        return [_row(row) for row in rows]


def _row(row: Any) -> dict[str, Any]:
    return {**dict(row.event), "at": row.at, "seq": int(row.seq)}
