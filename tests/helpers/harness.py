"""A black-box harness for the Provider: a real app over HTTP, a real store, a real login form.

Shared by the conformance behaviours (the OpenID Foundation conformance suite's oidcc-* tests) and
the back-channel endpoint tests. The app runs in-process behind httpx's ASGI transport with its
lifespan, a SQLite
database in a temporary directory and a controllable clock (so "wait two seconds" is
``clock.advance(2)``, never a sleep). The browser is an ``httpx.AsyncClient`` with a
cookie jar that follows the Provider's redirects and fills the login form by its labels.

The fixed world (issuer, clients, user, clock) is :mod:`tests.helpers.provider_config`, the
client-side builders (PKCE, client assertions, unverified JWT reads) are
:mod:`tests.helpers.client_side`; both are re-exported here for the tests that import them.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from joserfc.jwk import KeySet

from tests.helpers.client_side import (
    client_assertion,
    code_grant,
    decode_header,
    decode_unverified,
    pkce_pair,
)
from tests.helpers.id_token_checks import check_id_token
from tests.helpers.page_forms import PageForms
from tests.helpers.provider_config import (
    ACR_1FA,
    ACR_2FA,
    CLIENT_KEY,
    CONFIDENTIAL,
    ISSUER,
    JWT_CLIENT,
    LOGOUT_REDIRECT_URI,
    PASSWORD,
    POST_CLIENT,
    PUBLIC,
    REDIRECT_URI,
    SECRET,
    USERNAME,
    Clock,
    config_data,
)

#: What the black-box tests import from here (the fixed world, the client-side helpers,
#: the running Provider and its fixtures).
__all__ = [
    "ACR_1FA",
    "ACR_2FA",
    "CLIENT_KEY",
    "CONFIDENTIAL",
    "ISSUER",
    "JWT_CLIENT",
    "LOGOUT_REDIRECT_URI",
    "PASSWORD",
    "POST_CLIENT",
    "PUBLIC",
    "REDIRECT_URI",
    "SECRET",
    "USERNAME",
    "AuthorizationResult",
    "Clock",
    "Provider",
    "check_id_token",
    "client_assertion",
    "config_data",
    "decode_header",
    "decode_unverified",
    "outbox_path",
    "pkce_pair",
    "provider",
    "provider_of",
    "provider_on_each_db",
    "running_provider",
    "served_provider",
]


@dataclass
class AuthorizationResult:
    """Where the Provider sent the browser back to the RP."""

    params: dict[str, str]
    login_pages: int

    @property
    def code(self) -> str:
        assert "code" in self.params, f"no code in the response: {self.params}"
        return self.params["code"]


@dataclass
class Provider:
    """A running Provider, a browser against it and the handles tests need."""

    app: Any
    browser: httpx.AsyncClient
    clock: Clock
    state: Any
    issuer: str = ISSUER
    over_asgi: bool = True
    extra_clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def store(self) -> Any:
        return self.state.store

    def new_browser(self) -> httpx.AsyncClient:
        if self.over_asgi:
            transport = httpx.ASGITransport(app=self.app)
            client = httpx.AsyncClient(transport=transport, base_url=self.issuer)
        else:
            client = httpx.AsyncClient(base_url=self.issuer)
        self.extra_clients.append(client)
        return client

    async def create_user(self, username: str = USERNAME, password: str = PASSWORD) -> Any:
        from stepauth.provider.factors.password import hash_password

        return await self.store.create_user(username, hash_password(password))

    async def authorize(
        self,
        *,
        browser: httpx.AsyncClient | None = None,
        client_id: str = CONFIDENTIAL,
        code_challenge: str,
        username: str = USERNAME,
        password: str = PASSWORD,
        scope: str = "openid",
        expect_login: bool | None = None,
        **params: str,
    ) -> AuthorizationResult:
        """Run one authorization request through the browser, signing in when asked."""
        browser = browser or self.browser
        query = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
            **params,
        }
        return await self.authorize_raw(
            query, browser=browser, username=username, password=password, expect_login=expect_login
        )

    async def authorize_raw(
        self,
        query: Mapping[str, str],
        *,
        browser: httpx.AsyncClient | None = None,
        username: str = USERNAME,
        password: str = PASSWORD,
        expect_login: bool | None = None,
    ) -> AuthorizationResult:
        """Send exactly ``query`` to /authorize and follow the browser back to the RP."""
        browser = browser or self.browser
        response = await browser.get("/authorize", params=dict(query))
        pages = 0
        for _ in range(10):
            if response.status_code in (301, 302, 303, 307, 308):
                location = response.headers["location"]
                if location.startswith(REDIRECT_URI):
                    parsed = parse_qs(urlsplit(location).query)
                    result = AuthorizationResult({k: v[0] for k, v in parsed.items()}, pages)
                    if expect_login is not None:
                        assert (pages > 0) == expect_login, f"login pages shown: {pages}"
                    return result
                response = await browser.get(urljoin(str(response.url), location))
                continue
            assert response.status_code == 200, f"{response.status_code}: {response.text[:500]}"
            response = await self._submit_login(browser, response, username, password)
            pages += 1
        raise AssertionError("too many redirects")

    async def _submit_login(
        self, browser: httpx.AsyncClient, page: httpx.Response, username: str, password: str
    ) -> httpx.Response:
        parser = PageForms()
        parser.feed(page.text)
        assert "Continue" in parser.buttons, f"not a login page: {page.text[:500]}"
        assert "Username" in parser.labels, parser.labels
        assert "Password" in parser.labels, parser.labels
        username_id = parser.labels["Username"]
        form = next(f for f in parser.forms if any(i.get("id") == username_id for i in f["inputs"]))
        assert any(i.get("name") == "csrf" for i in form["inputs"]), "login form without csrf"
        by_id = {i.get("id"): i for i in form["inputs"]}
        data = {i["name"]: i.get("value", "") for i in form["inputs"] if i.get("name")}
        data[by_id[parser.labels["Username"]]["name"]] = username
        data[by_id[parser.labels["Password"]]["name"]] = password
        action = urljoin(str(page.url), form["action"] or str(page.url))
        return await browser.post(action, data=data)

    async def token(
        self,
        data: Mapping[str, str],
        *,
        client_id: str = CONFIDENTIAL,
        secret: str | None = SECRET,
    ) -> httpx.Response:
        auth = (client_id, secret) if secret is not None else None
        body = dict(data)
        if secret is None:
            body["client_id"] = client_id
        return await self.browser.post("/token", data=body, auth=auth)

    async def exchange(
        self,
        code: str,
        verifier: str,
        *,
        client_id: str = CONFIDENTIAL,
        secret: str | None = SECRET,
    ) -> dict[str, Any]:
        response = await self.token(code_grant(code, verifier), client_id=client_id, secret=secret)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body: dict[str, Any] = response.json()
        return body

    async def jwks(self) -> KeySet:
        response = await self.browser.get("/jwks")
        assert response.status_code == 200
        return KeySet.import_key_set(response.json())

    async def login_and_exchange(
        self,
        *,
        client_id: str = CONFIDENTIAL,
        secret: str | None = SECRET,
        requested_acr: list[str] | None = None,
        **params: str,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A full code flow: returns (token response, verified ID Token claims)."""
        verifier, challenge = pkce_pair()
        nonce = params.pop("nonce", secrets.token_urlsafe(12))
        result = await self.authorize(
            client_id=client_id, code_challenge=challenge, nonce=nonce, **params
        )
        body = await self.exchange(result.code, verifier, client_id=client_id, secret=secret)
        claims = await check_id_token(
            self, body["id_token"], client_id=client_id, nonce=nonce, requested_acr=requested_acr
        )
        return body, claims

    async def introspect(self, token: str) -> dict[str, Any]:
        response = await self.browser.post(
            "/introspect", data={"token": token}, auth=(CONFIDENTIAL, SECRET)
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@asynccontextmanager
async def running_provider(tmp_path: Path, **overrides: Any) -> AsyncIterator[Provider]:
    """A Provider on a fresh SQLite database with a fixed clock and one browser."""
    import os

    from stepauth.provider.app import create_app
    from stepauth.provider.config import ProviderConfig

    os.environ.setdefault("STEPAUTH_SECRET_KEY", base64.urlsafe_b64encode(b"k" * 32).decode())
    config = ProviderConfig.from_dict(config_data(tmp_path / "stepauth.db", **overrides))
    clock = Clock()
    async with provider_of(create_app(config, clock=clock), clock) as provider:
        yield provider


@asynccontextmanager
async def provider_of(app: Any, clock: Clock) -> AsyncIterator[Provider]:
    """The Provider of ``app`` (made with ``clock``): its lifespan running, one browser over
    ASGI, every browser closed at the end."""
    async with app.router.lifespan_context(app):
        browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER)
        provider = Provider(app=app, browser=browser, clock=clock, state=app.state.stepauth)
        try:
            yield provider
        finally:
            await browser.aclose()
            for extra in provider.extra_clients:
                await extra.aclose()


@asynccontextmanager
async def served_provider(tmp_path: Path) -> AsyncIterator[Provider]:
    """The Provider behind a real uvicorn server on a free port (HTTP over a socket)."""
    import asyncio
    import os

    import uvicorn

    from stepauth.provider.app import create_app
    from stepauth.provider.config import ProviderConfig
    from tests.conftest import free_port

    os.environ.setdefault("STEPAUTH_SECRET_KEY", base64.urlsafe_b64encode(b"k" * 32).decode())
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    data = config_data(tmp_path / "stepauth.db", issuer=issuer)
    clock = Clock()
    app = create_app(ProviderConfig.from_dict(data), clock=clock)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "uvicorn stopped during startup"
            await asyncio.sleep(0.02)
        browser = httpx.AsyncClient(base_url=issuer)
        provider = Provider(
            app=app,
            browser=browser,
            clock=clock,
            state=app.state.stepauth,
            issuer=issuer,
            over_asgi=False,
        )
        try:
            yield provider
        finally:
            await browser.aclose()
            for extra in provider.extra_clients:
                await extra.aclose()
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def provider(tmp_path: Path) -> AsyncIterator[Provider]:
    """A running Provider on SQLite with the test user ``alice`` (import where needed)."""
    async with running_provider(tmp_path) as running:
        await running.create_user()
        yield running


@pytest.fixture
def outbox_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Notices to users (account changes, codes) go to a dev outbox of this test."""
    path = tmp_path / "outbox.jsonl"
    monkeypatch.setenv("STEPAUTH_OUTBOX", str(path))
    return path


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
async def provider_on_each_db(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Provider]:
    """The same Provider on SQLite and on PostgreSQL (single use must hold on both)."""
    overrides: dict[str, Any] = {}
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        overrides["database"] = {"url": url}
    async with running_provider(tmp_path, **overrides) as running:
        await running.create_user()
        yield running
