"""Store fixtures: every store test runs on SQLite (a tmp file) and on PostgreSQL.

Stores are opened with :data:`SECRET`, the Provider's secret, as the Provider opens them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stepauth.store import SQLStore, open_store

#: The Provider's secret the store fixtures are opened with.
SECRET = b"store-tests-secret-" + b"k" * 32


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'stepauth.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SQLStore]:
    opened = await open_store(store_url, secret=SECRET)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def other_store(store_url: str, store: SQLStore) -> AsyncIterator[SQLStore]:
    """A second, independent store on the same database (another Provider instance)."""
    opened = await open_store(store_url, secret=SECRET)
    try:
        yield opened
    finally:
        await opened.close()
