"""The stepauth Provider as the SDK's tests and the packaging tests meet it: served by
uvicorn with a SQLite store, alice with a password and a TOTP factor, a confidential and a
public client; a user who answers its login form (:func:`drive_stepauth`), and the example
apps' browser flow from a password session to a 2fa step-up (:func:`example_browser_flow`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import pyotp
import pytest

from stepauth.sdk import ProviderMetadata, RelyingParty
from tests.conftest import free_port
from tests.helpers.page_forms import PageForms
from tests.helpers.served import ServedApp
from tests.sdk.browser_flow import authorize_params, confirm_fields

__all__ = [
    "ACR_2FA",
    "API_RESOURCE",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "IBAN",
    "LOCAL_CALLBACK",
    "PASSWORD",
    "PUBLIC_CLIENT_ID",
    "RP_CALLBACK",
    "USERNAME",
    "StepauthOP",
    "drive_stepauth",
    "example_browser_flow",
    "rp_for",
    "stepauth_op",
    "ua",
]

ACR_2FA = "urn:stepauth:acr:2fa"
USERNAME = "alice"
PASSWORD = "correct horse battery staple"
CLIENT_ID = "sdk-app"
CLIENT_SECRET = "sdk-app-secret-" + "x" * 20
RP_CALLBACK = "http://127.0.0.1:9/cb"
IBAN = "DE89370400440532013000"
#: The Provider accepts http redirect URIs on loopback hosts only (RFC 8252 §7.3).
LOCAL_CALLBACK = "http://localhost/stepauth/callback"
#: The API's RFC 8707 resource: the Provider's default, so every access token's ``aud``.
API_RESOURCE = "https://api.sdk.test/"
#: A public client of the same Provider (a single-page app: no secret).
PUBLIC_CLIENT_ID = "sdk-spa"


@dataclass
class StepauthOP:
    issuer: str
    totp_secret: str
    app: ServedApp


@pytest.fixture
def stepauth_op(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, serve: Callable[[Any], ServedApp]
) -> StepauthOP:
    from stepauth.provider import create_app
    from stepauth.provider.config import ProviderConfig
    from stepauth.provider.factors.password import hash_password
    from stepauth.store import open_store

    monkeypatch.setenv("STEPAUTH_SECRET_KEY", "k" * 43)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    db = f"sqlite+aiosqlite:///{tmp_path / 'stepauth.db'}"
    secret = pyotp.random_base32(32)

    async def seed() -> None:
        store = await open_store(db, secret=b"k" * 43)  # the Provider's: it seals the seed
        try:
            user = await store.create_user(USERNAME, hash_password(PASSWORD))
            await store.add_factor(user.id, "totp", {"secret": secret}, label="phone", now=0.0)
        finally:
            await store.close()

    asyncio.run(seed())
    config = ProviderConfig.from_dict(
        {
            "issuer": issuer,
            "database": {"url": db},
            "webauthn": {"rp_id": "127.0.0.1", "rp_name": "sdk test", "origins": [issuer]},
            "default_resource": API_RESOURCE,
            "clients": [
                {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "redirect_uris": [RP_CALLBACK, LOCAL_CALLBACK],
                    "acr_values": "required",
                },
                {"client_id": PUBLIC_CLIENT_ID, "redirect_uris": [RP_CALLBACK]},
            ],
        }
    )
    served = ServedApp(create_app(config), port=port)
    return StepauthOP(issuer, secret, served)


def drive_stepauth(ua: httpx.Client, url: str, redirect_uri: str, op: StepauthOP) -> dict[str, str]:
    """A user at the stepauth Provider: password when asked, TOTP code when asked."""
    response = ua.get(url)
    for _ in range(12):
        if response.status_code in (302, 303):
            target = urljoin(str(response.url), response.headers["location"])
            if target.startswith(redirect_uri):
                return dict(parse_qsl(urlsplit(target).query))
            response = ua.get(target)
            continue
        assert response.status_code == 200, f"{response.status_code}: {response.text[:300]}"
        parser = PageForms()
        parser.feed(response.text)
        forms = {
            next((i["value"] for i in f["inputs"] if i.get("name") == "factor"), ""): f
            for f in parser.forms
        }
        kind = "password" if "password" in forms else "totp"
        form = forms[kind]
        data = {i["name"]: i.get("value", "") for i in form["inputs"] if i.get("name")}
        if kind == "password":
            data.update(username=USERNAME, password=PASSWORD)
        else:
            data["code"] = pyotp.TOTP(op.totp_secret).now()
        response = ua.post(urljoin(str(response.url), form["action"]), data=data)
    raise AssertionError("the Provider did not redirect back")


def rp_for(
    op: StepauthOP,
    redirect_uri: str,
    *,
    client_id: str = CLIENT_ID,
    client_secret: str | None = CLIENT_SECRET,
    **kw: Any,
) -> RelyingParty:
    with httpx.Client() as client:
        metadata = ProviderMetadata.discover(op.issuer, client)
    return RelyingParty(
        metadata, client_id=client_id, client_secret=client_secret, redirect_uri=redirect_uri, **kw
    )


@pytest.fixture
def ua() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def example_browser_flow(
    op: StepauthOP,
    ua: httpx.Client,
    get: Callable[[str, dict[str, str]], Any],
    post: Callable[[str, dict[str, str]], Any],
    callback: str,
) -> tuple[int, str]:
    """login (1fa) → POST /transfer → step-up to 2fa (TOTP only) → confirm → the transfer."""
    first = get("/login", {})
    assert first.status_code == 303
    back = get("/stepauth/callback", drive_stepauth(ua, first.headers["location"], callback, op))
    assert back.status_code == 303
    response = post("/transfer", {"amount": "250", "iban": IBAN})
    assert response.status_code == 303
    params = authorize_params(response.headers["location"])
    assert params["max_age"] == "300"
    assert json.loads(params["claims"])["id_token"]["acr"]["values"] == [ACR_2FA]
    page = get("/stepauth/callback", drive_stepauth(ua, response.headers["location"], callback, op))
    assert page.status_code == 200
    body = page.get_data(as_text=True) if hasattr(page, "get_data") else page.content.decode()
    done = post("/transfer", confirm_fields(body))
    text = done.get_data(as_text=True) if hasattr(done, "get_data") else done.content.decode()
    return done.status_code, text
