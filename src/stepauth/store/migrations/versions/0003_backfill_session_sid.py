"""Give every session stored before ``sid`` existed its ``sid``.

A session created before revision 0002 has ``sid`` NULL; the codes and tokens it issued
since are tagged with the digest of its id (:func:`stepauth.store.session_sid`). Writing
that same digest into ``sessions.sid`` makes logout, "Sign out other sessions" and every
later rotation find them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stepauth.store.adapter import session_sid

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM sessions WHERE sid IS NULL"))]
    update = sa.text("UPDATE sessions SET sid = :sid WHERE id = :id AND sid IS NULL")
    for session_id in ids:
        conn.execute(update, {"sid": session_sid(session_id), "id": session_id})


def downgrade() -> None:
    """Nothing to undo: a backfilled ``sid`` equals what the code derives for NULL."""
