"""A Provider on SQLite, PostgreSQL or PostgreSQL + Redis for the reliability tests.

The black-box harness's Provider (:mod:`tests.helpers.harness`), with its store built
here so that the ephemeral kinds can be routed to a Redis server of the test's choosing.
"""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection, text

from tests.helpers.harness import ISSUER, Clock, Provider, config_data

__all__ = ["live_tokens", "provider_on"]


@asynccontextmanager
async def provider_on(
    tmp_path: Path,
    *,
    database_url: str | None = None,
    redis_url: str | None = None,
    redis_prefix: str = "stepauth:",
    clients: list[dict[str, Any]] | None = None,
    with_user: bool = True,
) -> AsyncIterator[Provider]:
    """A running Provider (with the user ``alice`` unless ``with_user`` is false: a second
    instance on the same database) on ``database_url`` (default: a fresh SQLite file), its
    codes and other ephemeral items in Redis when ``redis_url`` is given; ``clients``
    replaces the harness's clients."""
    from stepauth.provider.app import create_app
    from stepauth.provider.config import ProviderConfig
    from stepauth.store import open_store

    os.environ.setdefault("STEPAUTH_SECRET_KEY", base64.urlsafe_b64encode(b"k" * 32).decode())
    data = config_data(tmp_path / "stepauth.db")
    url = database_url or data["database"]["url"]
    data["database"] = {"url": url}
    if clients is not None:
        data["clients"] = clients
    if redis_url is not None:
        data["redis"] = {"url": redis_url, "prefix": redis_prefix}
    config = ProviderConfig.from_dict(data)
    store: Any = (
        await open_store(url, redis_url=redis_url, redis_prefix=redis_prefix)
        if redis_url is not None
        else await open_store(url)
    )
    clock = Clock()
    app = create_app(config, clock=clock, store=store, close_store=True)
    async with app.router.lifespan_context(app):
        browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER)
        provider = Provider(app=app, browser=browser, clock=clock, state=app.state.stepauth)
        try:
            if with_user:
                await provider.create_user()
            yield provider
        finally:
            await browser.aclose()
            for extra in provider.extra_clients:
                await extra.aclose()


async def live_tokens(provider: Provider) -> int:
    """How many refresh and access tokens the durable store would still honour."""

    def count(conn: Connection) -> int:
        query = text(
            "SELECT count(*) FROM items WHERE kind IN ('refresh_token', 'access_token')"
            " AND NOT revoked AND consumed_at IS NULL"
        )
        return int(conn.execute(query).scalar_one())

    return int(await provider.store.run_sync(count))
