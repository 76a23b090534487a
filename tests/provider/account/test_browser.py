"""/account in Debian Chromium: sign in, then **Add passkey** with the DevTools virtual
authenticator, through the static account.js under the Provider's CSP (no inline script);
then sign in again on /account/reauth with **Use passkey** only."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from stepauth.provider.factors import totp
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, add_virtual_authenticator, require
from tests.helpers.harness import PASSWORD, USERNAME
from tests.helpers.seeded_provider import serve_provider, stored

pytestmark = pytest.mark.browser


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """The Provider under uvicorn at http://localhost:PORT; yields (issuer, database url)."""
    monkeypatch.setenv("STEPAUTH_SECRET_KEY", base64.urlsafe_b64encode(b"k" * 32).decode())
    monkeypatch.setenv("STEPAUTH_OUTBOX", str(tmp_path / "outbox.jsonl"))
    with serve_provider(tmp_path, users=[USERNAME], admins=[]) as running:
        yield running


def _sign_in(page: Any, issuer: str) -> None:
    """Username and password on the Provider's /account sign-in page."""
    page.goto(issuer + "/account")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(issuer + "/account")


def test_add_passkey_in_chromium(served: tuple[str, str]) -> None:
    """A signed-in user adds a passkey on /account with one button."""
    require(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM} (apt-get install chromium)")
    issuer, url = served
    errors: list[str] = []

    def scenario() -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context()
                page = context.new_page()
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                add_virtual_authenticator(context, page)
                _sign_in(page, issuer)
                page.get_by_label("Name for the new passkey or key").fill("Chromium passkey")
                page.get_by_role("button", name="Add passkey").click()
                page.get_by_text("Chromium passkey").first.wait_for(timeout=30_000)
                # added by a password-only account: on hold, and the page says so
                page.get_by_text("is on hold until").first.wait_for(timeout=30_000)
                # a new visit without the session: the passkey alone signs in (discoverable)
                context.clear_cookies()
                page.goto(issuer + "/account")
                page.wait_for_url("**/account/reauth**")
                page.get_by_role("button", name="Use passkey").click()
                page.wait_for_url(issuer + "/account")
                page.get_by_text("Chromium passkey").first.wait_for(timeout=30_000)
            finally:
                browser.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(scenario).result()
    assert not [e for e in errors if "Content Security Policy" in e]

    async def factors(store: Any) -> list[Any]:
        user = await store.get_user_by_username(USERNAME)
        assert user is not None
        return list(await store.list_factors(user.id))

    (factor,) = stored(url, factors)
    assert factor.kind == "webauthn"
    assert factor.label == "Chromium passkey"
    assert factor.data["type"] == "passkey"
    assert factor.data["uv_initialized"] is True
    assert factor.last_used_at is not None  # the passkey sign-in was recorded
    assert factor.data["hold_reason"] == "single_factor"


def test_passkey_is_added_at_the_binding_level_in_chromium(served: tuple[str, str]) -> None:
    """NIST SP 800-63B-4 §6.1.2.1 in Chromium: with password + TOTP, **Add passkey** after a
    password sign-in goes to /account/reauth, which asks for the code only; the passkey
    then counts at once (no hold). Afterwards the binding level is phr: a password-only
    session pressing **Add passkey** is asked for the passkey, never the password."""
    require(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM} (apt-get install chromium)")
    issuer, url = served
    params = totp.TotpParams(secret=totp.generate_secret())

    async def enrol(store: Any) -> None:
        user = await store.get_user_by_username(USERNAME)
        assert user is not None
        await store.add_factor(user.id, "totp", params.to_data(), label="app", now=time.time())

    stored(url, enrol)
    seen: dict[str, Any] = {}

    def scenario() -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context()
                page = context.new_page()
                add_virtual_authenticator(context, page)
                _sign_in(page, issuer)
                page.get_by_role("button", name="Add passkey").click()
                page.wait_for_url("**/account/reauth**")
                seen["first"] = [
                    f.get_attribute("data-factor") for f in page.locator("form.factor").all()
                ]
                page.get_by_label("One-time code").fill(totp.totp(params, time.time()))
                page.get_by_role("button", name="Continue").click()
                page.wait_for_url(issuer + "/account")
                page.get_by_label("Name for the new passkey or key").fill("Laptop")
                page.get_by_role("button", name="Add passkey").click()
                page.get_by_text("Laptop").first.wait_for(timeout=30_000)
                seen["held"] = page.get_by_text("is on hold").count()
                # a password-only session of the same account
                other = browser.new_context()
                elsewhere = other.new_page()
                _sign_in(elsewhere, issuer)
                elsewhere.get_by_role("button", name="Add passkey").click()
                elsewhere.wait_for_url("**/account/reauth**")
                seen["second"] = [
                    f.get_attribute("data-factor") for f in elsewhere.locator("form.factor").all()
                ]
            finally:
                browser.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(scenario).result()
    assert seen["first"] == ["totp"]
    assert seen["held"] == 0
    assert seen["second"] == ["webauthn"]


def test_sign_out_other_sessions_in_chromium(served: tuple[str, str]) -> None:
    """ASVS 5.0 7.4.3: two sessions of one user; **Add passkey** in the first, then its
    **Sign out other sessions** button: the second browser is signed out, the first not."""
    require(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM} (apt-get install chromium)")
    issuer, _ = served
    seen: dict[str, str] = {}

    def scenario() -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                mine, other = browser.new_context(), browser.new_context()
                page, elsewhere = mine.new_page(), other.new_page()
                add_virtual_authenticator(mine, page)
                _sign_in(page, issuer)
                _sign_in(elsewhere, issuer)
                page.get_by_label("Name for the new passkey or key").fill("Laptop")
                page.get_by_role("button", name="Add passkey").click()
                page.get_by_role("button", name="Sign out other sessions").click()
                page.get_by_text("Signed out of 1 other session.").wait_for(timeout=30_000)
                elsewhere.goto(issuer + "/account")
                seen["other"] = elsewhere.url
                page.goto(issuer + "/account")
                seen["mine"] = page.url
            finally:
                browser.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(scenario).result()
    assert "/account/reauth" in seen["other"]
    assert seen["mine"] == issuer + "/account"
