"""A transaction-bound step-up from end to end, through the real Provider (RFC 9396, PSD2
RTS Art. 5 dynamic linking).

The demo's own policy (transfer → ``phr``, bound) on ``http://localhost``: alice enrols a
passkey (a software authenticator producing real P-256 assertions) and approves each
payment with it; the assertion's challenge is ``SHA-256(nonce ‖ JCS(details))``. A payer
who has no passkey is refused with ``unmet_authentication_requirements`` - a one-time code
cannot bind amount and payee, so it never approves a payment silently.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urljoin

import httpx

from tests.demo.conftest import (
    BankStack,
    Forms,
    bank_csrf,
    enrol_passkey,
    sign_in,
    step_up_with_passkey,
)

PAYMENT = {"payee": "py-1", "amount": "1250.00", "reference": "Invoice 7"}


def _confirm(ua: httpx.Client, stack: BankStack, page: httpx.Response) -> httpx.Response:
    form = next(f for f in Forms(page.text).forms if f["action"] != "/logout")
    return ua.post(f"{stack.bank_url}{form['action']}", data=form["fields"])


def _transfer(ua: httpx.Client, stack: BankStack, **fields: str) -> httpx.Response:
    csrf = bank_csrf(ua.get(f"{stack.bank_url}/transfer").text)
    return ua.post(f"{stack.bank_url}/transfer", data={**PAYMENT, **fields, "csrf": csrf})


def test_transfer_1250_is_shown_approved_and_executed_once(
    localhost_bank_stack: BankStack, tmp_path: Path
) -> None:
    """RFC 9396 §2; PSD2 RTS Art. 5(1)(b); SPC CollectedClientPaymentData; WebAuthn L3 §13.5.3:
    the Provider shows amount and payee; the passkey signs the hash of exactly those details;
    the grant runs the payment once."""
    stack = localhost_bank_stack
    passkey = enrol_passkey(tmp_path, stack, "alice")
    with httpx.Client(timeout=10) as ua:
        sign_in(ua, stack, "alice")
        asked = _transfer(ua, stack)
        assert asked.status_code == 303
        shown, signed, page = step_up_with_passkey(ua, stack, asked, passkey)
        assert len(shown) == 1, "one prompt for one transaction"
        assert "EUR 1,250.00" in shown[0]
        assert "Jane Doe" in shown[0]
        details = json.loads(stack.pushed[-1]["authorization_details"])
        assert details[0]["instructedAmount"] == {"currency": "EUR", "amount": "1250.00"}
        assert len(signed) == 1  # one assertion, over this transaction's challenge
        # Back at the bank: a confirmation page, never an automatic replay of the POST.
        assert "/confirm?" in str(page.url)
        assert "€1,250.00" in page.text
        done = _confirm(ua, stack, page)
        assert done.status_code == 200
        assert "Sent €1,250.00 to Jane Doe" in done.text
        assert "Why Acme Bank asked you to verify" in done.text

        # The same payment again: the grant was used up, so it asks again.
        pushes = len(stack.pushed)
        again = _confirm(ua, stack, page)
        assert again.status_code == 303
        assert again.headers["location"].startswith(f"{stack.issuer}/authorize")
        assert len(stack.pushed) == pushes + 1
        dashboard = ua.get(f"{stack.bank_url}/dashboard").text
        assert dashboard.count("€1,250.00") == 1
        assert "bound step-up" in dashboard


def test_a_grant_for_one_payment_does_not_pay_another(
    localhost_bank_stack: BankStack, tmp_path: Path
) -> None:
    """PSD2 RTS Art. 5(1)(d): the grant for €1,250.00 does not cover €1,250.01."""
    stack = localhost_bank_stack
    passkey = enrol_passkey(tmp_path, stack, "alice")
    with httpx.Client(timeout=10) as ua:
        sign_in(ua, stack, "alice")
        _shown, _signed, page = step_up_with_passkey(ua, stack, _transfer(ua, stack), passkey)
        assert "/confirm?" in str(page.url)
        tampered = _transfer(ua, stack, amount="1250.01")
        assert tampered.status_code == 303, "a changed amount needs its own approval"
        assert _transfer(ua, stack).status_code == 200


def test_payer_without_a_passkey_is_refused_not_approved_by_a_code(
    totp_bank_stack: BankStack,
) -> None:
    """PSD2 RTS Art. 5: alice has a password and TOTP but no passkey; the Provider answers
    the bound transfer with unmet_authentication_requirements - no page offers the
    one-time code instead, and no payment is made. The bank says so in words, with a link
    to add a passkey, on the transfer form as she typed it."""
    stack = totp_bank_stack
    with httpx.Client(timeout=10) as ua:
        sign_in(ua, stack, "alice")
        response = _transfer(ua, stack)
        assert response.status_code == 303
        for _ in range(6):
            if response.status_code not in (302, 303):
                break
            location = urljoin(str(response.url), response.headers["location"])
            assert "/interaction/" not in location, "no prompt for an approval it cannot give"
            response = ua.get(location)
        assert str(response.url).startswith(f"{stack.bank_url}/callback")
        assert "error=unmet_authentication_requirements" in str(response.url)
        assert response.status_code == 403
        assert "unmet_authentication_requirements" not in response.text
        assert "your account has none that can approve it yet" in response.text
        assert f'href="{stack.issuer}/account?return_to=acme-bank"' in response.text
        form = next(f for f in Forms(response.text).forms if f["action"] == "/transfer")
        assert form["fields"]["amount"] == "1250.00"
        assert 'value="py-1" selected' in response.text
        assert 'value="Invoice 7"' in response.text
        assert "€1,250.00" not in ua.get(f"{stack.bank_url}/dashboard").text
