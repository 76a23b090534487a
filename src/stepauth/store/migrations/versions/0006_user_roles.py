"""Roles of users: ``user_roles`` (``admin`` opens the operator console ``/admin``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(64), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("user_roles")
