"""/admin in Debian Chromium: an admin signs in, is asked for a passkey before locking a
user (the DevTools virtual authenticator answers, through the static webauthn.js under
the Provider's CSP), locks; that user's sign-in is then refused."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, add_virtual_authenticator, require
from tests.helpers.harness import PASSWORD
from tests.helpers.seeded_provider import serve_provider, stored

pytestmark = pytest.mark.browser

ADMIN, VICTIM = "ada", "bob"


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    monkeypatch.setenv("STEPAUTH_SECRET_KEY", base64.urlsafe_b64encode(b"k" * 32).decode())
    monkeypatch.setenv("STEPAUTH_OUTBOX", str(tmp_path / "outbox.jsonl"))
    # no hold on the admin's first passkey: it must count at phr at once
    with serve_provider(
        tmp_path, users=[ADMIN, VICTIM], admins=[ADMIN], account={"binding_hold": 0}
    ) as running:
        yield running


def sign_in(page: Any, username: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("form[data-factor=password]").get_by_role("button", name="Continue").click()


def test_admin_locks_a_user_after_a_passkey_in_chromium(served: tuple[str, str]) -> None:
    require(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM} (apt-get install chromium)")
    issuer, url = served
    victim = stored(url, lambda store: store.get_user_by_username(VICTIM))
    errors: list[str] = []
    refusal: list[str] = []

    def scenario() -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context()
                page = context.new_page()
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                add_virtual_authenticator(context, page)
                # sign in to the console with the password
                page.goto(issuer + "/admin")
                page.wait_for_url("**/admin/reauth**")
                page.get_by_text("Sign in to the operator console.").wait_for()
                sign_in(page, ADMIN)
                page.wait_for_url(issuer + "/admin/users")
                # the admin's passkey, added on /account
                page.goto(issuer + "/account")
                page.get_by_label("Name for the new passkey or key").fill("Admin passkey")
                page.get_by_role("button", name="Add passkey").click()
                page.get_by_text("Admin passkey").first.wait_for(timeout=30_000)
                # lock bob: the passkey is asked for first, with the reason
                page.goto(issuer + "/admin/users?q=bo")
                page.get_by_role("link", name=VICTIM).click()
                page.wait_for_url(f"{issuer}/admin/users/{victim.id}")
                page.get_by_role("button", name=f"Lock {VICTIM}").click()
                page.wait_for_url("**/admin/reauth**")
                page.get_by_text("Locking a user needs your passkey.").wait_for()
                assert page.locator("form[data-factor=password]").count() == 0
                page.get_by_role("button", name="Use passkey").click()
                page.wait_for_url(f"{issuer}/admin/users/{victim.id}")
                page.get_by_role("button", name=f"Lock {VICTIM}").click()
                page.wait_for_url(f"{issuer}/admin/users/{victim.id}?done=locked")
                assert page.locator("#status").inner_text() == "locked"
                # bob, in another browser, is refused
                other = browser.new_context().new_page()
                other.goto(issuer + "/admin")
                sign_in(other, VICTIM)
                other.locator("[role=alert]").wait_for(timeout=30_000)
                refusal.append(other.locator("[role=alert]").inner_text())
                assert "/admin/reauth" in other.url
            finally:
                browser.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(scenario).result()
    assert not [e for e in errors if "Content Security Policy" in e]
    assert refusal
    assert stored(url, lambda store: store.get_user(victim.id)).disabled

    async def audit(store: Any) -> list[dict[str, Any]]:
        return [r for r in await store.tail_audit(200) if r.get("event") == "admin_action"]

    (row,) = stored(url, audit)
    assert (row["action"], row["stepup_acr"], row["before"]) == ("lock", "phr", "active")
