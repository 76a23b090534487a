"""An index on ``audit.at``: the friction report reads the audit log by time.

``stepauth friction report`` (:mod:`stepauth.audit.friction`) selects the events of a
period (``since <= at < until``); without the index that is a scan of the whole log.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_at", "audit", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_at", table_name="audit")
