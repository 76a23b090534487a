"""The operator console's pages as a browser fills them: signing in on ``/admin/reauth``
with the password, the passkey step-up a change asks for, the signed-in admin, and the
audit rows of one event."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers.account_pages import csrf_of, passkey_step_up
from tests.helpers.harness import PASSWORD, Provider
from tests.helpers.soft_authenticator import SoftAuthenticator

__all__ = ["ADMIN", "Admin", "audit_rows", "sign_in", "step_up"]

#: The username of the console tests' admin.
ADMIN = "ada"


async def sign_in(
    browser: httpx.AsyncClient, username: str, password: str = PASSWORD, expect: int = 303
) -> httpx.Response:
    """The console's sign-in page with the password."""
    page = await browser.get("/admin/reauth", params={"next": "/admin/users"})
    assert page.status_code == 200, page.text[:300]
    response = await browser.post(
        "/admin/reauth",
        params={"next": "/admin/users"},
        data={
            "csrf": csrf_of(page.text),
            "factor": "password",
            "username": username,
            "password": password,
        },
    )
    assert response.status_code == expect, f"{response.status_code}: {response.text[:400]}"
    return response


async def step_up(
    browser: httpx.AsyncClient, authenticator: SoftAuthenticator, location: str
) -> httpx.Response:
    """**Use passkey** on the step-up page at ``location`` (from a change's 303)."""
    return await passkey_step_up(
        browser, authenticator, location, options_url="/admin/reauth/webauthn"
    )


class Admin:
    """A signed-in admin: its user, browser and passkey."""

    def __init__(self, user: Any, browser: httpx.AsyncClient, passkey: SoftAuthenticator):
        self.user = user
        self.browser = browser
        self.passkey = passkey


async def audit_rows(provider: Provider, event: str) -> list[dict[str, Any]]:
    rows = await provider.store.tail_audit(200)
    return [r for r in rows if r.get("event") == event]
