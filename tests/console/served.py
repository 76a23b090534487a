"""The Provider under uvicorn for the console's Chromium test and its screenshots:
users seeded (some with the admin role), then served at ``http://localhost:PORT``."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stepauth.provider.factors.password import hash_password
from stepauth.store import open_store
from tests.conftest import free_port
from tests.helpers.harness import PASSWORD, config_data

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
    import uvicorn

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
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped during startup"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield issuer, url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
