"""Acme Bank in headless Chromium against the real Provider: what the customer sees.

Uses the bank with ``phr`` lowered to 2fa (see ``totp_bank_stack``) so the Provider's
one-time-code form completes the step-up; the passkey version of this journey needs the
Provider's passkey enrolment and step-up pages.
"""

from __future__ import annotations

from typing import Any

import pyotp
import pytest

from tests.demo.conftest import TOTP_SECRET, BankStack

pytestmark = pytest.mark.browser

PASSWORD = "alice-loves-acme"


def _continue(page: Any, factor: str) -> None:
    page.locator(f"form[data-factor={factor}]").get_by_role("button", name="Continue").click()


def test_exempt_and_bound_transfers_on_screen(totp_bank_stack: BankStack, chromium: Any) -> None:
    """G-10: the Provider's page shows €1,250.00 and the payee; the bank shows why it asked."""
    stack = totp_bank_stack
    context = chromium.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )

    page.goto(stack.bank_url)
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    _continue(page, "password")
    page.wait_for_url(f"{stack.bank_url}/dashboard")
    assert page.get_by_role("heading", name="Hello, Alice Martin").is_visible()

    # €20: exempt, no trip to the Provider.
    page.goto(f"{stack.bank_url}/transfer")
    page.get_by_label("Amount (EUR)").fill("20")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"{stack.bank_url}/transfer")
    assert page.get_by_role("heading", name="Sent €20.00 to Jane Doe").is_visible()
    assert "exempt under low_value" in page.locator("pre.explain").inner_text()

    # €1,250.00: the Provider shows exactly what is approved.
    page.goto(f"{stack.bank_url}/transfer")
    page.get_by_label("Amount (EUR)").fill("1250.00")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"{stack.issuer}/**")
    for _ in range(3):  # the Provider may ask for the password again before the code
        page.wait_for_load_state("networkidle")
        if page.url.startswith(stack.bank_url):
            break
        approving = page.locator("section[aria-labelledby=details-heading]").inner_text()
        assert "€1,250.00" in approving
        assert "Jane Doe" in approving
        if page.locator("form[data-factor=password]").count():
            page.get_by_label("Password").fill(PASSWORD)
            _continue(page, "password")
        else:
            page.get_by_label("One-time code").fill(pyotp.TOTP(TOTP_SECRET).now())
            _continue(page, "totp")
    page.wait_for_url(f"{stack.bank_url}/confirm?**")
    page.get_by_role("button", name="Confirm").click()
    assert page.get_by_role("heading", name="Sent €1,250.00 to Jane Doe").is_visible()
    token = page.get_by_test_id("token").inner_text()
    assert "urn:stepauth:acr:2fa" in token
    assert "otp" in token
    assert "Why Acme Bank asked you to verify" in page.content()
    assert errors == [], errors  # no CSP violation, no script error
    context.close()
