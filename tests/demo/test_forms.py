"""The bank's forms and confirm page: strict amounts checked against the balance, errors
that name the field and keep what was typed, a confirm page that shows the stored action
(never its own URL's values), and an icon where browsers look for one."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from stepauth.demo import transactions
from stepauth.demo.web import euros
from stepauth.rar import render_summary
from tests.demo.conftest import (
    BankStack,
    Forms,
    bank_csrf,
    enrol_passkey,
    sign_in,
    step_up_with_passkey,
)


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("20", Decimal("20.00")),
        ("1250.00", Decimal("1250.00")),
        ("1,250.5", Decimal("1250.50")),
        (" €30 ", Decimal("30.00")),
        ("0.01", Decimal("0.01")),
    ],
)
def test_amounts_in_euros_and_cents_are_read(text: str, amount: Decimal) -> None:
    assert euros(text) == amount


@pytest.mark.parametrize(
    "text",
    [
        "1e3",  # Decimal reads €1,000: an exponent is not an amount a person types
        "1E3",
        "NaN",
        "nan",
        "inf",
        "Infinity",
        "-5",
        "+5",
        "0",
        "0.00",
        "1.234",  # at most two decimals (EUR minor units, ISO 4217)
        "1,2,3",  # thousands separators only every three digits
        "12,34",
        "1 000",
        "٣",  # a non-ASCII digit Decimal would accept
        "",
        "9" * 25,
        "1.",
        ".5",
    ],
)
def test_anything_else_is_not_an_amount(text: str) -> None:
    assert euros(text) is None


def _post(
    ua: httpx.Client, stack: BankStack, path: str, page: str = "", **form: str
) -> httpx.Response:
    """Post a form at ``path`` with the CSRF token of the bank's ``page`` (default: path)."""
    csrf = bank_csrf(ua.get(f"{stack.bank_url}{page or path}").text)
    return ua.post(f"{stack.bank_url}{path}", data={**form, "csrf": csrf})


def _value(page: str, name: str) -> str:
    form = next(f for f in Forms(page).forms if name in f["fields"])
    return str(form["fields"][name])


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("1e3", "Amount: enter euros, with at most two decimals"),
        ("NaN", "Amount: enter euros, with at most two decimals"),
        ("-20", "Amount: enter euros, with at most two decimals"),
        ("20.005", "Amount: enter euros, with at most two decimals"),
        ("4210.56", "Amount: your current account holds €4,210.55."),
    ],
)
def test_a_wrong_amount_is_named_and_kept(bank_stack: BankStack, amount: str, message: str) -> None:
    stack = bank_stack
    with httpx.Client(timeout=10) as ua:
        sign_in(ua, stack, "alice")
        pushes = len(stack.pushed)
        page = _post(ua, stack, "/transfer", payee="py-2", amount=amount, reference="Rent")
        assert page.status_code == 400
        assert message in page.text
        assert 'aria-describedby="amount-error"' in page.text
        assert _value(page.text, "amount") == amount
        assert _value(page.text, "reference") == "Rent"
        assert 'value="py-2" selected' in page.text
        assert page.text.count('role="alert"') == 0  # the field says it: no banner too
        assert len(stack.pushed) == pushes, "no step-up for a form that is wrong"
        assert "No payments yet" in ua.get(f"{stack.bank_url}/dashboard").text


def test_unknown_payee_and_long_reference_are_named(bank_stack: BankStack) -> None:
    stack = bank_stack
    with httpx.Client(timeout=10) as ua:
        sign_in(ua, stack, "alice")
        page = _post(ua, stack, "/transfer", payee="py-99", amount="20", reference="x" * 141)
        assert page.status_code == 400
        assert "Payee: choose one of your payees." in page.text
        assert "Reference: at most 140 characters." in page.text
        assert _value(page.text, "amount") == "20"


def test_payee_and_payout_errors_name_the_field_and_keep_the_input(bank_stack: BankStack) -> None:
    stack = bank_stack
    with httpx.Client(timeout=10) as ua:
        sign_in(ua, stack, "alice")
        page = _post(ua, stack, "/payees", name="Max Mustermann", iban="DE00 1234")
        assert page.status_code == 400
        assert "IBAN: not a valid IBAN" in page.text
        assert "Name:" not in page.text
        assert _value(page.text, "name") == "Max Mustermann"
        assert _value(page.text, "iban") == "DE00 1234"

        page = _post(ua, stack, "/payees", name="", iban="DE44 5001 0517 5407 3249 31")
        assert "Name: 1 to 70 letters" in page.text
        assert "IBAN:" not in page.text
        assert _value(page.text, "iban") == "DE44 5001 0517 5407 3249 31"

        page = _post(ua, stack, "/payout", holder="Alice Martin", iban="GB00XXXX")
        assert page.status_code == 400
        assert "IBAN: not a valid IBAN" in page.text
        assert _value(page.text, "holder") == "Alice Martin"
        assert _value(page.text, "iban") == "GB00XXXX"


def test_an_expired_form_is_shown_again_as_typed(bank_stack: BankStack) -> None:
    stack = bank_stack
    with httpx.Client(timeout=10) as ua:
        sign_in(ua, stack, "alice")
        page = ua.post(
            f"{stack.bank_url}/transfer",
            data={"payee": "py-1", "amount": "1250.00", "reference": "", "csrf": "stale"},
        )
        assert page.status_code == 400
        assert page.text.count('role="alert"') == 1
        assert "This form had expired" in page.text
        assert _value(page.text, "amount") == "1250.00"


def test_confirm_page_shows_the_stored_action_not_its_url(
    localhost_bank_stack: BankStack, tmp_path: Path
) -> None:
    """After the step-up for granting bob ``support``, the confirm page shows and posts
    that stored action; values added to its URL change nothing, and the old style of
    confirm URL (the action in the query) shows nothing."""
    stack = localhost_bank_stack
    passkey = enrol_passkey(tmp_path, stack, "alice")
    with httpx.Client(timeout=10) as ua:
        sign_in(ua, stack, "alice")
        asked = _post(ua, stack, "/admin/roles", "/admin", username="bob", role="support")
        assert asked.status_code == 303
        _shown, _signed, page = step_up_with_passkey(ua, stack, asked, passkey)
        assert "/confirm?id=" in str(page.url)

        tampered = ua.get(f"{page.url}&username=alice&role=admin&next=/transfer&amount=4000")
        assert tampered.status_code == 200
        shown = tampered.text[tampered.text.find('data-testid="confirm"') :]
        assert "bob" in shown
        assert "support" in shown
        assert "admin" not in shown[: shown.find("</dl>")]
        form = next(f for f in Forms(tampered.text).forms if f["action"] == "/admin/roles")
        assert form["fields"]["username"] == "bob"
        assert form["fields"]["role"] == "support"

        old_style = ua.get(
            f"{stack.bank_url}/confirm",
            params={"next": "/admin/roles", "username": "alice", "role": "admin"},
        )
        assert old_style.status_code == 303
        assert ua.get(f"{stack.bank_url}/confirm?id=unknown").status_code == 303

        done = ua.post(urljoin(str(page.url), form["action"]), data=form["fields"])
        assert "Granted support to bob" in done.text
        admin = ua.get(f"{stack.bank_url}/admin").text
        assert "admin, customer" not in admin  # alice is not given anything
        assert "customer, support" in admin


def test_payee_and_role_approvals_use_words_like_a_payment() -> None:
    """What the Provider's step-up page lists for these actions (RFC 9396 §2 types with
    labels, as ``payment_initiation`` has): no action codes."""
    payee = transactions.add_payee(name="Max Mustermann", iban="DE44500105175407324931")
    assert render_summary(payee[0]) == [
        ("Payee", "Max Mustermann"),
        ("Payee account", "DE44 5001 0517 5407 3249 31"),
    ]
    role = transactions.grant_role(username="bob", role="support")
    assert render_summary(role[0]) == [("User", "bob"), ("New role", "support")]


def test_favicon_is_served(bank_stack: BankStack) -> None:
    """Browsers ask for /favicon.ico on every site, whatever the page links."""
    with httpx.Client(timeout=10) as ua:
        icon = ua.get(f"{bank_stack.bank_url}/favicon.ico")
        assert icon.status_code == 200
        assert icon.headers["content-type"].startswith("image/svg+xml")
        assert icon.content.lstrip().startswith(b"<svg")
        linked = ua.get(f"{bank_stack.bank_url}/static/favicon.svg")
        assert linked.content == icon.content
