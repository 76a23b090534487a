"""The hosted pages against WCAG 2.2 AA, checked by axe-core in Debian Chromium.

One browser walks every state a user can meet (``tests/helpers/page_states.py``, the walk
the page screenshots take too): sign-in (and its error), the one-time-code step (and its
error), the account page before and after a passkey is added, the step-up at
``/account/reauth``, authenticator app enrolment (and its error), recovery codes, the
passkey step-up (and its error), the approval of a payment (RFC 9396
``authorization_details``), the error page, the outage page and the lockout notice.
axe-core runs on each with the WCAG 2.0, 2.1 and 2.2 A and AA rules, and each is laid out
320 CSS pixels wide, which must not scroll sideways (WCAG 2.2 SC 1.4.10, beyond axe-core);
any serious or critical violation fails the test, every one listed. Form errors must
describe their fields and show more than colour.

A second test completes a sign-in with an authenticator-app code and a passkey step-up
with the keyboard only (WCAG 2.2 SC 2.1.1 Keyboard): Tab, typing, Enter and Space; every
field and button it focuses shows a ring of at least 3:1 (SC 2.4.7, SC 1.4.11).
"""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest

from tests.conftest import add_virtual_authenticator, require
from tests.helpers.axe import AXE, audit, blocking, focus_ring_contrast, reflow, tab_to
from tests.helpers.bank import PHR
from tests.helpers.browser_provider import (
    ACR_2FA,
    RP,
    Served,
    enrol_foreign_passkey,
    settle,
    setup_users,
)
from tests.helpers.harness import PASSWORD, USERNAME
from tests.helpers.page_states import STATES, walk

pytestmark = pytest.mark.browser


def test_every_page_state_meets_wcag_2_2_aa(served: Served, chromium: Any) -> None:
    require(AXE.is_file(), f"axe-core at {AXE} (make peers)")
    from playwright.sync_api import expect

    context = chromium.new_context(bypass_csp=True)
    page = context.new_page()
    found: list[dict[str, Any]] = []

    def check(state: str, page: Any) -> None:
        found.extend(audit(page, state))
        found.extend(reflow(page, state))
        if state == "sign-in, refused":
            # the refusal is tied to the fields and marked by more than its colour
            # (WCAG 2.2 SC 3.3.1, SC 1.4.1)
            expect(page.get_by_label("Password")).to_have_accessible_description(
                re.compile("could not verify")
            )
            icon = "() => getComputedStyle(document.querySelector('.error'), '::before').content"
            assert page.evaluate(icon) not in {"none", "normal", ""}
        if state == "authenticator app enrolment, refused":
            code = page.get_by_label("One-time code")
            expect(code).to_have_attribute("aria-invalid", "true")
            expect(code).to_have_accessible_description(re.compile(r"\w"))
        if state == "outage page":
            assert page.get_by_role("heading").first.inner_text() != ""

    checked = walk(served, page, check)
    context.close()

    assert checked == list(STATES), checked
    assert len(checked) == 16, checked
    assert blocking(found) == [], "\n".join(blocking(found))


def test_totp_and_passkey_step_up_by_keyboard_only(served: Served, chromium: Any) -> None:
    alice_id, _, secret = setup_users(served)
    passkey = enrol_foreign_passkey(served, alice_id)
    context = chromium.new_context()
    page = context.new_page()
    cdp, authenticator = add_virtual_authenticator(context, page)
    cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator, "credential": passkey})
    rp = RP(served, page)

    def keys(*presses: str) -> None:
        for key in presses:
            page.keyboard.press(key)

    # password, then the authenticator-app code: Tab, type, Enter
    verifier, url = rp.request(acr_values=ACR_2FA)
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
    settle(page)
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
        settle(page)
    context.close()
    # each focused field and button showed a ring of at least 3:1 (WCAG 2.2 SC 2.4.7, 1.4.11)
    assert min(rings) >= 3, rings
