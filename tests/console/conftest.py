"""Fixtures of the console tests: a running Provider and an admin with a passkey, signed
in (the pages' helpers: :mod:`tests.helpers.console_pages`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers.console_pages import ADMIN, Admin, sign_in
from tests.helpers.harness import Provider, running_provider
from tests.helpers.passkeys import enrol_passkey, use_passkeys


@pytest.fixture
async def provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Provider]:
    monkeypatch.setenv("STEPAUTH_OUTBOX", str(tmp_path / "outbox.jsonl"))
    async with running_provider(tmp_path) as running:
        use_passkeys(running)
        yield running


@pytest.fixture
async def admin(provider: Provider) -> Admin:
    user = await provider.create_user(ADMIN)
    await provider.store.set_user_role(user.id, "admin", True)
    passkey = await enrol_passkey(provider, user.id)
    await sign_in(provider.browser, ADMIN)
    return Admin(user, provider.browser, passkey)
