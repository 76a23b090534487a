"""Helpers of the operations tests: reading metric values, an app over a given store."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from stepauth.provider.app import create_app
from stepauth.provider.config import ProviderConfig
from tests.helpers.harness import ISSUER, Clock, config_data, provider
from tests.helpers.metrics import sample, value

__all__ = ["app_over", "provider", "sample", "value"]


@asynccontextmanager
async def app_over(
    tmp_path: Path, *, store: Any = None, **overrides: Any
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """A Provider (fixed clock) over ``store`` when given; the app and a client over ASGI."""
    os.environ.setdefault("STEPAUTH_SECRET_KEY", base64.urlsafe_b64encode(b"k" * 32).decode())
    config = ProviderConfig.from_dict(config_data(tmp_path / "stepauth.db", **overrides))
    app = create_app(config, store=store, clock=Clock(), close_store=store is not None)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
            yield app, client
