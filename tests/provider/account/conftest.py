"""Fixtures of the /account tests: a running Provider (black-box harness), a dev outbox,
and helpers that sign in through ``/account/reauth`` like a browser."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stepauth.provider.factors import totp
from stepauth.provider.notices import read_outbox
from tests.helpers.account_pages import account_page, csrf_of, error_of, field, reauth
from tests.helpers.harness import (
    ISSUER,
    PASSWORD,
    USERNAME,
    Provider,
    outbox_path,
    running_provider,
)
from tests.helpers.passkeys import unb64url
from tests.helpers.soft_authenticator import SoftAuthenticator

__all__ = [
    "account_page",
    "add_passkey",
    "csrf_of",
    "error_of",
    "field",
    "outbox",
    "outbox_path",
    "reauth",
    "reauth_passkey",
    "sign_in",
    "step_up_totp",
]


@pytest.fixture
async def provider(tmp_path: Path, outbox_path: Path) -> AsyncIterator[Provider]:
    async with running_provider(tmp_path) as running:
        yield running


def outbox() -> list[str]:
    return [str(m["message"]) for m in read_outbox()]


async def sign_in(provider: Provider, browser: httpx.AsyncClient | None = None, **user: Any) -> Any:
    """Create the user and sign in on /account with the password; returns the user."""
    created = await provider.create_user(**user)
    await reauth(
        browser or provider.browser,
        "password",
        username=user.get("username", USERNAME),
        password=user.get("password", PASSWORD),
    )
    return created


async def step_up_totp(
    provider: Provider, params: totp.TotpParams, browser: httpx.AsyncClient | None = None
) -> None:
    """The authenticator app's code on /account/reauth (the next 30 s step: a code is
    accepted once per time step)."""
    provider.clock.advance(30)
    await reauth(browser or provider.browser, "totp", code=totp.totp(params, provider.clock()))


async def add_passkey(
    provider: Provider, user_id: str, browser: httpx.AsyncClient | None = None, **options: Any
) -> tuple[httpx.Response, SoftAuthenticator]:
    """Press **Add passkey** on /account with a new software authenticator: the options
    request, ``credentials.create()`` and the registration post. The response is the
    options' 401 when the session may not add one, else the registration's."""
    browser = browser or provider.browser
    authenticator = SoftAuthenticator(
        rp_id="localhost", origin=ISSUER, user_handle=user_id.encode(), **options
    )
    csrf = csrf_of(await account_page(browser))
    started = await browser.post(
        "/account/webauthn/options", json={"csrf": csrf, "type": "passkey"}
    )
    if started.status_code != 200:
        return started, authenticator
    ceremony = started.json()
    credential = authenticator.create(unb64url(ceremony["publicKey"]["challenge"]))
    registered = await browser.post(
        "/account/webauthn/register",
        json={"csrf": csrf, "ceremony": ceremony["ceremony"], "credential": credential},
    )
    return registered, authenticator


async def reauth_passkey(
    browser: httpx.AsyncClient, authenticator: SoftAuthenticator, expect: int = 303
) -> httpx.Response:
    """**Use passkey** on /account/reauth."""
    page = await browser.get("/account/reauth", params={"next": "/account"})
    assert 'data-factor="webauthn"' in page.text, page.text[:600]
    csrf = csrf_of(page.text)
    options = await browser.post("/account/reauth/webauthn", json={"csrf": csrf})
    assert options.status_code == 200, options.text
    assertion = authenticator.get(unb64url(options.json()["publicKey"]["challenge"]))
    response = await browser.post(
        "/account/reauth?next=/account",
        data={"csrf": csrf, "factor": "webauthn", "credential": json.dumps(assertion)},
    )
    assert response.status_code == expect, f"{response.status_code}: {response.text[:400]}"
    return response
