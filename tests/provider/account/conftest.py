"""Fixtures of the /account tests: a running Provider (black-box harness) with a dev
outbox. The helpers that act like a browser on /account are in
:mod:`tests.helpers.account_pages`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers.harness import Provider, outbox_path, running_provider

__all__ = ["outbox_path", "provider"]


@pytest.fixture
async def provider(tmp_path: Path, outbox_path: Path) -> AsyncIterator[Provider]:
    async with running_provider(tmp_path) as running:
        yield running
