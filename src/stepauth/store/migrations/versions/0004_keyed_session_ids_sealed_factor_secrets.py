"""Session ids as keyed hashes, factor secrets sealed: a database reader gets neither.

From this revision on the store keeps ``HMAC-SHA-256(k, id)`` in ``sessions.id``, never
the cookie value, and seals the secret fields of factor data (the TOTP seed, the
out-of-band address) with AES-256-GCM bound to their row (:mod:`stepauth.store.at_rest`).
This revision converts what is already stored:

* **With the Provider's secret** — the case of ``stepauth serve``, which migrates at start
  with ``$<secrets.key_env>`` loaded (``open_store(url, secret=…)`` hands it to the
  migration) — every stored session id is replaced by its keyed hash, so signed-in users
  stay signed in, and every factor secret in clear is sealed, so TOTP keeps working.
* **Without it** (``alembic upgrade`` from a shell, a store opened without a secret, a
  ``stepauth`` command run without ``$<secrets.key_env>``) nothing can be hashed or
  sealed. Ending the sessions instead would sign every user out because a command ran in
  the wrong shell, and ending a factor would lock its owner out; so the migration stops
  with an error naming the way to run it (``stepauth serve``) and changes nothing. A
  database without sessions or factor secrets (a new one) migrates without the secret.

Items holding a secret in clear for a few minutes are deleted rather than converted: a
TOTP seed waiting for its first code (``totp_enrolment``, ten minutes; the user starts
the setup again) and a sign-out confirmation that carried the session id
(``logout_confirmation``; it now carries the ``sid`` only).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects.postgresql import JSONB

from stepauth.store.adapter import StoreError
from stepauth.store.at_rest import SEALED, SECRET_FIELDS, AtRest, open_factor

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")

_sessions = sa.table("sessions", sa.column("id", sa.String))
_factors = sa.table(
    "factors",
    sa.column("id", sa.String),
    sa.column("user_id", sa.String),
    sa.column("kind", sa.String),
    sa.column("data", JSONType),
)
_items = sa.table("items", sa.column("kind", sa.String))
#: Short-lived item kinds that held a secret in clear before this revision.
_DROPPED_KINDS = ("totp_enrolment", "logout_confirmation")


def _at_rest() -> AtRest | None:
    given = context.config.attributes.get("at_rest")
    return given if isinstance(given, AtRest) else None


def _clear_factors(conn: sa.Connection) -> list[Any]:
    rows = conn.execute(sa.select(_factors).where(_factors.c.kind.in_(sorted(SECRET_FIELDS)))).all()
    return [row for row in rows if any(f in (row.data or {}) for f in SECRET_FIELDS[row.kind])]


def upgrade() -> None:
    conn = op.get_bind()
    at_rest = _at_rest()
    clear = _clear_factors(conn)
    ids = [row.id for row in conn.execute(sa.select(_sessions.c.id))]
    if at_rest is None and (clear or ids):
        raise StoreError(
            f"revision 0004 hashes {len(ids)} stored session id(s) and seals the secrets "
            f"of {len(clear)} factor(s) under the Provider's secret: run `stepauth serve` "
            "(or open_store(url, secret=…)) with it once",
            error="migration_needs_secret",
        )
    if at_rest is not None:
        rename = sa.update(_sessions).where(_sessions.c.id == sa.bindparam("b_old"))
        for session_id in ids:
            conn.execute(
                rename.values(id=sa.bindparam("b_new")),
                {"b_old": session_id, "b_new": at_rest.session_key(session_id)},
            )
        for row in clear:
            sealed = at_rest.seal_factor(
                row.data, factor_id=row.id, user_id=row.user_id, kind=row.kind
            )
            conn.execute(sa.update(_factors).where(_factors.c.id == row.id).values(data=sealed))
    conn.execute(sa.delete(_items).where(_items.c.kind.in_(_DROPPED_KINDS)))


def downgrade() -> None:
    """Sessions end (a keyed hash does not give the id back); factor secrets are opened
    back into clear, which needs the Provider's secret."""
    conn = op.get_bind()
    at_rest = _at_rest()
    rows = conn.execute(sa.select(_factors)).all()
    sealed = [row for row in rows if SEALED in (row.data or {})]
    if sealed and at_rest is None:
        raise StoreError(
            "reverting revision 0004 needs the Provider's secret", error="migration_needs_secret"
        )
    conn.execute(sa.delete(_sessions))
    for row in sealed:
        data = open_factor(at_rest, row.data, factor_id=row.id, user_id=row.user_id, kind=row.kind)
        conn.execute(sa.update(_factors).where(_factors.c.id == row.id).values(data=data))
