"""The Provider served by uvicorn for a real browser, and the relying party that drives it.

:func:`serve_provider` runs the Provider on a free ``localhost`` port (SQLite in a given
directory, the public client ``spa`` and the bank's confidential client, WebAuthn RP ID
``localhost``) with a :class:`Clock` the caller moves forward; the ``served`` fixture wraps
it for a test. :class:`RP` builds authorization requests (plain or pushed, RFC 9126),
catches the browser's navigation back to the unreachable callback and redeems codes.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from stepauth.keying import secret_from_env
from stepauth.provider import create_app
from stepauth.provider.config import ProviderConfig
from stepauth.provider.factors.password import hash_password
from stepauth.provider.factors.totp import TotpParams, generate_secret
from stepauth.provider.factors.webauthn import StoredCredential
from stepauth.store import open_store
from tests.conftest import free_port
from tests.helpers.bank import BANK, bank_client, code_request, front, par_body
from tests.helpers.harness import (
    ACR_2FA,
    PASSWORD,
    REDIRECT_URI,
    SECRET,
    USERNAME,
    config_data,
    pkce_pair,
)
from tests.helpers.served import ServedApp
from tests.helpers.soft_authenticator import cose_es256

__all__ = [
    "ACR_2FA",
    "RP",
    "RP_ORIGIN",
    "SPA",
    "Clock",
    "Served",
    "b64url",
    "enrol_foreign_passkey",
    "factor_kinds",
    "goto",
    "in_store",
    "run",
    "serve_provider",
    "served",
    "settle",
    "setup_users",
    "unb64url",
    "wait_for_factor",
]

SPA = "spa"
#: Where the browser goes back to: nothing answers there but the browser itself.
RP_ORIGIN = "{0.scheme}://{0.netloc}".format(urlsplit(REDIRECT_URI))
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Store work on another thread: sync Playwright holds an event loop on this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Clock:
    """Wall time plus an offset the caller moves forward (auth_time must visibly move)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Served:
    issuer: str
    db_url: str
    clock: Clock
    app: ServedApp

    def stop(self) -> None:
        self.app.stop()


@contextmanager
def serve_provider(directory: Path) -> Iterator[Served]:
    """The Provider under uvicorn on a free port, its database in ``directory``."""
    os.environ.setdefault("STEPAUTH_SECRET_KEY", base64.urlsafe_b64encode(b"k" * 32).decode())
    port = free_port()
    issuer = f"http://localhost:{port}"
    clients = [{"client_id": SPA, "redirect_uris": [REDIRECT_URI]}, bank_client()]
    data = config_data(
        directory / "stepauth.db",
        issuer=issuer,
        webauthn={"rp_id": "localhost", "rp_name": "stepauth test", "origins": [issuer]},
        clients=clients,
    )
    config = ProviderConfig.from_dict(data)
    clock = Clock()
    app = ServedApp(create_app(config, clock=clock), port=port, lifespan="on")
    running = Served(issuer, config.database.url, clock, app)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """The Provider under uvicorn for one test (:func:`serve_provider`)."""
    with serve_provider(tmp_path) as running:
        yield running


def in_store(served: Served, work: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    """Run ``work`` on the served Provider's store (opened for it with the Provider's
    secret, then closed)."""

    async def go() -> T:
        store = await open_store(served.db_url, secret=secret_from_env())
        try:
            return await work(store)
        finally:
            await store.close()

    return run(go())


def setup_users(served: Served) -> tuple[str, str, str]:
    """alice (password + TOTP) and bob (password); returns (alice id, bob id, TOTP secret)."""

    async def work(store: Any) -> tuple[str, str, str]:
        alice = await store.create_user(USERNAME, hash_password(PASSWORD))
        bob = await store.create_user("bob", hash_password("bob's password is long enough"))
        secret = generate_secret()
        await store.add_factor(
            alice.id, "totp", TotpParams(secret=secret).to_data(), label="phone", now=time.time()
        )
        return alice.id, bob.id, secret

    return in_store(served, work)


def factor_kinds(served: Served, user_id: str) -> list[tuple[str, bool]]:
    """(kind, disabled) of each of ``user_id``'s factors."""

    async def work(store: Any) -> list[tuple[str, bool]]:
        return [(f.kind, f.disabled) for f in await store.list_factors(user_id)]

    return in_store(served, work)


def wait_for_factor(served: Served, user_id: str, kind: str, timeout: float = 15) -> None:
    """Until ``user_id`` has an enabled factor of ``kind`` (fails after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while (kind, False) not in factor_kinds(served, user_id):
        assert time.monotonic() < deadline, f"no {kind} factor was registered"
        time.sleep(0.1)


def enrol_foreign_passkey(served: Served, user_id: str) -> dict[str, Any]:
    """A passkey of ``user_id`` made here; returns it as a DevTools credential."""
    key = ec.generate_private_key(ec.SECP256R1())
    credential_id = os.urandom(32)
    stored = StoredCredential(
        credential_id=credential_id,
        public_key=cose_es256(key.public_key()),
        sign_count=0,
        user_handle=user_id.encode(),
        backup_eligible=False,
    )

    async def work(store: Any) -> None:
        await store.add_factor(
            user_id,
            "webauthn",
            stored.to_data(),
            label="bob's passkey",
            credential_id=b64url(credential_id),
            now=time.time(),
        )

    in_store(served, work)
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {
        "credentialId": base64.b64encode(credential_id).decode(),
        "isResidentCredential": True,
        "rpId": "localhost",
        "privateKey": base64.b64encode(pkcs8).decode(),
        "userHandle": base64.b64encode(user_id.encode()).decode(),
        "signCount": 0,
    }


class RP:
    """A relying party: builds requests, catches the callback, redeems codes."""

    def __init__(self, served: Served, page: Any) -> None:
        self.served = served
        self.page = page
        self.callbacks: list[dict[str, str]] = []
        page.on("request", self._seen)
        # answer the callback in the browser, so its navigation ends on a page rather than
        # on a late DNS error page that would interrupt the next goto
        page.route(f"{REDIRECT_URI}**", lambda route: route.fulfill(status=200, body="rp"))

    def _seen(self, request: Any) -> None:
        # The RP does not exist: the browser's navigation to it is what the caller reads.
        if request.url.startswith(REDIRECT_URI):
            query = parse_qs(urlsplit(request.url).query)
            self.callbacks.append({k: v[0] for k, v in query.items()})

    def request(self, client_id: str = SPA, **params: str) -> tuple[str, str]:
        """(code_verifier, authorization URL)."""
        verifier, challenge = pkce_pair()
        query = code_request(challenge, client_id, **params)
        return verifier, f"{self.served.issuer}/authorize?{urlencode(query)}"

    def push(self, details: Any, **params: str) -> tuple[str, str]:
        """(code_verifier, authorization URL) of a request pushed by the bank (RFC 9126)."""
        verifier, data = par_body(details, **params)
        response = httpx.post(f"{self.served.issuer}/par", data=data, auth=(BANK, SECRET))
        assert response.status_code == 201, response.text
        query = urlencode(front(response.json()["request_uri"]))
        return verifier, f"{self.served.issuer}/authorize?{query}"

    def follow(self, action: Callable[[], None]) -> dict[str, str]:
        """Run ``action`` and return the parameters the browser carried back to the RP."""
        with self.page.expect_request(
            lambda r: r.url.startswith(REDIRECT_URI), timeout=15_000
        ) as info:
            action()
        query = parse_qs(urlsplit(info.value.url).query)
        return {k: v[0] for k, v in query.items()}

    def redeem(self, code: str, verifier: str, client_id: str = SPA) -> dict[str, Any]:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        }
        auth = (BANK, SECRET) if client_id == BANK else None
        if auth is None:
            data["client_id"] = client_id
        response = httpx.post(f"{self.served.issuer}/token", data=data, auth=auth)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def goto(page: Any, url: str) -> None:
    """Open ``url``. Chromium may still be finishing the previous step's navigation to the
    unreachable RP callback (``chrome-error://``), which interrupts a new ``goto``: wait
    for it to settle and open ``url`` once more."""
    try:
        page.goto(url)
    except Exception as exc:  # playwright's Error: "interrupted by another navigation"
        if "interrupted by another navigation" not in str(exc):
            raise
        page.wait_for_load_state()
        page.goto(url)


def settle(page: Any) -> None:
    """Wait until the browser has left for the RP: its callback is answered in the browser
    (:class:`RP`), or ends on Chromium's error page when the answer loses the race; either
    way the next navigation is not interrupted by it."""
    deadline = time.monotonic() + 15
    while not page.url.startswith((RP_ORIGIN, "chrome-error:")):
        assert time.monotonic() < deadline, f"still on {page.url}"
        page.wait_for_timeout(50)
    page.wait_for_load_state("load")
