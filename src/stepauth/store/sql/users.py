"""Accounts in SQL: :class:`SQLUsers`."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from stepauth.store.records import StoreError, User
from stepauth.store.schema import user_roles, users
from stepauth.store.sql import statements as stmts
from stepauth.store.sql.database import Database, new_id

__all__ = ["SQLUsers"]


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        username=row.username,
        password_hash=row.password_hash,
        disabled=bool(row.disabled),
        created_at=row.created_at,
    )


class SQLUsers:
    """:class:`~stepauth.store.repositories.UserRepository` over SQLAlchemy."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_user(self, username: str, password_hash: str | None) -> User:
        user = User(new_id(), username, password_hash, False, time.time())
        params = {
            "id": user.id,
            "username": username,
            "password_hash": password_hash,
            "disabled": False,
            "created_at": user.created_at,
        }
        try:
            await self.db.write(lambda conn: conn.execute(stmts.INSERT_USER, params))
        except IntegrityError:
            raise StoreError(f"user {username!r} already exists", error="user_exists") from None
        return user

    async def _one_user(self, stmt: Any, params: dict[str, Any]) -> User | None:
        row = await self.db.first(stmt, params)
        return None if row is None else _user(row)

    async def get_user(self, user_id: str) -> User | None:
        return await self._one_user(stmts.USER_BY_ID, {"b_id": user_id})

    async def get_user_by_username(self, username: str) -> User | None:
        return await self._one_user(stmts.USER_BY_NAME, {"b_username": username})

    async def list_users(self) -> list[User]:
        rows = await self.db.read(lambda conn: conn.execute(stmts.ALL_USERS).all())
        return [_user(row) for row in rows]

    async def _update_user(self, user_id: str, **values: Any) -> None:
        stmt = update(users).where(users.c.id == user_id).values(values)
        if await self.db.write(lambda conn: conn.execute(stmt).rowcount) == 0:
            raise StoreError("unknown user", error="unknown_user")

    async def set_user_disabled(self, user_id: str, disabled: bool) -> None:
        await self._update_user(user_id, disabled=disabled)

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        await self._update_user(user_id, password_hash=password_hash)

    async def user_roles(self, user_id: str) -> frozenset[str]:
        stmt = select(user_roles.c.role).where(user_roles.c.user_id == user_id)
        rows = await self.db.read(lambda conn: conn.execute(stmt).all())
        return frozenset(str(row.role) for row in rows)

    async def set_user_role(self, user_id: str, role: str, granted: bool) -> bool:
        if await self.get_user(user_id) is None:
            raise StoreError("unknown user", error="unknown_user")
        if not granted:
            stmt = delete(user_roles).where(
                (user_roles.c.user_id == user_id) & (user_roles.c.role == role)
            )
            return bool(await self.db.write(lambda conn: conn.execute(stmt).rowcount))
        try:
            await self.db.write(
                lambda conn: conn.execute(insert(user_roles), {"user_id": user_id, "role": role})
            )
        except IntegrityError:
            return False  # already granted
        return True
