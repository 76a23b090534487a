"""Every state of the hosted pages a user can meet, reached in one browser.

:func:`walk` drives a Playwright page on a Provider served by
:func:`tests.helpers.browser_provider.serve_provider` through the :data:`STATES`, in that
order, and calls ``visit(state, page)`` at each: sign-in (and its error), the one-time-code
step (and its error), the account page before and after a passkey is added, the step-up at
``/account/reauth`` before a change, authenticator app enrolment (and its error), recovery
codes, the passkey step-up (and its error), the approval of a payment (RFC 9396
``authorization_details``), the error page, the outage page and the lockout notice.

The walk finds fields, buttons and messages by their names, ids, form actions and ARIA
roles, never by their words: it works in every language the browser asks for
(``Accept-Language``, e.g. a context opened with ``locale="de-DE"``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pyotp
from starlette.requests import Request

from stepauth.provider.error_responses import store_unavailable_handler
from stepauth.provider.i18n.current import activate, restore
from stepauth.store.adapter import StoreUnavailable
from tests.conftest import add_virtual_authenticator
from tests.helpers.bank import PAYMENT, PHR
from tests.helpers.browser_provider import (
    ACR_2FA,
    RP,
    Served,
    goto,
    run,
    settle,
    setup_users,
    wait_for_factor,
)
from tests.helpers.harness import PASSWORD, USERNAME

__all__ = ["STATES", "Visit", "file_name", "show_outage", "walk"]

#: The page states, in the order :func:`walk` reaches them.
STATES: tuple[str, ...] = (
    "sign-in",
    "sign-in, refused",
    "one-time code",
    "one-time code, refused",
    "account",
    "account with factors",
    "account step-up",
    "authenticator app enrolment",
    "authenticator app enrolment, refused",
    "recovery codes",
    "passkey step-up",
    "passkey step-up, refused",
    "payment approval",
    "error page",
    "outage page",
    "lockout notice",
)

#: ``visit(state, page)``: called with the page showing ``state``.
Visit = Callable[[str, Any], None]

WRONG_PASSWORD = "not the password at all"
WRONG_CODE = "000000"


def file_name(state: str) -> str:
    """``NN-state.png``: the state's place in :data:`STATES` and its name in lower-case
    words joined by hyphens (``02-sign-in-refused.png``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", state.lower()).strip("-")
    return f"{STATES.index(state) + 1:02d}-{slug}.png"


def show_outage(page: Any, served: Served) -> str:
    """A front-channel URL answered as the Provider answers it while its store is down
    (its own handler and page, in the language of the page open now; the stylesheet from
    the served Provider)."""
    url = f"{served.issuer}/account/outage"
    lang = page.evaluate("() => document.documentElement.lang") or "en"
    request = Request({"type": "http", "method": "GET", "path": "/account/outage", "headers": []})

    async def answer() -> Any:
        token = activate(lang)  # the locale id the Provider chose (`<html lang>`)
        try:
            return await store_unavailable_handler(request, StoreUnavailable("down"))
        finally:
            restore(token)

    response = run(answer())
    page.route(
        url,
        lambda route: route.fulfill(
            status=response.status_code, body=bytes(response.body), headers=dict(response.headers)
        ),
    )
    return url


def _sign_in(page: Any, password: str) -> None:
    form = page.locator("form[data-factor=password]")
    form.locator("[name=username]").fill(USERNAME)
    form.locator("[name=password]").fill(password)
    form.locator("button[type=submit]").click()


def _code(page: Any) -> Any:
    return page.locator("form[data-factor=totp] [name=code]")


def _submit(page: Any, form: str) -> Any:
    return page.locator(f"{form} button[type=submit]")


def walk(served: Served, page: Any, visit: Visit) -> list[str]:
    """Take ``page`` (a fresh page of its own browser context) through :data:`STATES` on
    ``served``, calling ``visit`` at each; returns the states visited (all of them, in
    order, or the walk fails). Sets up alice and bob (:func:`setup_users`) and a DevTools
    virtual authenticator in the page."""
    alice_id, _, secret = setup_users(served)
    cdp, authenticator = add_virtual_authenticator(page.context, page)
    rp = RP(served, page)
    visited: list[str] = []

    def at(state: str) -> None:
        assert state == STATES[len(visited)], (state, visited)
        visited.append(state)
        page.wait_for_load_state("load")
        visit(state, page)

    # sign-in, wrong then right password; one-time code, wrong then right
    _, url = rp.request(acr_values=ACR_2FA)
    goto(page, url)
    page.locator("form[data-factor=password]").wait_for()
    at("sign-in")
    _sign_in(page, WRONG_PASSWORD)
    page.locator("[role=alert]").first.wait_for()
    at("sign-in, refused")
    _sign_in(page, PASSWORD)
    _code(page).wait_for()
    at("one-time code")
    _code(page).fill(WRONG_CODE)
    _submit(page, "form[data-factor=totp]").click()
    page.locator("[role=alert]").first.wait_for()
    at("one-time code, refused")
    _code(page).fill(pyotp.TOTP(secret).now())
    back = rp.follow(_submit(page, "form[data-factor=totp]").click)
    assert "code" in back, back
    settle(page)

    # the account page, before and after a passkey
    goto(page, f"{served.issuer}/account")
    at("account")
    page.locator("[data-add-webauthn=passkey]").click()
    wait_for_factor(served, alice_id, "webauthn")
    page.goto(f"{served.issuer}/account")
    at("account with factors")

    # a change after a new factor: confirmed with the strongest one first; then
    # authenticator app enrolment, wrong code; recovery codes
    with page.expect_navigation():
        _submit(page, "form[action='/account/totp']").click()
    assert "/account/reauth" in page.url, page.url
    at("account step-up")
    _submit(page, "form[data-factor=webauthn]").click()
    page.wait_for_url(f"{served.issuer}/account**")
    _submit(page, "form[action='/account/totp']").click()
    page.locator("#totp-secret").wait_for()
    at("authenticator app enrolment")
    page.locator("form[action='/account/totp/confirm'] [name=code]").fill(WRONG_CODE)
    _submit(page, "form[action='/account/totp/confirm']").click()
    page.locator("[role=alert]").first.wait_for()
    at("authenticator app enrolment, refused")
    page.goto(f"{served.issuer}/account")
    _submit(page, "form[action='/account/recovery']").click()
    page.locator("#recovery-codes").wait_for()
    at("recovery codes")

    # passkey step-up, and its failure without user verification; payment approval
    served.clock.offset += 120
    _, url = rp.request(acr_values=PHR, prompt="login")
    page.goto(url)
    passkey = _submit(page, "form[data-factor=webauthn]")
    passkey.wait_for()
    at("passkey step-up")
    cdp.send(
        "WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": False}
    )
    passkey.click()
    page.locator("#webauthn-status.error").wait_for()
    at("passkey step-up, refused")
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": True})
    _, url = rp.push(PAYMENT, acr_values=PHR, prompt="login")
    page.goto(url)
    page.locator("section[aria-labelledby=details-heading]").wait_for()
    at("payment approval")

    # error page, outage page
    page.goto(f"{served.issuer}/authorize?client_id=no-such-client&response_type=code")
    at("error page")
    page.goto(show_outage(page, served))
    at("outage page")

    # lockout: a fresh browser session, five wrong codes
    page.context.clear_cookies()
    served.clock.offset += 120
    _, url = rp.request(acr_values=ACR_2FA)
    page.goto(url)
    _sign_in(page, PASSWORD)
    for _ in range(5):
        _code(page).fill(WRONG_CODE)
        with page.expect_navigation():
            _submit(page, "form[data-factor=totp]").click()
    page.locator("[data-reason=factor_locked][role=alert]").wait_for()
    at("lockout notice")

    assert visited == list(STATES), visited
    return visited
