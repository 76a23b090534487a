"""The FastAPI example app reaches ``phr`` with a passkey, in a real browser.

Debian Chromium (Playwright) with a DevTools virtual authenticator; the stepauth Provider
and the example app are each served by uvicorn. alice (password and authenticator app)
signs in to the app with her password (1fa) and adds a passkey on the Provider's
``/account``. Then she sends a transfer: the app's guard (``phr``, ``max_age=300``) sends
the browser to the Provider, which asks for the passkey only (WebAuthn L3 §5.8.6 (required);
WebAuthn L3 §5.5 (allowCredentials), RFC 9470 §3); one click on **Use passkey** brings it back to
the app's confirmation page (the POST is never
replayed), and **Confirm** sends the transfer with the ``phr`` session (OIDC Core §3.1.2.1
(id_token_hint), RFC 9470 §3, §6).
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pyotp
import pytest

from stepauth.sdk import ProviderMetadata, RelyingParty
from tests.conftest import add_virtual_authenticator, free_port
from tests.helpers.served import ServedApp

pytestmark = pytest.mark.browser

USERNAME = "alice"
PASSWORD = "correct horse battery staple"
CLIENT_ID = "sdk-app"
CLIENT_SECRET = "sdk-app-secret-" + "x" * 20
T = TypeVar("T")


@dataclass
class Stack:
    issuer: str
    app_url: str
    totp_secret: str
    db_url: str


def _seed(db: str, secret: str) -> str:
    from stepauth.keying import secret_from_env
    from stepauth.provider.factors.password import hash_password
    from stepauth.store import open_store

    async def work() -> str:
        store = await open_store(db, secret=secret_from_env())  # the Provider's: seals the seed
        try:
            user = await store.create_user(USERNAME, hash_password(PASSWORD))
            await store.add_factor(
                user.id, "totp", {"secret": secret}, label="phone", now=time.time()
            )
            return str(user.id)
        finally:
            await store.close()

    return asyncio.run(work())


def _on_a_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Store work on another thread: sync Playwright holds an event loop on this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _webauthn_factors(db: str, user_id: str) -> int:
    from stepauth.store import open_store

    async def work() -> int:
        store = await open_store(db)
        try:
            factors = await store.list_factors(user_id)
            return sum(1 for f in factors if f.kind == "webauthn" and not f.disabled)
        finally:
            await store.close()

    return _on_a_thread(work())


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Stack, str]]:
    """The Provider on ``localhost`` (the passkeys' RP ID) and the example app on
    ``127.0.0.1`` (another host, so neither's cookies reach the other)."""
    from examples.fastapi_app import create_app as create_example

    from stepauth.provider import create_app
    from stepauth.provider.config import ProviderConfig

    os.environ.setdefault("STEPAUTH_SECRET_KEY", base64.urlsafe_b64encode(b"k" * 32).decode())
    op_port, app_port = free_port(), free_port()
    issuer = f"http://localhost:{op_port}"
    app_url = f"http://127.0.0.1:{app_port}"
    callback = f"{app_url}/stepauth/callback"
    db = f"sqlite+aiosqlite:///{tmp_path / 'stepauth.db'}"
    secret = pyotp.random_base32(32)
    user_id = _seed(db, secret)
    config = ProviderConfig.from_dict(
        {
            "issuer": issuer,
            "database": {"url": db},
            "webauthn": {"rp_id": "localhost", "rp_name": "sdk test", "origins": [issuer]},
            "clients": [
                {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "redirect_uris": [callback],
                    "acr_values": "required",
                }
            ],
        }
    )
    op = ServedApp(create_app(config), port=op_port)
    try:
        with httpx.Client() as client:
            metadata = ProviderMetadata.discover(issuer, client)
        rp = RelyingParty(
            metadata,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uri=callback,
            acr_mode="claims",
        )
        app = ServedApp(create_example(rp, secret_key="p" * 40), port=app_port)
        try:
            yield Stack(issuer, app_url, secret, db), user_id
        finally:
            app.stop()
    finally:
        op.stop()


def test_example_app_reaches_phr_with_a_passkey_in_chromium(
    stack: tuple[Stack, str], chromium: Any
) -> None:
    served, user_id = stack
    context = chromium.new_context()
    page = context.new_page()
    cdp, authenticator = add_virtual_authenticator(context, page)

    # 1. signed in to the app with a password (the app's sign-in asks for 1fa)
    page.goto(f"{served.app_url}/login")
    assert page.url.startswith(f"{served.issuer}/")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation(url=f"{served.app_url}/login", timeout=15_000):
        page.get_by_role("button", name="Continue").click()
    assert '"acr":"urn:stepauth:acr:1fa"' in page.content().replace(" ", "")

    # 2. a passkey added on the Provider's account page. alice has password + TOTP, so
    # binding a new authenticator needs both (NIST SP 800-63B-4 §6.1.2.1): the password is
    # fresh, the account's step-up asks for the code only; then the passkey counts at once.
    page.goto(f"{served.issuer}/account")
    page.get_by_role("button", name="Add passkey").click()
    page.wait_for_url(f"{served.issuer}/account/reauth**")
    assert page.locator("form[data-factor=password]").count() == 0
    page.get_by_label("One-time code").fill(pyotp.TOTP(served.totp_secret).now())
    page.locator("form[data-factor=totp]").get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{served.issuer}/account")
    # registered, the page goes back to the account page: wait for that before leaving
    with page.expect_navigation(url=f"{served.issuer}/account**", timeout=15_000):
        page.get_by_role("button", name="Add passkey").click()
    assert _webauthn_factors(served.db_url, user_id) == 1
    held = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(held["credentials"]) == 1

    # 3. the transfer needs phr: the Provider asks for the passkey only (not the TOTP code
    # alice also has), one click
    page.goto(f"{served.app_url}/transfer")
    with page.expect_navigation(url=f"{served.issuer}/**", timeout=15_000):
        page.get_by_role("button", name="Send").click()
    assert page.locator("form.factor").count() == 1
    assert page.locator("form.factor[data-factor=webauthn]").count() == 1
    with page.expect_navigation(url=f"{served.app_url}/stepauth/callback**", timeout=15_000):
        page.get_by_role("button", name="Use passkey").click()

    # 4. back at the app: a confirmation, not a replayed POST; Confirm sends it at phr
    assert "Sent" not in page.content()
    assert page.get_by_role("button", name="Confirm").count() == 1
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(f"{served.app_url}/transfer", timeout=15_000)
    assert "Sent 100 EUR to DE89370400440532013000 (phr)" in page.content()
    context.close()
