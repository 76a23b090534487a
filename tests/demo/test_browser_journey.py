"""The newcomer's journey in Chromium with a virtual passkey (issue 7), each step checked on
screen and in what the resulting ID token says (shown by the bank: acr, amr, auth_time):

sign in with a password → add a passkey at the Provider (after her authenticator app's
code: password + TOTP is her binding level) → view personal data (``phr``
step-up) → transfer €1,250.00 (bound step-up; the Provider shows amount and payee) →
transfer €20 (exempt, no prompt) → change payout details (fresh step-up, bound) → grant a
role in the admin console (``phr`` already fresh: no prompt).
"""

from __future__ import annotations

from typing import Any

import pyotp
import pytest

from tests.conftest import add_virtual_authenticator
from tests.demo.conftest import TOTP_SECRET, BankStack

pytestmark = pytest.mark.browser

PASSWORD = "alice-loves-acme"


def _use_passkey(page: Any, stack: BankStack) -> None:
    """At the Provider's step-up page: one click on Use passkey, back to the bank."""
    page.wait_for_url(f"{stack.issuer}/**")
    page.get_by_role("button", name="Use passkey").click()
    page.wait_for_url(f"{stack.bank_url}/**")


def _token(page: Any) -> str:
    return str(page.get_by_test_id("token").inner_text())


def _confirm(page: Any, stack: BankStack) -> None:
    assert "/confirm?" in page.url, page.locator("main").inner_text()
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()


def test_passkey_journey(localhost_bank_stack: BankStack, chromium: Any) -> None:
    """SU-06, RAR-04, G-10: each step-up at the right place, each result in the token."""
    stack = localhost_bank_stack
    context = chromium.new_context()
    page = context.new_page()
    add_virtual_authenticator(context, page)

    # Sign in with the password only.
    page.goto(f"{stack.bank_url}/login")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("form[data-factor=password]").get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{stack.bank_url}/dashboard")
    assert "acr urn:stepauth:acr:1fa" in page.get_by_test_id("session").inner_text()

    # Add a passkey on the Provider's account page. alice signs in with password + TOTP,
    # so binding a new authenticator needs both (NIST SP 800-63B-4 §6.1.2.1): the
    # password is fresh, the step-up page asks for the authenticator app's code only.
    page.goto(f"{stack.issuer}/account")
    page.get_by_role("button", name="Add passkey").click()
    page.wait_for_url(f"{stack.issuer}/account/reauth**")
    assert page.locator("form[data-factor=password]").count() == 0
    page.get_by_label("One-time code").fill(pyotp.TOTP(TOTP_SECRET).now())
    page.locator("form[data-factor=totp]").get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{stack.issuer}/account")
    # Her session is now at her binding level: the passkey counts at once, no hold.
    page.get_by_label("Name for the new passkey or key").fill("Laptop")
    page.get_by_role("button", name="Add passkey").click()
    page.wait_for_selector("text=Laptop >> nth=0")
    page.wait_for_load_state()
    assert "Laptop" in page.locator("table").inner_text()
    assert "on hold" not in page.locator("table").inner_text()

    # Personal data: phr within 15 minutes.
    page.goto(f"{stack.bank_url}/profile/full")
    _use_passkey(page, stack)
    assert page.url == f"{stack.bank_url}/profile/full"
    assert "alice@example.com" in page.get_by_test_id("pii").inner_text()
    assert "view_pii requires phr with max_age=900" in page.locator("pre.explain").inner_text()
    token = _token(page)
    assert "phr" in token
    assert "s ago" in token

    # €1,250.00: the Provider shows exactly what is approved; the token is bound to it.
    page.goto(f"{stack.bank_url}/transfer")
    page.get_by_label("Amount (EUR)").fill("1250.00")
    page.get_by_label("Reference").fill("Invoice 2026-117")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"{stack.issuer}/**")
    approving = page.locator("section[aria-labelledby=details-heading]").inner_text()
    assert "EUR 1,250.00" in approving
    assert "Jane Doe" in approving
    _use_passkey(page, stack)
    _confirm(page, stack)
    assert page.get_by_role("heading", name="Sent €1,250.00 to Jane Doe").is_visible()
    assert "Why Acme Bank asked you to verify" in page.content()
    assert "phr" in _token(page)

    # €20: exempt (the counters restarted at the SCA above), no trip to the Provider.
    page.goto(f"{stack.bank_url}/transfer")
    page.get_by_label("Amount (EUR)").fill("20")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"{stack.bank_url}/transfer")
    assert page.get_by_role("heading", name="Sent €20.00 to Jane Doe").is_visible()
    assert "exempt under low_value" in page.locator("pre.explain").inner_text()

    # Change payout details: a new step-up now (max_age=0), bound to the new account.
    page.goto(f"{stack.bank_url}/payout")
    page.get_by_label("New IBAN").fill("DE44 5001 0517 5407 3249 31")
    page.get_by_role("button", name="Change payout account").click()
    page.wait_for_url(f"{stack.issuer}/**")
    assert "DE" in page.locator("section[aria-labelledby=details-heading]").inner_text()
    _use_passkey(page, stack)
    _confirm(page, stack)
    assert page.get_by_role("heading", name="Payout details changed").is_visible()
    assert "max_age=0" in page.locator("pre.explain").inner_text()
    assert "phr" in _token(page)

    # Admin: granting a role needs phr within 5 minutes, which the session already has.
    page.goto(f"{stack.bank_url}/admin")
    page.get_by_label("User").select_option("bob")
    page.get_by_label("Role").select_option("support")
    page.get_by_role("button", name="Grant role").click()
    page.wait_for_url(f"{stack.bank_url}/admin/roles")
    assert page.get_by_role("heading", name="Granted support to bob").is_visible()
    assert "Why no new verification was needed" in page.content()

    dashboard = page.goto(f"{stack.bank_url}/dashboard")
    assert dashboard is not None
    text = page.locator("main").inner_text()
    assert "bound step-up" in text
    assert "low_value exemption" in text
    context.close()
