"""The hosted pages against WCAG 2.2 AA, checked by axe-core in Debian Chromium.

One browser walks every state a user can meet: sign-in (and its error), the one-time-code
step (and its error), the account page before and after a passkey is added, authenticator
app enrolment (and its error), recovery codes, the step-up at ``/account/reauth``, the
passkey step-up, the approval of a payment (RFC 9396 ``authorization_details``), the error
page, the outage page and the lockout notice. axe-core runs on each with the WCAG 2.0, 2.1
and 2.2 A and AA rules, and each is laid out 320 CSS pixels wide, which must not scroll
sideways (WCAG 2.2 SC 1.4.10, beyond axe-core); any serious or critical violation fails the
test, every one listed. Form errors must describe their fields and show more than colour.

A second test completes a sign-in with an authenticator-app code and a passkey step-up
with the keyboard only (WCAG 2.2 SC 2.1.1 Keyboard): Tab, typing, Enter and Space; every
field and button it focuses shows a ring of at least 3:1 (SC 2.4.7, SC 1.4.11).
"""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
import pytest

from tests.conftest import add_virtual_authenticator, require
from tests.e2e import test_passkey_step_up as e2e
from tests.helpers.axe import AXE, audit, blocking, focus_ring_contrast, reflow, tab_to
from tests.helpers.bank import PAYMENT, PHR
from tests.helpers.harness import PASSWORD, USERNAME

pytestmark = pytest.mark.browser

#: the Provider under uvicorn, shared with the passkey journey
served = e2e.served


def _show_outage(page: Any, served: e2e.Served) -> str:
    """A front-channel URL answered as the Provider answers it while its store is down
    (its own handler and page; the stylesheet from the served Provider)."""
    from starlette.requests import Request

    from stepauth.provider.error_responses import store_unavailable_handler
    from stepauth.store.adapter import StoreUnavailable

    url = f"{served.issuer}/account/outage"
    request = Request({"type": "http", "method": "GET", "path": "/account/outage", "headers": []})
    response = e2e._run(store_unavailable_handler(request, StoreUnavailable("down")))
    page.route(
        url,
        lambda route: route.fulfill(
            status=response.status_code, body=bytes(response.body), headers=dict(response.headers)
        ),
    )
    return url


def _settle(page: Any) -> None:
    """Wait until the browser has left for the RP: its callback is answered in the browser
    (``RP``), or ends on Chromium's error page when the answer loses the race; either way
    the next navigation is not interrupted by it."""
    deadline = time.monotonic() + 15
    while not page.url.startswith(("https://rp.example", "chrome-error:")):
        assert time.monotonic() < deadline, f"still on {page.url}"
        page.wait_for_timeout(50)
    page.wait_for_load_state("load")


def test_every_page_state_meets_wcag_2_2_aa(served: e2e.Served, chromium: Any) -> None:
    require(AXE.is_file(), f"axe-core at {AXE} (make peers)")
    from playwright.sync_api import expect

    alice_id, _, secret = e2e._setup_users(served)
    context = chromium.new_context(bypass_csp=True)
    page = context.new_page()
    cdp, authenticator = add_virtual_authenticator(context, page)
    rp = e2e.RP(served, page)
    found: list[dict[str, Any]] = []
    checked: list[str] = []

    def check(state: str) -> None:
        checked.append(state)
        page.wait_for_load_state("load")
        found.extend(audit(page, state))
        found.extend(reflow(page, state))

    # sign-in, wrong then right password; one-time code, wrong then right
    _, url = rp.request(acr_values=e2e.ACR_2FA)
    page.goto(url)
    check("sign-in")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Continue").click()
    page.locator("[role=alert]").first.wait_for()
    check("sign-in, refused")
    # the refusal is tied to the fields and marked by more than its colour (WCAG 2.2 SC 1.4.1)
    expect(page.get_by_label("Password")).to_have_accessible_description(
        re.compile("could not verify")
    )
    icon = "() => getComputedStyle(document.querySelector('.error'), '::before').content"
    assert page.evaluate(icon) not in {"none", "normal", ""}
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("One-time code").wait_for()
    check("one-time code")
    page.get_by_label("One-time code").fill("000000")
    page.get_by_role("button", name="Continue").click()
    page.locator("[role=alert]").first.wait_for()
    check("one-time code, refused")
    page.get_by_label("One-time code").fill(pyotp.TOTP(secret).now())
    back = rp.follow(page.get_by_role("button", name="Continue").click)
    assert "code" in back, back
    _settle(page)

    # the account page, before and after a passkey
    page.goto(f"{served.issuer}/account")
    check("account")
    page.get_by_role("button", name="Add passkey").click()
    deadline = time.monotonic() + 15
    while ("webauthn", False) not in e2e._factor_kinds(served, alice_id):
        assert time.monotonic() < deadline, "the passkey was not registered"
        time.sleep(0.1)
    page.goto(f"{served.issuer}/account")
    check("account with factors")

    # authenticator app enrolment, wrong code; recovery codes
    with page.expect_navigation():
        page.get_by_role("button", name="Add authenticator app").click()
    if "/account/reauth" in page.url:
        # a change after a new factor: confirm with the strongest one first
        check("account step-up")
        page.get_by_role("button", name="Use passkey").click()
        page.wait_for_url(f"{served.issuer}/account**")
        page.get_by_role("button", name="Add authenticator app").click()
    page.locator("#totp-secret").wait_for()
    check("authenticator app enrolment")
    page.get_by_label("One-time code").fill("000000")
    page.get_by_role("button", name="Confirm").click()
    page.locator("[role=alert]").first.wait_for()
    check("authenticator app enrolment, refused")
    expect(page.get_by_label("One-time code")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("One-time code")).to_have_accessible_description(re.compile(r"\w"))
    page.goto(f"{served.issuer}/account")
    page.get_by_role("button", name="Create recovery codes").click()
    page.locator("#recovery-codes").wait_for()
    check("recovery codes")

    # passkey step-up; payment approval
    served.clock.offset += 120
    _, url = rp.request(acr_values=PHR, prompt="login")
    page.goto(url)
    page.get_by_role("button", name="Use passkey").wait_for()
    check("passkey step-up")
    cdp.send(
        "WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": False}
    )
    page.get_by_role("button", name="Use passkey").click()
    page.locator("#webauthn-status").filter(has_text="could not verify").wait_for()
    check("passkey step-up, refused")
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": True})
    _, url = rp.push(PAYMENT, acr_values=PHR, prompt="login")
    page.goto(url)
    page.locator("section[aria-labelledby=details-heading]").wait_for()
    check("payment approval")

    # error page, outage page
    page.goto(f"{served.issuer}/authorize?client_id=no-such-client&response_type=code")
    check("error page")
    page.goto(_show_outage(page, served))
    assert page.get_by_role("heading").first.inner_text() != ""
    check("outage page")

    # lockout: a fresh browser, five wrong codes
    context.clear_cookies()
    served.clock.offset += 120
    _, url = rp.request(acr_values=e2e.ACR_2FA)
    page.goto(url)
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    app = page.get_by_role("group", name="Authenticator app")
    for _ in range(5):
        app.get_by_label("One-time code").fill("000000")
        with page.expect_navigation():
            app.get_by_role("button", name="Continue").click()
    page.locator("[data-reason=factor_locked][role=alert]").wait_for()
    check("lockout notice")
    context.close()

    assert "account step-up" in checked, checked
    assert len(checked) == 16, checked
    assert blocking(found) == [], "\n".join(blocking(found))


def test_totp_and_passkey_step_up_by_keyboard_only(served: e2e.Served, chromium: Any) -> None:
    alice_id, _, secret = e2e._setup_users(served)
    passkey = e2e._enrol_foreign_passkey(served, alice_id)
    context = chromium.new_context()
    page = context.new_page()
    cdp, authenticator = add_virtual_authenticator(context, page)
    cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator, "credential": passkey})
    rp = e2e.RP(served, page)

    def keys(*presses: str) -> None:
        for key in presses:
            page.keyboard.press(key)

    # password, then the authenticator-app code: Tab, type, Enter
    verifier, url = rp.request(acr_values=e2e.ACR_2FA)
    page.goto(url)
    tab_to(page, "input[name=username]")
    rings = [focus_ring_contrast(page)]
    page.keyboard.type(USERNAME)
    tab_to(page, "input[name=password]")
    rings.append(focus_ring_contrast(page))
    page.keyboard.type(PASSWORD)
    tab_to(page, "button")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Continue"
    rings.append(focus_ring_contrast(page))
    keys("Enter")
    page.get_by_label("One-time code").wait_for()
    tab_to(page, "input[name=code]")
    page.keyboard.type(pyotp.TOTP(secret).now())
    back = rp.follow(lambda: keys("Enter"))
    assert "code" in back, back
    _settle(page)
    assert rp.redeem(back["code"], verifier)["id_token"]

    # passkey step-up: Tab to **Use passkey**, Enter; then again with Space
    for key in ("Enter", "Space"):
        served.clock.offset += 120
        verifier, url = rp.request(acr_values=PHR, prompt="login")
        page.goto(url)
        tab_to(page, "form[data-factor=webauthn] button")
        focused = page.evaluate("() => document.activeElement.textContent.trim()")
        assert focused == "Use passkey"
        rings.append(focus_ring_contrast(page))
        back = rp.follow(lambda key=key: keys(key))
        assert "code" in back, (key, back)
        _settle(page)
    context.close()
    # each focused field and button showed a ring of at least 3:1 (WCAG 2.2 SC 2.4.7, 1.4.11)
    assert min(rings) >= 3, rings
