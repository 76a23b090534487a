"""Acme Bank in headless Chromium against the real Provider: what the customer sees.

Uses the bank with ``phr`` lowered to 2fa (see ``totp_bank_stack``) and alice with a
password and TOTP only; the passkey journey is ``test_browser_journey``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.demo.browser import refused_without_passkey, send_exempt, sign_in, watch
from tests.demo.conftest import BankStack

pytestmark = pytest.mark.browser


def test_exempt_and_bound_transfers_on_screen(totp_bank_stack: BankStack, chromium: Any) -> None:
    """The exempt €20 runs with its explanation; the bound €1,250.00 of a payer with no
    passkey is refused (PSD2 RTS Art. 5): the form comes back as typed, saying in words
    that a passkey is needed."""
    stack = totp_bank_stack
    context = chromium.new_context()
    page = context.new_page()
    errors = watch(page)

    sign_in(page, stack)
    assert page.get_by_role("heading", name="Hello, Alice Martin").is_visible()

    # €20: exempt, no trip to the Provider.
    send_exempt(page, stack)

    # €1,250.00 is bound to amount and payee: a one-time code cannot bind them (PSD2 RTS
    # Art. 5), so alice, who has no passkey yet, is refused with the reason - never
    # approved by the code. The passkey version is test_browser_journey.
    refused_without_passkey(page, stack, "1250.00", "")
    page.goto(f"{stack.bank_url}/dashboard")
    assert "€1,250.00" not in page.content()
    assert errors == [], errors  # no CSP violation, script error or 404
    context.close()
