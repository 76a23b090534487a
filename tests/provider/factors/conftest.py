"""Fixtures for the factor verifiers: the real store (SQLite) and a counter for claims."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require


@pytest.fixture(autouse=True)
def outbox_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Account notices (a block, a recovery code used) go to a per-test dev outbox."""
    path = tmp_path / "outbox.jsonl"
    monkeypatch.setenv("STEPAUTH_OUTBOX", str(path))
    return path


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Any]:
    """A real stepauth store on a fresh SQLite database (migrated to head)."""
    require(importlib.util.find_spec("stepauth.store") is not None, "stepauth.store")
    from stepauth.store import open_store

    # opened with a Provider secret, as the Provider opens it: factor secrets are sealed
    opened = await open_store(
        f"sqlite+aiosqlite:///{tmp_path / 'factors.db'}", secret=b"factor-tests-" + b"k" * 32
    )
    try:
        yield opened
    finally:
        await opened.close()


class StepCounter:
    """The ``advance_counter`` contract (advance only if greater, atomically) in memory.

    Used where a test pins down the verifier's own logic; the store-backed tests run
    the same scenarios against the real ``Store.advance_counter``.
    """

    def __init__(self) -> None:
        self.last = -1
        self._lock = asyncio.Lock()

    async def claim(self, step: int) -> bool:
        async with self._lock:
            if step <= self.last:
                return False
            self.last = step
            return True
