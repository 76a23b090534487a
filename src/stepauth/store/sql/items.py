"""Single-use and expiring artefacts in SQL: :class:`SQLItems`.

Every single-use operation is ONE statement:

* :meth:`SQLItems.consume` — ``UPDATE items SET consumed_at=:now WHERE … AND consumed_at
  IS NULL AND (expires_at IS NULL OR expires_at > :now) AND revoked = false RETURNING
  payload, grant_id``; only when nothing is returned does a read-only look tell replayed,
  expired and missing apart.
* :meth:`SQLItems.any_live` — one ``SELECT … LIMIT 1`` over two ``(kind, key)`` at a time.
* :meth:`SQLItems.add` — ``INSERT … ON CONFLICT DO UPDATE … WHERE expires_at <= :now
  RETURNING``: a row comes back only when nothing live held the key.

Items of the kinds in :data:`~stepauth.store.at_rest.SEALED_KINDS` are sealed to their
``(kind, key)`` (:mod:`stepauth.store.at_rest`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from stepauth.store.at_rest import SEALED_KINDS
from stepauth.store.records import Consumed, Item
from stepauth.store.sql import statements as stmts
from stepauth.store.sql.database import Database

__all__ = ["SQLItems"]


class SQLItems:
    """:class:`~stepauth.store.repositories.ItemStore` over SQLAlchemy."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(
        self,
        kind: str,
        key: str,
        payload: Mapping[str, Any],
        *,
        expires_at: float | None,
        grant_id: str | None = None,
        user_id: str | None = None,
        sid: str | None = None,
    ) -> None:
        stored = payload
        if kind in SEALED_KINDS:
            stored = self.db.keys().seal_payload(kind, key, payload)
        params = {
            "kind": kind,
            "key": key,
            "payload": dict(stored),
            "grant_id": grant_id,
            "user_id": user_id,
            "expires_at": expires_at,
            "consumed_at": None,
            "revoked": False,
            "created_at": time.time(),
            "sid": sid,
        }
        await self.db.execute(self.db.upserts.put_item, params, write=True)

    async def get(self, kind: str, key: str, *, now: float) -> Item | None:
        params = {"b_kind": kind, "b_key": key, "b_now": now}
        row = await self.db.first(stmts.GET_ITEM, params)
        if row is None:
            return None
        payload = self._payload(kind, key, row.payload)
        if payload is None:
            return None
        return Item(
            kind=row.kind,
            key=row.key,
            payload=payload,
            grant_id=row.grant_id,
            user_id=row.user_id,
            expires_at=row.expires_at,
            consumed_at=row.consumed_at,
            created_at=row.created_at,
        )

    async def any_live(self, wanted: Sequence[tuple[str, str]], *, now: float) -> bool:
        for start in range(0, len(wanted), 2):
            pair = wanted[start : start + 2]
            if any(kind in SEALED_KINDS for kind, _ in pair):
                # a sealed payload counts only if it opens: read each as get() does
                for kind, key in pair:
                    if await self.get(kind, key, now=now) is not None:
                        return True
                continue
            params = {"b_kind": pair[0][0], "b_key": pair[0][1], "b_now": now}
            stmt = stmts.LIVE_ITEM
            if len(pair) == 2:
                params |= {"b_kind2": pair[1][0], "b_key2": pair[1][1]}
                stmt = stmts.LIVE_ITEM_OF_TWO
            if await self.db.first(stmt, params) is not None:
                return True
        return False

    async def consume(self, kind: str, key: str, *, now: float) -> Consumed:
        params = {"b_kind": kind, "b_key": key, "b_now": now}
        won = await self.db.first(stmts.CLAIM_ITEM, params, write=True)  # the one statement
        if won is not None:
            payload = self._payload(kind, key, won.payload)
            return Consumed("missing") if payload is None else Consumed("ok", payload, won.grant_id)
        row = await self.db.first(stmts.LOOK_ITEM, params)  # read-only: why did it fail?
        if row is None:
            return Consumed("missing")
        if row.consumed_at is not None:
            payload = self._payload(kind, key, row.payload)
            if payload is None:
                return Consumed("missing")
            return Consumed("replayed", payload, row.grant_id)
        if row.revoked:
            return Consumed("missing")
        if row.expires_at is not None and row.expires_at <= now:
            return Consumed("expired")
        return Consumed("missing")

    def _payload(self, kind: str, key: str, stored: Mapping[str, Any]) -> dict[str, Any] | None:
        """An item's payload as stored, opened when its kind is sealed (``None``: it does
        not open, or the store has no key; the item counts as missing)."""
        if kind not in SEALED_KINDS:
            return dict(stored)
        if self.db.at_rest is None:
            return None
        return self.db.at_rest.open_payload(kind, key, stored)

    async def add(
        self,
        kind: str,
        key: str,
        *,
        expires_at: float,
        now: float,
        data: Mapping[str, Any] | None = None,
    ) -> bool:
        payload = data or {}
        if kind in SEALED_KINDS:
            payload = self.db.keys().seal_payload(kind, key, payload)
        params = {
            "b_kind": kind,
            "b_key": key,
            "b_payload": dict(payload),
            "b_expires": float(expires_at),
            "b_now": float(now),
        }
        return await self.db.first(self.db.upserts.add_item, params, write=True) is not None

    async def delete(self, kind: str, key: str) -> None:
        params = {"b_kind": kind, "b_key": key}
        await self.db.execute(stmts.DELETE_ITEM, params, write=True)

    async def revoke_grant(self, grant_id: str) -> int:
        params = {"b_grant": grant_id}
        return await self.db.write(
            lambda conn: int(conn.execute(stmts.REVOKE_GRANT, params).rowcount)
        )

    async def revoke_session_items(self, sid: str) -> int:
        params = {"b_sid": sid}
        return await self.db.write(
            lambda conn: int(conn.execute(stmts.REVOKE_SID, params).rowcount)
        )
