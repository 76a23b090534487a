"""A transaction-bound step-up from end to end, through the real Provider (RFC 9396, PSD2
RTS Art. 5 dynamic linking).

The demo asks ``phr`` (a passkey); here the bank runs the same policy with ``phr`` lowered
to 2fa, so the Provider's one-time-code form completes the step-up with a code a test can
compute. Everything else - PAR, the details shown, the granted details, the single use of
the grant - is the demo's own path.
"""

from __future__ import annotations

import httpx

from tests.demo.conftest import BankStack, Forms, bank_csrf, sign_in, step_up_with_totp

ACR_2FA = "urn:stepauth:acr:2fa"


def _confirm(ua: httpx.Client, stack: BankStack, page: httpx.Response) -> httpx.Response:
    form = next(f for f in Forms(page.text).forms if f["action"] != "/logout")
    return ua.post(f"{stack.bank_url}{form['action']}", data=form["fields"])


def test_transfer_1250_is_shown_approved_and_executed_once(totp_bank_stack: BankStack) -> None:
    """RAR-04/G-10: the Provider shows amount and payee; the grant runs the payment once."""
    stack = totp_bank_stack
    with httpx.Client(timeout=10) as ua:
        page = sign_in(ua, stack, "alice")
        csrf = bank_csrf(ua.get(f"{stack.bank_url}/transfer").text)
        fields = {"payee": "py-1", "amount": "1250.00", "reference": "Invoice 7", "csrf": csrf}
        asked = ua.post(f"{stack.bank_url}/transfer", data=fields)
        assert asked.status_code == 303
        shown, page = step_up_with_totp(ua, stack, asked)
        assert "€1,250.00" in shown
        assert "Jane Doe" in shown
        # Back at the bank: a confirmation page, never an automatic replay of the POST.
        assert "/confirm?" in str(page.url)
        assert "€1,250.00" in page.text
        done = _confirm(ua, stack, page)
        assert done.status_code == 200
        assert "Sent €1,250.00 to Jane Doe" in done.text
        assert "Why Acme Bank asked you to verify" in done.text
        assert ACR_2FA in done.text  # what the token now says
        assert "otp" in done.text

        # The same payment again: the grant was used up, so it asks again.
        pushes = len(stack.pushed)
        again = _confirm(ua, stack, page)
        assert again.status_code == 303
        assert again.headers["location"].startswith(f"{stack.issuer}/authorize")
        assert len(stack.pushed) == pushes + 1
        dashboard = ua.get(f"{stack.bank_url}/dashboard").text
        assert dashboard.count("€1,250.00") == 1
        assert "bound step-up" in dashboard


def test_a_grant_for_one_payment_does_not_pay_another(totp_bank_stack: BankStack) -> None:
    """Amount changed after approval: the grant for €1,250.00 does not cover €1,250.01."""
    stack = totp_bank_stack
    with httpx.Client(timeout=10) as ua:
        sign_in(ua, stack, "alice")
        csrf = bank_csrf(ua.get(f"{stack.bank_url}/transfer").text)
        fields = {"payee": "py-1", "amount": "1250.00", "reference": "", "csrf": csrf}
        _shown, page = step_up_with_totp(
            ua, stack, ua.post(f"{stack.bank_url}/transfer", data=fields)
        )
        assert "/confirm?" in str(page.url)
        tampered = ua.post(f"{stack.bank_url}/transfer", data={**fields, "amount": "1250.01"})
        assert tampered.status_code == 303, "a changed amount needs its own approval"
        assert ua.post(f"{stack.bank_url}/transfer", data=fields).status_code == 200


def test_pii_after_step_up_shows_why_and_the_token(totp_bank_stack: BankStack) -> None:
    """SU-06: a GET action resumes by redirect and shows the explanation and acr/amr."""
    stack = totp_bank_stack
    with httpx.Client(timeout=10) as ua:
        sign_in(ua, stack, "alice")
        _shown, page = step_up_with_totp(ua, stack, ua.get(f"{stack.bank_url}/profile/full"))
        assert str(page.url) == f"{stack.bank_url}/profile/full"
        assert "alice@example.com" in page.text
        assert "view_pii requires" in page.text
        assert ACR_2FA in page.text
        # Within 15 minutes the same page asks nothing more.
        assert ua.get(f"{stack.bank_url}/profile/full").status_code == 200
