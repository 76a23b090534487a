"""Rows as the schema's older revisions (0001-0003) stored them, written with raw SQL:
what a migration to :data:`HEAD` finds in a database it upgrades."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text

__all__ = ["HEAD", "insert_factor", "insert_session"]

#: The newest revision shipped.
HEAD = "0005"


def insert_session(
    conn: Connection, session_id: str, user_id: str, sid: str | None, *, now: float = 1.0e9
) -> None:
    """A session row as revisions 0001-0003 stored it: the cookie value in ``id``."""
    conn.execute(
        text(
            "INSERT INTO sessions (id, user_id, events, created_at, last_seen_at, idle_timeout,"
            " idle_expires_at, absolute_expires_at, sid) VALUES (:id, :user, '[]', :now, :now,"
            " 600, :idle, :absolute, :sid)"
        ),
        {
            "id": session_id,
            "user": user_id,
            "now": now,
            "idle": now + 600,
            "absolute": now + 3600,
            "sid": sid,
        },
    )


def insert_factor(conn: Connection, factor_id: str, user_id: str, kind: str, data: Any) -> None:
    """A factor row as revisions 0001-0003 stored it: its secrets in clear."""
    conn.execute(
        text(
            "INSERT INTO factors (id, user_id, kind, label, data, created_at, disabled)"
            " VALUES (:id, :user, :kind, 'old', :data, 1.0e9, false)"
        ),
        {"id": factor_id, "user": user_id, "kind": kind, "data": json.dumps(data)},
    )
