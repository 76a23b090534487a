"""Storage: the :class:`Store` protocol, its records and the SQLAlchemy implementation.

``store = await open_store(url)`` opens SQLite (``sqlite+aiosqlite:///path``, WAL) or
PostgreSQL (``postgresql+psycopg://…``), migrates the schema to head with the Alembic
migrations shipped in :mod:`stepauth.store.migrations`, and returns a :class:`Store`.
``open_store(url, redis_url=…, redis_prefix=…)`` keeps the ephemeral single-use kinds in
Redis (:class:`stepauth.store.routed.RoutedStore` over
:class:`stepauth.store.redis.RedisEphemeral`). ``open_store(url, secret=…)`` keeps session
ids and factor secrets under keys derived from the Provider's secret
(:mod:`stepauth.store.at_rest`).
"""

from __future__ import annotations

from stepauth.store.adapter import (
    KEY_STATES,
    Consumed,
    ConsumeStatus,
    Factor,
    FailureState,
    Item,
    KeyRecord,
    KeyState,
    Session,
    SessionSummary,
    Store,
    StoreError,
    StoreUnavailable,
    User,
    session_sid,
)
from stepauth.store.sql import SQLStore, Timeouts, build_store, open_store

__all__ = [
    "KEY_STATES",
    "ConsumeStatus",
    "Consumed",
    "Factor",
    "FailureState",
    "Item",
    "KeyRecord",
    "KeyState",
    "SQLStore",
    "Session",
    "SessionSummary",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "Timeouts",
    "User",
    "build_store",
    "open_store",
    "session_sid",
]
