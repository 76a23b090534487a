"""Alembic environment: migrate the connection handed in by ``open_store``.

Run programmatically (``config.attributes["connection"]`` is a sync connection from
``AsyncConnection.run_sync``). Without one, ``sqlalchemy.url`` is opened with an async
engine so ``alembic -c …`` works from a shell too.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from stepauth.store.schema import metadata

#: PostgreSQL advisory lock id held while migrating, so instances starting together
#: migrate one after the other.
MIGRATION_LOCK = 0x5E9A07


def _migrate(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK})
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _migrate_url(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    given = context.config.attributes.get("connection")
    if given is not None:
        _migrate(given)
    else:
        asyncio.run(_migrate_url(str(context.config.get_main_option("sqlalchemy.url"))))
