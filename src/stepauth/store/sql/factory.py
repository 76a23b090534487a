"""Opening a store: :func:`open_store` (migrates), :func:`build_store` and
:func:`sql_store` (no I/O)."""

from __future__ import annotations

from typing import TYPE_CHECKING, overload

from alembic.util.exc import CommandError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from stepauth.keying import DEFAULT_KEY_ENV
from stepauth.store.adapter import Store
from stepauth.store.at_rest import AtRest
from stepauth.store.records import StoreError, StoreUnavailable
from stepauth.store.sql.database import Database
from stepauth.store.sql.engine import (
    DEFAULT_TIMEOUTS,
    Timeouts,
    database_url,
    postgresql_engine,
    sqlite_engines,
    unavailable,
)
from stepauth.store.sql.store import SQLStore

if TYPE_CHECKING:
    from stepauth.store.redis import RedisEphemeral

__all__ = ["build_store", "open_store", "sql_store"]


@overload
async def open_store(
    url: str,
    *,
    migrate_schema: bool = True,
    redis_url: None = None,
    redis_prefix: str = ...,
    secret: bytes | None = None,
    key_env: str = ...,
    timeouts: Timeouts = ...,
) -> SQLStore: ...


@overload
async def open_store(
    url: str,
    *,
    migrate_schema: bool = True,
    redis_url: str,
    redis_prefix: str = ...,
    secret: bytes | None = None,
    key_env: str = ...,
    timeouts: Timeouts = ...,
) -> Store: ...


async def open_store(
    url: str,
    *,
    migrate_schema: bool = True,
    redis_url: str | None = None,
    redis_prefix: str = "stepauth:",
    redis_retain: float | None = None,
    secret: bytes | None = None,
    key_env: str = DEFAULT_KEY_ENV,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
) -> Store:
    """Open the store at ``url`` and migrate its schema to head (works on an empty DB).

    With ``redis_url`` the ephemeral single-use kinds live in Redis, each kept
    ``redis_retain`` seconds past its expiry
    (:class:`~stepauth.store.routed.RoutedStore`). ``secret`` is the Provider's secret:
    the store keeps session ids and factor secrets only under keys derived from it
    (:mod:`stepauth.store.at_rest`); without it those operations are refused
    (:meth:`SQLStore.protect` gives it later). A secret given must be long enough; errors
    name ``key_env``, the variable it came from. ``timeouts`` bound every wait on the
    database and Redis (:class:`Timeouts`).
    """
    store = await _open_sql(
        url, migrate_schema=migrate_schema, secret=secret, key_env=key_env, timeouts=timeouts
    )
    if redis_url is None:
        return store
    from stepauth.store.routed import RoutedStore  # Redis only when asked for

    return RoutedStore(store, _ephemeral(redis_url, redis_prefix, redis_retain, timeouts.redis))


def sql_store(
    url: str,
    *,
    secret: bytes | None = None,
    key_env: str = DEFAULT_KEY_ENV,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
) -> SQLStore:
    """The SQL store for ``url`` without touching the database (no I/O, no migration)."""
    parsed = database_url(url)
    at_rest = None if secret is None else AtRest(secret, key_env=key_env)
    if parsed.get_backend_name() == "sqlite":
        sqlite = sqlite_engines(parsed, timeouts)
        db = Database(
            sync_engine=sqlite.pooled,
            threads=sqlite.threads,
            inline_engine=sqlite.inline,
            lane=sqlite.lane,
            at_rest=at_rest,
            timeouts=timeouts,
        )
    else:
        db = Database(
            async_engine=postgresql_engine(parsed, timeouts), at_rest=at_rest, timeouts=timeouts
        )
    return SQLStore(db)


def build_store(
    url: str,
    *,
    redis_url: str | None = None,
    redis_prefix: str = "stepauth:",
    redis_retain: float | None = None,
    secret: bytes | None = None,
    key_env: str = DEFAULT_KEY_ENV,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
) -> Store:
    """Like :func:`open_store` without I/O: the schema must already be migrated.

    For callers that need a store before their event loop runs (``stepauth serve``).
    """
    store = sql_store(url, secret=secret, key_env=key_env, timeouts=timeouts)
    if redis_url is None:
        return store
    from stepauth.store.routed import RoutedStore  # Redis only when asked for

    return RoutedStore(store, _ephemeral(redis_url, redis_prefix, redis_retain, timeouts.redis))


async def _open_sql(
    url: str, *, migrate_schema: bool, secret: bytes | None, key_env: str, timeouts: Timeouts
) -> SQLStore:
    store = sql_store(url, secret=secret, key_env=key_env, timeouts=timeouts)
    if migrate_schema:
        shown = database_url(url).render_as_string(hide_password=True)
        try:
            await store.migrate()
        except (OperationalError, InterfaceError, PoolTimeout) as exc:
            await store.close()
            if not unavailable(exc):  # SQLite: the file opens but is not this schema
                raise StoreError(
                    f"the database {shown} cannot be used: {_reason(exc)}",
                    error="database_invalid",
                ) from None
            raise StoreUnavailable(
                "database", f"cannot open the database {shown}: {_reason(exc)}"
            ) from None
        except DBAPIError as exc:  # not a database, corrupted, or not stepauth's schema
            await store.close()
            raise StoreError(
                f"the database {shown} cannot be used: {_reason(exc)}", error="database_invalid"
            ) from None
        except CommandError as exc:  # an alembic_version this stepauth does not ship
            await store.close()
            raise StoreError(
                f"the database {shown} is at an unknown schema revision ({exc}); "
                "is it from a newer stepauth?",
                error="unknown_schema_revision",
            ) from None
        except BaseException:
            await store.close()
            raise
    return store


def _reason(exc: DBAPIError | PoolTimeout) -> str:
    """The driver's message on one line (no SQL, no parameters)."""
    orig = getattr(exc, "orig", None)
    return " ".join(str(orig if orig is not None else exc).split())[:300]


def _ephemeral(url: str, prefix: str, retain: float | None, timeout: float) -> RedisEphemeral:
    """The Redis half of a routed store; ``retain``: seconds its items outlive their
    expiry (default :data:`stepauth.store.redis.RETAIN`); ``timeout``: its waits."""
    from stepauth.store.redis import RETAIN, RedisEphemeral  # optional: the redis extra

    return RedisEphemeral(url, prefix, timeout=timeout, retain=RETAIN if retain is None else retain)
