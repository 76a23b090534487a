"""Factors in SQL: :class:`SQLFactors`.

A factor row holds its secrets sealed to the row (:mod:`stepauth.store.at_rest`).
:meth:`SQLFactors.advance_counter` is ``INSERT … ON CONFLICT DO UPDATE … WHERE value <
excluded.value RETURNING value`` on ``factor_counters``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, update
from sqlalchemy.exc import IntegrityError

from stepauth.store.at_rest import SEALED, SECRET_FIELDS, open_factor
from stepauth.store.records import Factor, StoreError
from stepauth.store.schema import factor_counters, factors
from stepauth.store.sql import statements as stmts
from stepauth.store.sql.database import Database, new_id

__all__ = ["SQLFactors"]

_COUNTER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def _with_counters(data: dict[str, Any], counters: Mapping[str, int]) -> dict[str, Any]:
    """``data`` with each advanced counter at its high-water mark."""
    for name, value in counters.items():
        current = data.get(name)
        if isinstance(current, int) and not isinstance(current, bool):
            value = max(value, current)
        data[name] = value
    return data


class SQLFactors:
    """:class:`~stepauth.store.repositories.FactorRepository` over SQLAlchemy."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _factors(self, conn: Connection, stmt: Any, params: dict[str, Any]) -> list[Factor]:
        rows = conn.execute(stmt, params).all()
        if not rows:
            return []
        counters: dict[str, dict[str, int]] = {}
        for c in conn.execute(stmts.COUNTERS_OF, {"b_ids": [row.id for row in rows]}).all():
            counters.setdefault(c.factor_id, {})[c.field] = int(c.value)
        return [
            Factor(
                id=row.id,
                user_id=row.user_id,
                kind=row.kind,
                label=row.label,
                data=_with_counters(
                    self._opened(row),
                    counters.get(row.id, {}),
                ),
                credential_id=row.credential_id,
                created_at=row.created_at,
                last_used_at=row.last_used_at,
                disabled=bool(row.disabled),
            )
            for row in rows
        ]

    def _opened(self, row: Any) -> dict[str, Any]:
        """The factor data of ``row`` with its secrets opened."""
        return open_factor(
            self.db.at_rest, row.data, factor_id=row.id, user_id=row.user_id, kind=row.kind
        )

    async def add_factor(
        self,
        user_id: str,
        kind: str,
        data: Mapping[str, Any],
        *,
        label: str,
        credential_id: str | None = None,
        now: float,
    ) -> Factor:
        factor_id = new_id()
        stored = self._sealed(data, factor_id=factor_id, user_id=user_id, kind=kind)
        params = {
            "id": factor_id,
            "user_id": user_id,
            "kind": kind,
            "label": label,
            "data": stored,
            "credential_id": credential_id,
            "created_at": now,
            "last_used_at": None,
            "disabled": False,
        }

        try:
            await self.db.write(lambda conn: conn.execute(stmts.INSERT_FACTOR, params))
        except IntegrityError:
            raise StoreError(
                "credential is already registered", error="credential_exists"
            ) from None
        return Factor(factor_id, user_id, kind, label, dict(data), credential_id, now)

    async def list_factors(self, user_id: str) -> list[Factor]:
        params = {"b_user": user_id}
        return await self.db.read(lambda conn: self._factors(conn, stmts.FACTORS_OF_USER, params))

    async def get_factor(self, factor_id: str) -> Factor | None:
        params = {"b_id": factor_id}
        found = await self.db.read(lambda conn: self._factors(conn, stmts.FACTOR_BY_ID, params))
        return found[0] if found else None

    async def get_factor_by_credential_id(self, credential_id: str) -> Factor | None:
        params = {"b_credential": credential_id}
        found = await self.db.read(
            lambda conn: self._factors(conn, stmts.FACTOR_BY_CREDENTIAL, params)
        )
        return found[0] if found else None

    async def update_factor(
        self,
        factor_id: str,
        *,
        data: Mapping[str, Any] | None = None,
        label: str | None = None,
        last_used_at: float | None = None,
        disabled: bool | None = None,
    ) -> None:
        values: dict[str, Any] = {}
        if label is not None:
            values["label"] = label
        if last_used_at is not None:
            values["last_used_at"] = last_used_at
        if disabled is not None:
            values["disabled"] = disabled
        if not values and data is None:
            return

        def run(conn: Connection) -> int:
            if data is not None:  # sealed for its row: the owner and kind are read first
                owner = conn.execute(stmts.FACTOR_BY_ID, {"b_id": factor_id}).first()
                if owner is None:
                    return 0
                values["data"] = self._sealed(
                    data, factor_id=factor_id, user_id=owner.user_id, kind=owner.kind
                )
            stmt = update(factors).where(factors.c.id == factor_id).values(values)
            return int(conn.execute(stmt).rowcount)

        if await self.db.write(run) == 0:
            raise StoreError("unknown factor", error="unknown_factor")

    def _sealed(
        self, data: Mapping[str, Any], *, factor_id: str, user_id: str, kind: str
    ) -> dict[str, Any]:
        """Factor data as stored: secret fields sealed for this row (refused without a key)."""
        if not any(field in data for field in SECRET_FIELDS.get(kind, ())):
            return {k: v for k, v in data.items() if k != SEALED}
        return self.db.keys().seal_factor(data, factor_id=factor_id, user_id=user_id, kind=kind)

    async def remove_factor(self, factor_id: str) -> None:
        def run(conn: Connection) -> None:
            conn.execute(delete(factor_counters).where(factor_counters.c.factor_id == factor_id))
            conn.execute(delete(factors).where(factors.c.id == factor_id))

        await self.db.write(run)

    async def advance_counter(self, factor_id: str, field: str, value: int) -> bool:
        if not _COUNTER_NAME.match(field):
            raise StoreError(f"counter name {field!r} must match {_COUNTER_NAME.pattern}")
        params = {
            "b_factor": factor_id,
            "b_field": field,
            "b_path": f"$.{field}",
            "b_value": int(value),
        }
        stmt = self.db.upserts.advance_counter
        return await self.db.write(lambda conn: conn.execute(stmt, params).first() is not None)
