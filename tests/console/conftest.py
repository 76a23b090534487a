"""Fixtures of the console tests: a running Provider, an admin with a passkey, and
helpers that sign in and step up on ``/admin/reauth`` like a browser."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.harness import PASSWORD, Provider, running_provider
from tests.helpers.passkeys import enrol_passkey, unb64url, use_passkeys
from tests.helpers.soft_authenticator import SoftAuthenticator

__all__ = ["Admin", "audit_rows", "csrf_of", "sign_in", "step_up"]

ADMIN = "ada"


@pytest.fixture
async def provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Provider]:
    monkeypatch.setenv("STEPAUTH_OUTBOX", str(tmp_path / "outbox.jsonl"))
    async with running_provider(tmp_path) as running:
        use_passkeys(running)
        yield running


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]*)"', html)
    assert match, html[:400]
    return unescape(match.group(1))


async def sign_in(
    browser: httpx.AsyncClient, username: str, password: str = PASSWORD, expect: int = 303
) -> httpx.Response:
    """The console's sign-in page with the password."""
    page = await browser.get("/admin/reauth", params={"next": "/admin/users"})
    assert page.status_code == 200, page.text[:300]
    response = await browser.post(
        "/admin/reauth",
        params={"next": "/admin/users"},
        data={
            "csrf": csrf_of(page.text),
            "factor": "password",
            "username": username,
            "password": password,
        },
    )
    assert response.status_code == expect, f"{response.status_code}: {response.text[:400]}"
    return response


async def step_up(
    browser: httpx.AsyncClient, authenticator: SoftAuthenticator, location: str
) -> httpx.Response:
    """**Use passkey** on the step-up page at ``location`` (from a change's 303)."""
    page = await browser.get(location)
    assert page.status_code == 200, page.text[:300]
    assert 'data-factor="webauthn"' in page.text, page.text[:600]
    csrf = csrf_of(page.text)
    options = await browser.post("/admin/reauth/webauthn", json={"csrf": csrf})
    assert options.status_code == 200, options.text
    assertion = authenticator.get(unb64url(options.json()["publicKey"]["challenge"]))
    response = await browser.post(
        location, data={"csrf": csrf, "factor": "webauthn", "credential": json.dumps(assertion)}
    )
    assert response.status_code == 303, f"{response.status_code}: {response.text[:400]}"
    return response


class Admin:
    """A signed-in admin: its user, browser and passkey."""

    def __init__(self, user: Any, browser: httpx.AsyncClient, passkey: SoftAuthenticator):
        self.user = user
        self.browser = browser
        self.passkey = passkey


@pytest.fixture
async def admin(provider: Provider) -> Admin:
    user = await provider.create_user(ADMIN)
    await provider.store.set_user_role(user.id, "admin", True)
    passkey = await enrol_passkey(provider, user.id)
    await sign_in(provider.browser, ADMIN)
    return Admin(user, provider.browser, passkey)


async def audit_rows(provider: Provider, event: str) -> list[dict[str, Any]]:
    rows = await provider.store.tail_audit(200)
    return [r for r in rows if r.get("event") == event]
