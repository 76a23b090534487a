"""The relational schema (SQLAlchemy Core tables) shared by the store and its migrations.

Times are epoch seconds (double precision). JSON columns hold payloads, session events,
factor data and audit events. Integer counters that must only move forward (TOTP time
step, WebAuthn signCount) live in ``factor_counters`` so one conditional upsert can
advance them atomically.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB

__all__ = [
    "audit",
    "factor_counters",
    "factors",
    "failures",
    "items",
    "metadata",
    "sessions",
    "signing_keys",
    "user_roles",
    "users",
]

JSONType = JSON().with_variant(JSONB(), "postgresql")

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("username", String(255), nullable=False, unique=True),
    Column("password_hash", String(512), nullable=True),
    Column("disabled", Boolean, nullable=False, server_default=false()),
    Column("created_at", Float, nullable=False),
)

#: Roles granted to users (``admin``: the operator console ``/admin``).
user_roles = Table(
    "user_roles",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("role", String(64), primary_key=True),
)

items = Table(
    "items",
    metadata,
    Column("kind", String(64), primary_key=True),
    Column("key", String(512), primary_key=True),
    Column("payload", JSONType, nullable=False),
    Column("grant_id", String(128), nullable=True),
    Column("user_id", String(64), nullable=True),
    Column("expires_at", Float, nullable=True),
    Column("consumed_at", Float, nullable=True),
    Column("revoked", Boolean, nullable=False, server_default=false()),
    Column("created_at", Float, nullable=False),
    Column("sid", String(64), nullable=True),
    Index("ix_items_grant_id", "grant_id"),
    Index("ix_items_expires_at", "expires_at"),
    Index("ix_items_sid", "sid"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("events", JSONType, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_seen_at", Float, nullable=False),
    Column("idle_timeout", Integer, nullable=False),
    Column("idle_expires_at", Float, nullable=False),
    Column("absolute_expires_at", Float, nullable=False),
    Column("sid", String(64), nullable=True),
    Index("ix_sessions_user_id", "user_id"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(128), primary_key=True),
    Column("alg", String(16), nullable=False),
    Column("public_jwk", JSONType, nullable=False),
    Column("private_enc", LargeBinary, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("activated_at", Float, nullable=True),
    Column("retired_at", Float, nullable=True),
)

factors = Table(
    "factors",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("label", String(255), nullable=False),
    Column("data", JSONType, nullable=False),
    Column("credential_id", String(1024), nullable=True, unique=True),
    Column("created_at", Float, nullable=False),
    Column("last_used_at", Float, nullable=True),
    Column("disabled", Boolean, nullable=False, server_default=false()),
    Index("ix_factors_user_id", "user_id"),
)

factor_counters = Table(
    "factor_counters",
    metadata,
    Column("factor_id", String(64), primary_key=True),
    Column("field", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

failures = Table(
    "failures",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("factor_type", String(32), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("blocked_until", Float, nullable=True),
    Column("last_failure_at", Float, nullable=True),
)

audit = Table(
    "audit",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("at", Float, nullable=False),
    Column("event", JSONType, nullable=False),
    Index("ix_audit_at", "at"),
)
