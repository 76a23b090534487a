"""Signing keys in SQL: :class:`SQLKeys` (the private part arrives encrypted)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from stepauth.store.records import KEY_STATES, KeyRecord, StoreError
from stepauth.store.schema import signing_keys
from stepauth.store.sql.database import Database

__all__ = ["SQLKeys"]


class SQLKeys:
    """:class:`~stepauth.store.repositories.KeyRepository` over SQLAlchemy."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_key(self, key: KeyRecord) -> None:
        if key.state not in KEY_STATES:
            raise StoreError(f"unknown key state {key.state!r}")
        stmt = insert(signing_keys).values(
            kid=key.kid,
            alg=key.alg,
            public_jwk=dict(key.public_jwk),
            private_enc=bytes(key.private_enc),
            state=key.state,
            created_at=key.created_at,
            activated_at=key.activated_at,
            retired_at=key.retired_at,
        )
        try:
            await self.db.write(lambda conn: conn.execute(stmt))
        except IntegrityError:
            raise StoreError(f"key {key.kid!r} already exists") from None

    async def list_keys(self) -> list[KeyRecord]:
        stmt = select(signing_keys).order_by(signing_keys.c.created_at, signing_keys.c.kid)
        rows = await self.db.read(lambda conn: conn.execute(stmt).all())
        return [
            KeyRecord(
                kid=row.kid,
                alg=row.alg,
                public_jwk=dict(row.public_jwk),
                private_enc=bytes(row.private_enc),
                state=row.state,
                created_at=row.created_at,
                activated_at=row.activated_at,
                retired_at=row.retired_at,
            )
            for row in rows
        ]

    async def set_key_state(self, kid: str, state: str, *, now: float) -> None:
        if state not in KEY_STATES:
            raise StoreError(f"unknown key state {state!r}")
        earlier = KEY_STATES[: KEY_STATES.index(state)]
        values: dict[str, Any] = {"state": state}
        if state == "active":
            values["activated_at"] = now
        if state == "retired":
            values["retired_at"] = now
        stmt = (
            update(signing_keys)
            .where(signing_keys.c.kid == kid, signing_keys.c.state.in_(earlier))
            .values(values)
        )
        await self.db.write(lambda conn: conn.execute(stmt))
