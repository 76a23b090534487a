"""A black-box harness for the Provider: a real app over HTTP, a real store, a real login form.

Shared by the conformance behaviours (the OpenID Foundation conformance suite's oidcc-* tests) and
the back-channel endpoint tests. The app runs in-process behind httpx's ASGI transport with its
lifespan, a SQLite
database in a temporary directory and a controllable clock (so "wait two seconds" is
``clock.advance(2)``, never a sleep). The browser is an ``httpx.AsyncClient`` with a
cookie jar that follows the Provider's redirects and fills the login form by its labels.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

ISSUER = "http://localhost:8080"
REDIRECT_URI = "https://rp.example/callback"
LOGOUT_REDIRECT_URI = "https://rp.example/signed-out"
CONFIDENTIAL = "bank-app"
SECRET = "s3cr3t-" + "x" * 24
PUBLIC = "spa"
USERNAME = "alice"
PASSWORD = "correct horse battery staple"
ACR_1FA = "urn:stepauth:acr:1fa"
ACR_2FA = "urn:stepauth:acr:2fa"
JWT_CLIENT = "api-client"
POST_CLIENT = "form-client"
#: The private_key_jwt client's signing key (RFC 7523); only its public half is registered.
CLIENT_KEY = ECKey.generate_key("P-256", parameters={"kid": "rp-key-1"}, private=True)


class Clock:
    """An injectable wall clock that only moves when a test says so."""

    def __init__(self, start: float | None = None) -> None:
        self.now = float(int(start if start is not None else time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def config_data(db_path: Path, *, issuer: str = ISSUER, **overrides: Any) -> dict[str, Any]:
    host = urlsplit(issuer).hostname or "localhost"
    data: dict[str, Any] = {
        "issuer": issuer,
        "database": {"url": f"sqlite+aiosqlite:///{db_path}"},
        "webauthn": {"rp_id": host, "rp_name": "stepauth test", "origins": [issuer]},
        "clients": [
            {
                "client_id": CONFIDENTIAL,
                "client_secret": SECRET,
                "redirect_uris": [REDIRECT_URI],
                "post_logout_redirect_uris": [LOGOUT_REDIRECT_URI],
                "acr_values": "voluntary",
            },
            {
                "client_id": PUBLIC,
                "redirect_uris": [REDIRECT_URI],
                "post_logout_redirect_uris": [LOGOUT_REDIRECT_URI],
                "id_token_signed_response_alg": "ES256",
            },
            {
                "client_id": JWT_CLIENT,
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [CLIENT_KEY.as_dict(private=False)]},
                "redirect_uris": [REDIRECT_URI],
                "id_token_signed_response_alg": "EdDSA",
            },
            {
                "client_id": POST_CLIENT,
                "client_secret": SECRET,
                "token_endpoint_auth_method": "client_secret_post",
                "redirect_uris": [REDIRECT_URI],
            },
        ],
    }
    data.update(overrides)
    return data


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class _Forms(HTMLParser):
    """Collect forms, their inputs and the text of their labels."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._label_for: str | None = None
        self._label_text: list[str] = []
        self.labels: dict[str, str] = {}
        self.buttons: list[str] = []
        self._in_button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(
                {"action": a.get("action", ""), "method": a.get("method", "get"), "inputs": []}
            )
        elif tag == "input" and self.forms:
            self.forms[-1]["inputs"].append(a)
        elif tag == "label":
            self._label_for = a.get("for")
            self._label_text = []
        elif tag == "button":
            self._in_button = True
            self._label_text = []

    def handle_data(self, data: str) -> None:
        if self._label_for is not None or self._in_button:
            self._label_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._label_for is not None:
            self.labels["".join(self._label_text).strip()] = self._label_for
            self._label_for = None
        elif tag == "button" and self._in_button:
            self.buttons.append("".join(self._label_text).strip())
            self._in_button = False


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
        parser = _Forms()
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
        response = await self.token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            },
            client_id=client_id,
            secret=secret,
        )
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


async def check_id_token(
    provider: Provider,
    id_token: str,
    *,
    client_id: str,
    nonce: str | None,
    requested_acr: list[str] | None = None,
) -> dict[str, Any]:
    """The standard ID Token checks every OP test runs (``PerformStandardIdTokenChecks``).

    OIDC Core §3.1.3.7: signature with a published key, ``iss`` exact, ``aud`` contains the
    client, ``exp`` in the future, ``iat`` present, ``auth_time`` not in the future and not
    older than a year, ``acr`` not empty, ``sub`` present, ``nonce`` equal to the request's;
    and (§5.5.1.1) when ``acr`` values were requested as essential, ``acr`` is one of them.
    """
    keys = await provider.jwks()
    token = jwt.decode(id_token, keys, algorithms=["RS256", "ES256", "EdDSA"])
    assert token.header.get("kid"), "ID Token header has no kid"
    claims = dict(token.claims)
    now = provider.clock()
    assert claims["iss"] == provider.issuer
    aud = claims["aud"]
    assert client_id == aud or (isinstance(aud, list) and client_id in aud)
    if isinstance(aud, list) and len(aud) > 1:
        assert claims.get("azp") == client_id
    assert isinstance(claims["exp"], int)
    assert claims["exp"] > now
    assert isinstance(claims["iat"], int)
    assert claims["iat"] <= now + 300
    assert isinstance(claims.get("sub"), str)
    assert claims["sub"]
    if "auth_time" in claims:
        assert isinstance(claims["auth_time"], int)
        assert now - 365 * 86400 <= claims["auth_time"] <= now + 300
    if "acr" in claims:
        assert isinstance(claims["acr"], str)
        assert claims["acr"] != ""
    if nonce is not None:
        assert claims.get("nonce") == nonce
    else:
        assert "nonce" not in claims
    if requested_acr is not None:
        assert claims.get("acr") in requested_acr, claims.get("acr")
    return claims


@asynccontextmanager
async def running_provider(tmp_path: Path, **overrides: Any) -> AsyncIterator[Provider]:
    """A Provider on a fresh SQLite database with a fixed clock and one browser."""
    import os

    from stepauth.provider.app import create_app
    from stepauth.provider.config import ProviderConfig

    os.environ.setdefault("STEPAUTH_SECRET_KEY", base64.urlsafe_b64encode(b"k" * 32).decode())
    config = ProviderConfig.from_dict(config_data(tmp_path / "stepauth.db", **overrides))
    clock = Clock()
    app = create_app(config, clock=clock)
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


def client_assertion(
    *,
    client_id: str = JWT_CLIENT,
    audience: str = ISSUER + "/token",
    now: float,
    lifetime: int = 60,
    jti: str | None = None,
    key: Any = CLIENT_KEY,
    alg: str = "ES256",
    **claims: Any,
) -> str:
    """An RFC 7523 client assertion signed with ``key``."""
    payload = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": int(now),
        "exp": int(now) + lifetime,
        "jti": jti or secrets.token_urlsafe(12),
        **claims,
    }
    return jwt.encode({"alg": alg, "kid": "rp-key-1"}, payload, key, algorithms=[alg])


def form_body(**params: str) -> str:
    return urlencode(params)


def decode_header(token: str) -> dict[str, Any]:
    return _b64json(token.split(".")[0])


def decode_unverified(token: str) -> dict[str, Any]:
    return _b64json(token.split(".")[1])


def _b64json(payload: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data


@pytest.fixture
async def provider(tmp_path: Path) -> AsyncIterator[Provider]:
    """A running Provider on SQLite with the test user ``alice`` (import where needed)."""
    async with running_provider(tmp_path) as running:
        await running.create_user()
        yield running


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
