"""Helpers for the front-channel tests: raw authorization requests, pages, TOTP enrolment.

Built on the black-box harness (:mod:`tests.helpers.harness`): a real app over
httpx's ASGI transport, a real SQLite store and a controllable clock.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from stepauth.provider.factors import totp as totp_factor
from stepauth.provider.factors.base import FactorRegistry
from stepauth.provider.factors.password import PasswordFactor
from stepauth.provider.factors.totp import TotpParams
from tests.helpers.harness import (
    PASSWORD,
    PUBLIC,
    REDIRECT_URI,
    USERNAME,
    Provider,
    check_id_token,
    pkce_pair,
)
from tests.helpers.page_forms import PageForms

COOKIE = "stepauth_session"


TOTP = totp_factor.plugin.kind


def use_factors(provider: Provider, *, totp: bool = False) -> None:
    """Offer the password only, or TOTP as well (the shipped plug-ins)."""
    plugins: list[Any] = [PasswordFactor()]
    if totp:
        plugins.insert(0, totp_factor.plugin)
    provider.state.factors = FactorRegistry(plugins)


async def enrol_totp(provider: Provider, user_id: str) -> TotpParams:
    params = TotpParams(secret=totp_factor.generate_secret())
    await provider.store.add_factor(
        user_id, TOTP, params.to_data(), label="phone", now=provider.clock()
    )
    return params


def totp_code(provider: Provider, params: TotpParams) -> str:
    return totp_factor.totp(params, provider.clock())


def query(client_id: str = PUBLIC, **params: str) -> dict[str, str]:
    """A valid authorization request (PKCE S256) plus ``params``."""
    _, challenge = pkce_pair()
    base = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": secrets.token_urlsafe(8),
    }
    base.update(params)
    return {k: v for k, v in base.items() if v is not None}


def rp_params(response: httpx.Response) -> dict[str, str]:
    """The parameters of a redirect back to the RP (fails if it is not one)."""
    assert response.status_code in (302, 303), f"{response.status_code}: {response.text[:300]}"
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass
class Page:
    response: httpx.Response
    forms: list[dict[str, Any]]
    labels: dict[str, str]
    buttons: list[str]

    @property
    def text(self) -> str:
        return self.response.text

    def form(self, kind: str) -> dict[str, Any]:
        for form in self.forms:
            if any(i.get("name") == "factor" and i.get("value") == kind for i in form["inputs"]):
                return form
        raise AssertionError(f"no {kind} form on the page: {self.text[:500]}")

    def kinds(self) -> list[str]:
        return [i["value"] for f in self.forms for i in f["inputs"] if i.get("name") == "factor"]

    def reasons(self) -> list[str]:
        import re

        return re.findall(r'data-reason="([a-z_]+)"', self.text)


def page(response: httpx.Response) -> Page:
    parser = PageForms()
    parser.feed(response.text)
    return Page(response, parser.forms, parser.labels, parser.buttons)


async def open_interaction(browser: httpx.AsyncClient, params: Mapping[str, str]) -> Page:
    """GET /authorize and follow the Provider's own redirect to its interaction page."""
    response = await browser.get("/authorize", params=dict(params))
    assert response.status_code == 303, f"{response.status_code}: {response.text[:300]}"
    location = response.headers["location"]
    assert "/interaction/" in location, location
    shown = await browser.get(location)
    assert shown.status_code == 200, shown.text[:300]
    return page(shown)


async def submit(
    browser: httpx.AsyncClient, shown: Page, kind: str, **values: str
) -> httpx.Response:
    form = shown.form(kind)
    data = {i["name"]: i.get("value", "") for i in form["inputs"] if i.get("name")}
    data.update(values)
    action = urljoin(str(shown.response.url), form["action"])
    return await browser.post(action, data=data)


async def sign_in(
    browser: httpx.AsyncClient,
    params: Mapping[str, str],
    *,
    username: str = USERNAME,
    password: str = PASSWORD,
) -> dict[str, str]:
    """A full password sign-in for ``params``; returns the RP's parameters."""
    shown = await open_interaction(browser, params)
    response = await submit(browser, shown, "password", username=username, password=password)
    return rp_params(response)


async def wrong_passwords(
    browser: httpx.AsyncClient, shown: Page, usernames: Iterable[str], password: str = "x"
) -> Page:
    """Submit ``password`` for each of ``usernames`` in turn on the page the last one
    shows, each refused (HTTP 400); returns the last page shown."""
    for username in usernames:
        response = await submit(browser, shown, "password", username=username, password=password)
        assert response.status_code == 400, f"{response.status_code}: {response.text[:300]}"
        shown = page(response)
    return shown


def session_cookie(browser: httpx.AsyncClient) -> str | None:
    return browser.cookies.get(COOKIE)


async def code_payload(provider: Provider, code: str) -> dict[str, object]:
    """What the Provider stored for an authorization code (keyed by its SHA-256)."""
    item = await provider.store.get(
        "code", hashlib.sha256(code.encode()).hexdigest(), now=provider.clock()
    )
    assert item is not None
    return dict(item.payload)


async def answer_password(provider: Provider, shown: Page) -> httpx.Response:
    """Answer the shown login page with the test user's password."""
    return await submit(provider.browser, shown, "password", username=USERNAME, password=PASSWORD)


async def exchange_public(
    provider: Provider, params: dict[str, str], verifier: str
) -> dict[str, object]:
    """Redeem the public client's code (its request had nonce ``n-1``); the checked ID Token's
    claims."""
    body = await provider.exchange(params["code"], verifier, client_id=PUBLIC, secret=None)
    return await check_id_token(provider, str(body["id_token"]), client_id=PUBLIC, nonce="n-1")
