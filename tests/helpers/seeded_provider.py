"""The Provider under uvicorn for the Chromium tests of /account and /admin and the console
screenshots: users seeded (some with the admin role), served at ``http://localhost:PORT``."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stepauth.provider.factors.password import hash_password
from stepauth.store import open_store
from tests.conftest import free_port
from tests.helpers.harness import PASSWORD, config_data
from tests.helpers.served import ServedApp

__all__ = ["serve_provider", "stored"]


def _secret() -> bytes:
    return os.environ["STEPAUTH_SECRET_KEY"].encode()


def stored(url: str, work: Any) -> Any:
    """Run ``work(store)`` on the served Provider's database (opened, then closed)."""

    async def go() -> Any:
        store = await open_store(url, secret=_secret())
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(go())


@contextmanager
def serve_provider(
    directory: Path, *, users: Sequence[str], admins: Sequence[str], **overrides: Any
) -> Iterator[tuple[str, str]]:
    """Yield (issuer, database url) of a served Provider whose ``users`` have the test
    password and whose ``admins`` also have the admin role. ``STEPAUTH_SECRET_KEY``
    must be set."""
    from stepauth.provider.app import create_app
    from stepauth.provider.config import ProviderConfig

    port = free_port()
    issuer = f"http://localhost:{port}"
    data = config_data(directory / "stepauth.db", issuer=issuer, **overrides)
    url = data["database"]["url"]

    async def seed(store: Any) -> None:
        for name in users:
            user = await store.create_user(name, hash_password(PASSWORD))
            if name in admins:
                await store.set_user_role(user.id, "admin", True)

    stored(url, seed)
    app = create_app(ProviderConfig.from_dict(data))
    served = ServedApp(app, port=port, lifespan="on")
    try:
        yield issuer, url
    finally:
        served.stop()
