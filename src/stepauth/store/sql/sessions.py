"""Server-side sessions in SQL: :class:`SQLSessions`.

A session row holds the keyed hash of its id (:mod:`stepauth.store.at_rest`), never the
id the cookie carries. :meth:`SQLSessions.rotate_session` is ``DELETE … RETURNING`` the
old row, then an insert of the new one in the same transaction: of two concurrent
rotations only one deletes the row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from stepauth.store.records import Session, SessionSummary, session_sid
from stepauth.store.sql import statements as stmts
from stepauth.store.sql.database import Database, Values, new_id

__all__ = ["SQLSessions"]


def _session(row: Any, session_id: str) -> Session:
    """The session of ``row``, under its id as the cookie carries it (the row holds its
    keyed hash only)."""
    return Session(
        id=session_id,
        user_id=row.user_id,
        events=[dict(e) for e in row.events],
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        idle_expires_at=row.idle_expires_at,
        absolute_expires_at=row.absolute_expires_at,
        sid=row.sid,
    )


class SQLSessions:
    """:class:`~stepauth.store.repositories.SessionRepository` over SQLAlchemy."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_session(
        self,
        user_id: str,
        events: Sequence[Mapping[str, Any]],
        *,
        now: float,
        idle_timeout: int,
        absolute_timeout: int,
    ) -> Session:
        keys = self.db.keys()
        absolute = now + absolute_timeout
        session_id = new_id(32)
        values = {
            "id": keys.session_key(session_id),  # the cookie value itself is never stored
            "user_id": user_id,
            "events": [dict(e) for e in events],
            "created_at": now,
            "last_seen_at": now,
            "idle_timeout": int(idle_timeout),
            "idle_expires_at": min(now + idle_timeout, absolute),
            "absolute_expires_at": absolute,
            "sid": new_id(),
        }
        await self.db.write(lambda conn: conn.execute(stmts.INSERT_SESSION, values))
        return _session(Values(values), session_id)

    async def get_session(self, session_id: str, *, now: float) -> Session | None:
        params = {"b_id": self.db.keys().session_key(session_id), "b_now": now}
        row = await self.db.first(stmts.GET_SESSION, params)
        return None if row is None else _session(row, session_id)

    async def rotate_session(
        self, session_id: str, *, append_events: Sequence[Mapping[str, Any]], now: float
    ) -> Session | None:
        keys = self.db.keys()
        params = {"b_id": keys.session_key(session_id), "b_now": now}
        added = [dict(e) for e in append_events]
        fresh_id = new_id(32)

        def run(conn: Connection) -> Session | None:
            old = conn.execute(stmts.TAKE_SESSION, params).first()
            if old is None:
                return None  # unknown, expired, or another rotation won
            values = {
                "id": keys.session_key(fresh_id),
                "user_id": old.user_id,
                "events": [*(dict(e) for e in old.events), *added],
                "created_at": old.created_at,
                "last_seen_at": now,
                "idle_timeout": old.idle_timeout,
                "idle_expires_at": min(now + old.idle_timeout, old.absolute_expires_at),
                "absolute_expires_at": old.absolute_expires_at,
                "sid": old.sid or session_sid(session_id),  # stable across rotations
            }
            conn.execute(stmts.INSERT_SESSION, values)
            return _session(Values(values), fresh_id)

        return await self.db.write(run)

    async def touch_session(self, session_id: str, *, now: float) -> None:
        params = {"b_id": self.db.keys().session_key(session_id), "b_now": now}
        await self.db.execute(stmts.TOUCH_SESSION, params, write=True)

    async def delete_session(self, session_id: str) -> None:
        params = {"b_id": self.db.keys().session_key(session_id)}
        await self.db.write(lambda conn: conn.execute(stmts.DELETE_SESSION, params))

    async def delete_user_sessions(
        self, user_id: str, *, except_session_id: str | None = None
    ) -> int:
        return len(await self.end_user_sessions(user_id, except_session_id=except_session_id))

    async def end_user_sessions(
        self, user_id: str, *, except_session_id: str | None = None
    ) -> list[str]:
        kept = None if except_session_id is None else self.db.keys().session_key(except_session_id)
        params = {"b_user": user_id, "b_except": kept}

        def end(conn: Connection) -> list[str]:
            # One transaction: the sessions deleted are exactly those whose items are revoked
            # (DELETE … RETURNING, no window for a session committed in between). Every
            # stored session has its sid (revision 0003), so none is derived from its id.
            ended = conn.execute(stmts.END_USER_SESSIONS, params)
            sids = [row.sid for row in ended if row.sid]
            if sids:
                conn.execute(stmts.REVOKE_SIDS, {"b_sids": sids})
            return sids

        return await self.db.write(end)

    async def end_user_session(self, user_id: str, sid: str) -> bool:
        params = {"b_user": user_id, "b_sid": sid}

        def end(conn: Connection) -> bool:
            # as end_user_sessions: the session and its items go in one transaction
            if not conn.execute(stmts.END_USER_SESSION, params).all():
                return False
            conn.execute(stmts.REVOKE_SIDS, {"b_sids": [sid]})
            return True

        return await self.db.write(end)

    async def list_user_sessions(self, user_id: str, *, now: float) -> list[SessionSummary]:
        params = {"b_user": user_id, "b_now": now}
        rows = await self.db.read(lambda conn: conn.execute(stmts.USER_SESSIONS, params).all())
        return [
            SessionSummary(
                sid=row.sid,
                created_at=row.created_at,
                last_seen_at=row.last_seen_at,
                methods=tuple(
                    sorted({str(m) for e in row.events for m in dict(e).get("methods", ())})
                ),
            )
            for row in rows
        ]
