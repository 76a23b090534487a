"""Session ``sid``: a session's stable identifier across id rotations, carried by items.

``sessions.sid`` survives every rotation of the session id, so the ``sid`` claim of tokens
issued before and after a step-up names the same session. ``items.sid`` tags codes and
tokens with the session they were issued in, so ending the session (RP-Initiated Logout)
revokes them in one statement.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("sid", sa.String(64), nullable=True))
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("sid", sa.String(64), nullable=True))
    op.create_index("ix_items_sid", "items", ["sid"])


def downgrade() -> None:
    op.drop_index("ix_items_sid", table_name="items")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("sid")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("sid")
