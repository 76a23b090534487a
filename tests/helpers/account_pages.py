"""The Provider's ``/account`` pages as a browser reads and fills them: a form field's
value, the CSRF token, the alert, the step-up at ``/account/reauth`` (with a password, an
app code or a passkey), signing in and adding a passkey; and the dev outbox's messages."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

import httpx

from stepauth.provider.factors import totp
from stepauth.provider.notices import read_outbox
from tests.helpers.harness import ISSUER, PASSWORD, USERNAME, Provider
from tests.helpers.passkeys import unb64url
from tests.helpers.soft_authenticator import SoftAuthenticator

__all__ = [
    "account_page",
    "add_passkey",
    "csrf_of",
    "error_of",
    "field",
    "outbox",
    "passkey_step_up",
    "reauth",
    "reauth_passkey",
    "sign_in",
    "step_up_totp",
]


def field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} field in: {html[:400]}"
    return unescape(match.group(1))


def csrf_of(html: str) -> str:
    return field(html, "csrf")


def error_of(html: str) -> str:
    match = re.search(r'<p[^>]* role="alert" class="error"[^>]*>([^<]*)</p>', html)
    return unescape(match.group(1)) if match else ""


async def account_page(browser: httpx.AsyncClient) -> str:
    page = await browser.get("/account")
    assert page.status_code == 200, page.text[:300]
    return page.text


async def reauth(
    browser: httpx.AsyncClient,
    factor: str,
    expect: int = 303,
    *,
    recovery: bool = False,
    **form: str,
) -> httpx.Response:
    """Open /account/reauth (``recovery``: its recovery-code variant) and submit
    ``factor``'s form with ``form``."""
    params = {"next": "/account", **({"mode": "recovery"} if recovery else {})}
    page = await browser.get("/account/reauth", params=params)
    assert page.status_code == 200, page.text[:300]
    assert f'data-factor="{factor}"' in page.text, page.text[:600]
    response = await browser.post(
        "/account/reauth",
        params=params,
        data={"csrf": csrf_of(page.text), "factor": factor, **form},
    )
    assert response.status_code == expect, f"{response.status_code}: {response.text[:400]}"
    return response


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


async def passkey_step_up(
    browser: httpx.AsyncClient,
    authenticator: SoftAuthenticator,
    page_url: str,
    *,
    options_url: str,
    expect: int = 303,
) -> httpx.Response:
    """**Use passkey** on the step-up page at ``page_url`` (``/account/reauth``,
    ``/admin/reauth``): the page, its options request at ``options_url``,
    ``credentials.get()`` and the assertion posted back to the page."""
    page = await browser.get(page_url)
    assert page.status_code == 200, page.text[:300]
    assert 'data-factor="webauthn"' in page.text, page.text[:600]
    csrf = csrf_of(page.text)
    options = await browser.post(options_url, json={"csrf": csrf})
    assert options.status_code == 200, options.text
    assertion = authenticator.get(unb64url(options.json()["publicKey"]["challenge"]))
    response = await browser.post(
        page_url, data={"csrf": csrf, "factor": "webauthn", "credential": json.dumps(assertion)}
    )
    assert response.status_code == expect, f"{response.status_code}: {response.text[:400]}"
    return response


async def reauth_passkey(
    browser: httpx.AsyncClient, authenticator: SoftAuthenticator, expect: int = 303
) -> httpx.Response:
    """**Use passkey** on /account/reauth."""
    return await passkey_step_up(
        browser,
        authenticator,
        "/account/reauth?next=/account",
        options_url="/account/reauth/webauthn",
        expect=expect,
    )
