"""Failure counters (lockout and throttling) in SQL: :class:`SQLFailures`.

:meth:`SQLFailures.record_failure` is ``INSERT … ON CONFLICT DO UPDATE SET count = count
+ 1 RETURNING count``; :meth:`SQLFailures.claim_failure` counts an attempt before it is
verified in one statement (:func:`stepauth.store.sql.statements.failure_claims`).
"""

from __future__ import annotations

from stepauth.store.records import FailureState
from stepauth.store.sql import statements as stmts
from stepauth.store.sql.database import Database

__all__ = ["SQLFailures"]


class SQLFailures:
    """:class:`~stepauth.store.repositories.FailureRepository` over SQLAlchemy."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record_failure(self, user_id: str, factor_type: str, *, now: float) -> int:
        params = {
            "user_id": user_id,
            "factor_type": factor_type,
            "count": 1,
            "blocked_until": None,
            "last_failure_at": now,
        }
        stmt = self.db.upserts.record_failure
        return await self.db.write(lambda conn: int(conn.execute(stmt, params).scalar_one()))

    async def reset_failures(self, user_id: str, factor_type: str) -> None:
        params = {"b_user": user_id, "b_type": factor_type}
        await self.db.write(lambda conn: conn.execute(stmts.RESET_FAILURES, params))

    async def failure_state(self, user_id: str, factor_type: str) -> FailureState:
        params = {"b_user": user_id, "b_type": factor_type}
        row = await self.db.read(lambda conn: conn.execute(stmts.FAILURE_STATE, params).first())
        if row is None:
            return FailureState()
        return FailureState(int(row._mapping["count"]), row.blocked_until, row.last_failure_at)

    async def set_blocked_until(self, user_id: str, factor_type: str, until: float | None) -> None:
        params = {
            "user_id": user_id,
            "factor_type": factor_type,
            "count": 0,
            "blocked_until": until,
            "last_failure_at": None,
        }
        stmt = self.db.upserts.set_blocked_until
        await self.db.write(lambda conn: conn.execute(stmt, params))

    async def claim_failure(
        self, user_id: str, factor_type: str, *, now: float, every: int, hold_until: float
    ) -> int | None:
        params = {
            "b_user": user_id,
            "b_type": factor_type,
            "b_now": float(now),
            "b_every": int(every),
            "b_hold": float(hold_until),
            "b_first": float(hold_until) if every == 1 else None,
        }
        row = await self.db.first(self.db.claims.claim, params, write=True)
        return None if row is None else int(row.claimed)

    async def raise_blocked_until(self, user_id: str, factor_type: str, until: float) -> None:
        params = {"b_user": user_id, "b_type": factor_type, "b_hold": float(until)}
        await self.db.execute(self.db.claims.raise_block, params, write=True)

    async def release_failure(self, user_id: str, factor_type: str) -> None:
        params = {"b_user": user_id, "b_type": factor_type}
        await self.db.execute(self.db.claims.release, params, write=True)

    async def settle_failures(self, user_id: str, factor_type: str, *, keep_from: float) -> None:
        params = {"b_user": user_id, "b_type": factor_type, "b_hold": float(keep_from)}
        await self.db.execute(self.db.claims.settle, params, write=True)
