"""The SDK against the stepauth Provider (served by uvicorn, SQLite store, real login form).

Browser apps (FastAPI, Flask and Django examples): a password session (1fa) is stepped up to
``urn:stepauth:acr:2fa`` with ``max_age=300``; the Provider asks for the missing factor only
(a TOTP code) and the POST passes after confirmation. API: 401 challenge → new token → 200;
the old token is still 401. ``phr`` needs a WebAuthn ceremony (browser tests of the factors
area); 2fa exercises the same SDK paths with a factor a test can compute.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pyotp
import pytest

from stepauth.assurance import Challenge, Requirement
from stepauth.sdk import JWKSCache, ProviderMetadata, RelyingParty, ResourceServer, StepUpAuth
from tests.sdk.browser_flow import authorize_params, confirm_fields
from tests.sdk.conftest import ServedApp

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
    from tests.conftest import free_port

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


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "inputs": []})
        elif tag == "input" and self.forms:
            self.forms[-1]["inputs"].append(a)


def drive_stepauth(ua: httpx.Client, url: str, redirect_uri: str, op: StepauthOP) -> dict[str, str]:
    """A user at the stepauth Provider: password when asked, TOTP code when asked."""
    from urllib.parse import parse_qsl, urlsplit

    response = ua.get(url)
    for _ in range(12):
        if response.status_code in (302, 303):
            target = urljoin(str(response.url), response.headers["location"])
            if target.startswith(redirect_uri):
                return dict(parse_qsl(urlsplit(target).query))
            response = ua.get(target)
            continue
        assert response.status_code == 200, f"{response.status_code}: {response.text[:300]}"
        parser = _Forms()
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


def _browser_flow(
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


def test_fastapi_example_steps_up_against_stepauth(
    stepauth_op: StepauthOP, ua: httpx.Client
) -> None:
    from examples.fastapi_app import create_app
    from starlette.testclient import TestClient

    callback = LOCAL_CALLBACK
    rp = rp_for(stepauth_op, callback, acr_mode="claims")
    client = TestClient(
        create_app(rp, secret_key="s" * 40, transfer_acr=ACR_2FA),
        base_url="http://localhost",
        follow_redirects=False,
    )
    status, text = _browser_flow(
        stepauth_op,
        ua,
        lambda path, q: client.get(path, params=q),
        lambda path, d: client.post(path, data=d),
        callback,
    )
    assert status == 200
    assert f"Sent 250 EUR to {IBAN} ({ACR_2FA})" in text


def test_flask_example_steps_up_against_stepauth(stepauth_op: StepauthOP, ua: httpx.Client) -> None:
    from examples.flask_app import create_app

    callback = LOCAL_CALLBACK
    rp = rp_for(stepauth_op, callback, acr_mode="claims")
    client = create_app(rp, secret_key="s" * 40, transfer_acr=ACR_2FA).test_client()
    status, text = _browser_flow(
        stepauth_op,
        ua,
        lambda path, q: client.get(path, query_string=q),
        lambda path, d: client.post(path, data=d),
        callback,
    )
    assert status == 200
    assert f"Sent 250 EUR to {IBAN} ({ACR_2FA})" in text


def test_api_flow_against_stepauth(stepauth_op: StepauthOP, ua: httpx.Client, serve: Any) -> None:
    """401 challenge → new token → 200; the old token is still 401 (RFC 9470 §3)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from stepauth.sdk.starlette import StepAuth, require

    rp = rp_for(stepauth_op, RP_CALLBACK, acr_mode="claims")
    low = rp.authorization_request(Requirement(("urn:stepauth:acr:1fa",)))
    weak = rp.finish(drive_stepauth(ua, rp.begin(low), RP_CALLBACK, stepauth_op), low)
    assert weak.access_token is not None
    rs = ResourceServer(
        issuer=stepauth_op.issuer, audience=API_RESOURCE, jwks=JWKSCache(rp.metadata.jwks_uri)
    )

    async def transfer(request: Request) -> JSONResponse:
        return JSONResponse({"acr": request.state.stepauth_claims["acr"]})

    app = Starlette(routes=[Route("/transfer", require(ACR_2FA, max_age=300)(transfer))])
    app.state.stepauth = StepAuth(resource_server=rs)
    api = serve(app)

    def step_up(challenge: Challenge) -> str:
        request = rp.authorization_request(Requirement(challenge.acr_values, challenge.max_age))
        tokens = rp.finish(drive_stepauth(ua, rp.begin(request), RP_CALLBACK, stepauth_op), request)
        assert tokens.access_token is not None
        return tokens.access_token

    first = httpx.get(
        f"{api.url}/transfer", headers={"Authorization": f"Bearer {weak.access_token}"}
    )
    assert first.status_code == 401
    assert 'acr_values="urn:stepauth:acr:2fa", max_age="300"' in first.headers["www-authenticate"]
    with httpx.Client(auth=StepUpAuth(weak.access_token, step_up)) as client:
        response = client.get(f"{api.url}/transfer")
    assert response.status_code == 200
    assert response.json() == {"acr": ACR_2FA}
    old = httpx.get(f"{api.url}/transfer", headers={"Authorization": f"Bearer {weak.access_token}"})
    assert old.status_code == 401


def test_api_refuses_a_token_of_a_client_it_does_not_allow(
    stepauth_op: StepauthOP, ua: httpx.Client, serve: Any
) -> None:
    """RFC 9068 §2.2: the API names the clients it serves (``allowed_clients``). A public
    client's token for the same resource, even from a silent ``prompt=none`` in the user's
    session, is ``invalid_token``; the bank app's token passes."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from stepauth.sdk.starlette import StepAuth, require

    bank = rp_for(stepauth_op, RP_CALLBACK)
    request = bank.authorization_request(Requirement(("urn:stepauth:acr:1fa",)))
    own = bank.finish(drive_stepauth(ua, bank.begin(request), RP_CALLBACK, stepauth_op), request)
    spa = rp_for(stepauth_op, RP_CALLBACK, client_id=PUBLIC_CLIENT_ID, client_secret=None)
    silent = spa.authorization_request(None, prompt="none")
    other = spa.finish(drive_stepauth(ua, spa.begin(silent), RP_CALLBACK, stepauth_op), silent)
    assert own.access_token is not None
    assert other.access_token is not None

    rs = ResourceServer(
        issuer=stepauth_op.issuer,
        audience=API_RESOURCE,
        jwks=JWKSCache(bank.metadata.jwks_uri),
        allowed_clients=[CLIENT_ID],
    )

    async def balance(request: Request) -> JSONResponse:
        return JSONResponse({"sub": request.state.stepauth_claims["sub"]})

    app = Starlette(routes=[Route("/balance", require("urn:stepauth:acr:1fa")(balance))])
    app.state.stepauth = StepAuth(resource_server=rs)
    api = serve(app)

    def get(token: str) -> httpx.Response:
        return httpx.get(f"{api.url}/balance", headers={"Authorization": f"Bearer {token}"})

    refused = get(other.access_token)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert get(own.access_token).status_code == 200


def test_django_example_steps_up_against_stepauth(
    stepauth_op: StepauthOP, ua: httpx.Client
) -> None:
    import django
    from django.conf import settings
    from django.test import Client
    from examples import django_app

    rp = rp_for(stepauth_op, LOCAL_CALLBACK, acr_mode="claims")
    wanted = django_app.settings_for(rp, secret_key="s" * 50, transfer_acr=ACR_2FA)
    if not settings.configured:
        settings.configure(**wanted)
        django.setup()
    saved = {k: getattr(settings, k) for k in ("STEPAUTH", "STEPAUTH_RULES")}
    try:
        settings.STEPAUTH = wanted["STEPAUTH"]
        settings.STEPAUTH_RULES = wanted["STEPAUTH_RULES"]
        client = Client()
        status, text = _browser_flow(
            stepauth_op,
            ua,
            lambda path, q: client.get(path, q),
            lambda path, d: client.post(path, d),
            LOCAL_CALLBACK,
        )
    finally:
        for key, value in saved.items():
            setattr(settings, key, value)
    assert status == 200
    assert f"Sent 250 EUR to {IBAN} ({ACR_2FA})" in text
