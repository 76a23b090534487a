"""What each Acme Bank action asks the Provider for, read from its pushed request (RFC 9126):
the policy's level and freshness, and for bound actions the exact RFC 9396 details."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.demo.conftest import BankStack, bank_csrf, essential_or_values, sign_in


def _pushed_after(stack: BankStack, response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 303, response.text[:300]
    assert response.headers["location"].startswith(f"{stack.issuer}/authorize?")
    return stack.pushed[-1]


@contextmanager
def _alice_on(stack: BankStack, page: str) -> Iterator[tuple[httpx.Client, str]]:
    """A browser signed in to the bank as alice, and the CSRF token of the bank's ``page``."""
    with httpx.Client(timeout=10) as ua:
        sign_in(ua, stack, "alice")
        yield ua, bank_csrf(ua.get(f"{stack.bank_url}{page}").text)


def _push(ua: httpx.Client, stack: BankStack, path: str, **form: str) -> dict[str, str]:
    """Post the bank's form at ``path``; the request the bank pushed to the Provider."""
    return _pushed_after(stack, ua.post(f"{stack.bank_url}{path}", data=form))


def test_add_payee_is_bound_to_the_new_payee(bank_stack: BankStack) -> None:
    """PSD2 RTS Art. 13: adding a payee always needs SCA, bound to that payee."""
    stack = bank_stack
    with _alice_on(stack, "/payees") as (ua, csrf):
        pushed = _push(
            ua,
            stack,
            "/payees",
            name="Max Mustermann",
            iban="de44 5001 0517 5407 3249 31",
            csrf=csrf,
        )
        assert essential_or_values(pushed) == ("phr",)
        assert json.loads(pushed["authorization_details"]) == [
            {
                "type": "payee_addition",
                "creditorName": "Max Mustermann",
                "creditorAccount": {"iban": "DE44500105175407324931"},
            }
        ]
        assert "Max Mustermann" not in ua.get(f"{stack.bank_url}/payees").text


def test_change_payout_needs_fresh_phr_bound_to_the_new_account(bank_stack: BankStack) -> None:
    stack = bank_stack
    with _alice_on(stack, "/payout") as (ua, csrf):
        pushed = _push(
            ua, stack, "/payout", holder="Alice Martin", iban="DE44500105175407324931", csrf=csrf
        )
        assert essential_or_values(pushed) == ("phr",)
        assert pushed["max_age"] == "0"
        assert json.loads(pushed["authorization_details"]) == [
            {
                "type": "beneficiary_change",
                "accountHolderName": "Alice Martin",
                "account": {"iban": "DE44500105175407324931"},
            }
        ]


def test_admin_grant_role_asks_phr_and_delete_tenant_asks_phrh_bound(bank_stack: BankStack) -> None:
    stack = bank_stack
    with _alice_on(stack, "/admin") as (ua, csrf):
        pushed = _push(ua, stack, "/admin/roles", username="bob", role="support", csrf=csrf)
        assert essential_or_values(pushed) == ("phr",)
        assert pushed["max_age"] == "300"
        assert json.loads(pushed["authorization_details"]) == [
            {"type": "role_grant", "user": "bob", "role": "support"}
        ]

        pushed = _push(ua, stack, "/admin/tenants/delete", tenant="t-42", csrf=csrf)
        assert essential_or_values(pushed) == ("phrh",)
        assert pushed["max_age"] == "0"
        assert json.loads(pushed["authorization_details"]) == [
            {"type": "stepauth_action", "action": "delete_tenant", "target": "t-42"}
        ]
        assert "t-42" in ua.get(f"{stack.bank_url}/admin").text


def test_admin_console_is_for_admins_only(bank_stack: BankStack) -> None:
    stack = bank_stack
    with httpx.Client(timeout=10) as ua:
        sign_in(ua, stack, "bob")
        assert ua.get(f"{stack.bank_url}/admin").status_code == 403
        refused = ua.post(
            f"{stack.bank_url}/admin/tenants/delete", data={"tenant": "t-42", "csrf": "x"}
        )
        assert refused.status_code == 403


def test_cross_site_post_without_the_csrf_token_is_refused(bank_stack: BankStack) -> None:
    stack = bank_stack
    with httpx.Client(timeout=10) as ua:
        sign_in(ua, stack, "alice")
        pushes = len(stack.pushed)
        forged = ua.post(
            f"{stack.bank_url}/transfer",
            data={"payee": "py-1", "amount": "20", "reference": "", "csrf": "forged"},
        )
        assert forged.status_code == 400
        assert len(stack.pushed) == pushes
        assert "No payments yet" in ua.get(f"{stack.bank_url}/dashboard").text


def test_forged_callback_state_ends_on_an_error_page_without_a_loop(bank_stack: BankStack) -> None:
    """RFC 6749 §10.12: a state this browser did not start is refused, once, with no redirect."""
    stack = bank_stack
    with httpx.Client(timeout=10) as ua:
        sign_in(ua, stack, "alice")
        response = ua.get(f"{stack.bank_url}/callback", params={"code": "x", "state": "forged"})
        assert response.status_code == 400
        assert "Sign-in failed" in response.text


def test_signed_out_pages_send_the_browser_to_sign_in(bank_stack: BankStack) -> None:
    stack = bank_stack
    with httpx.Client(timeout=10) as ua:
        home = ua.get(f"{stack.bank_url}/")
        assert home.status_code == 200
        assert "script" not in home.text.replace("<noscript", "")
        assert "default-src 'self'" in home.headers["content-security-policy"]
        for path in ("/dashboard", "/profile/full", "/transfer", "/admin"):
            response = ua.get(f"{stack.bank_url}{path}")
            assert response.status_code == 303
            assert response.headers["location"].startswith("/login")


def test_sign_out_ends_the_bank_and_the_provider_sessions(bank_stack: BankStack) -> None:
    """RP-Initiated Logout 1.0: after sign-out, signing in asks for the password again."""
    stack = bank_stack
    with httpx.Client(timeout=10, follow_redirects=True) as ua:
        page = sign_in(ua, stack, "bob")
        assert "Hello, Bob Keller" in page.text
        out = ua.post(f"{stack.bank_url}/logout")
        assert str(out.url) == f"{stack.bank_url}/"
        assert "Welcome to Acme Bank" in out.text
        assert "acme_session" not in ua.cookies
        login = ua.get(f"{stack.bank_url}/login")
        assert str(login.url).startswith(stack.issuer)
        assert "Password" in login.text
