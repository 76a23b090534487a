"""Helpers of the operations tests: reading metric values, an app over a given store."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from stepauth.provider.app import create_app
from stepauth.provider.config import ProviderConfig
from tests.conformance.harness import ISSUER, Clock, config_data, provider

__all__ = ["app_over", "provider", "sample", "value"]


def sample(exposition: str, name: str, **labels: str) -> float:
    """The value of sample ``name`` with exactly ``labels`` in a text exposition (0 if absent)."""
    for family in text_string_to_metric_families(exposition):
        for metric in family.samples:
            if metric.name == name and metric.labels == labels:
                return float(metric.value)
    return 0.0


def value(app: Any, name: str, **labels: str) -> float:
    """The current value of ``name`` in the app's own registry (0 if never observed)."""
    found = app.state.metrics.registry.get_sample_value(name, labels)
    return float(found) if found is not None else 0.0


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
