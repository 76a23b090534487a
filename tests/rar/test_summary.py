"""render_summary: what the payer sees (PSD2 RTS Art. 5(1)(a); RFC 9396 §2.2)."""

from __future__ import annotations

import re
import string
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from stepauth.rar import format_iban, format_money, mask_iban, render_summary, visible_text
from stepauth.rar.values import check_iban, check_name, normalise_iban, normalise_name


def test_payment_shows_amount_payee_and_full_iban(transfer: list[dict[str, Any]]) -> None:
    assert render_summary(transfer[0]) == [
        ("Amount", "EUR 1,250.00"),
        ("Payee", "Merchant A"),
        ("Payee account", "DE02 1001 0010 9307 1186 03"),
    ]


def test_common_fields_are_shown(rfc9396_example: list[dict[str, Any]]) -> None:
    """RFC 9396 §2.2: locations and actions are part of what is approved."""
    rows = render_summary(rfc9396_example[0])
    assert ("Reference", "Ref Number Merchant") in rows
    assert ("Actions", "initiate, status, cancel") in rows
    assert ("Locations", "https://example.com/payments") in rows
    assert [label for label, _ in rows] == [
        "Amount",
        "Payee",
        "Payee account",
        "Reference",
        "Locations",
        "Actions",
    ]


def test_every_common_field_is_shown_when_present() -> None:
    detail = {
        "type": "stepauth_action",
        "action": "export",
        "target": "customers",
        "locations": ["https://api.example/a", "https://api.example/b"],
        "actions": ["read"],
        "datatypes": ["contacts", "a, b"],
        "identifier": "export-7",
        "privileges": ["admin"],
    }
    assert render_summary(detail)[2:] == [
        ("Locations", "https://api.example/a, https://api.example/b"),
        ("Actions", "read"),
        ("Data types", 'contacts, "a, b"'),  # a comma inside an item cannot split it
        ("Identifier", "export-7"),
        ("Privileges", "admin"),
    ]


def test_batch_shows_total_and_every_payee(batch: list[dict[str, Any]]) -> None:
    assert render_summary(batch[0]) == [
        ("Total", "EUR 300.00"),
        ("Payees", "2"),
        ("Payee 1: Name", "Alice Example"),
        ("Payee 1: Account", "GB82 WEST 1234 5698 7654 32"),
        ("Payee 1: Amount", "EUR 100.00"),
        ("Payee 2: Name", "Bob Example"),
        ("Payee 2: Account", "FR14 2004 1010 0505 0001 3M02 606"),
        ("Payee 2: Amount", "EUR 200.00"),
    ]


def test_beneficiary_change_and_action() -> None:
    change = {
        "type": "beneficiary_change",
        "accountHolderName": "Acme Payouts GmbH",
        "account": {"iban": "DE89 3704 0044 0532 0130 00"},
    }
    assert render_summary(change) == [
        ("Account holder", "Acme Payouts GmbH"),
        ("New account", "DE89 3704 0044 0532 0130 00"),
    ]
    action = {"type": "stepauth_action", "action": "delete_tenant", "target": "t-42"}
    assert render_summary(action) == [("Action", "delete_tenant"), ("Target", "t-42")]


def test_money_formatting_follows_minor_units() -> None:
    assert format_money({"currency": "EUR", "amount": "9000"}) == "EUR 9,000.00"
    assert format_money({"currency": "JPY", "amount": "125000"}) == "JPY 125000"
    assert format_money({"currency": "KWD", "amount": "1.5"}) == "KWD 1.500"
    assert format_money({"currency": "GBP", "amount": "0.5"}) == "GBP 0.50"
    assert format_money({"currency": "USD", "amount": "7"}, symbol=True) == "$7.00"


def test_money_is_never_rounded() -> None:
    assert format_money({"currency": "EUR", "amount": "0.005"}) == "EUR 0.005"
    assert format_money({"currency": "JPY", "amount": "1.5"}) == "JPY 1.5"


def test_mask_iban_keeps_country_and_last_four() -> None:
    assert mask_iban("gb82 west 1234 5698 7654 32") == "GB•• •••• 5432"


def test_configured_type_renders_from_its_schema() -> None:
    from stepauth.rar import default_registry

    registry = default_registry.with_types(
        {
            "card_limit_change": {
                "fields": {
                    "card": {"kind": "string", "required": True, "label": "Card"},
                    "limit": {"kind": "money", "required": True, "label": "New limit"},
                    "settlement": {"kind": "iban", "label": "Settlement account"},
                    "channels": {"kind": "string_list", "label": "Channels"},
                    "atm": {"kind": "boolean", "label": "ATM"},
                }
            }
        }
    )
    detail = {
        "type": "card_limit_change",
        "card": "•••• 4242",
        "limit": {"currency": "CHF", "amount": "2500"},
        "settlement": "CH9300762011623852957",
        "channels": ["online", "pos"],
        "atm": False,
    }
    registry.validate([detail])
    assert render_summary(detail, registry=registry) == [
        ("Card", "•••• 4242"),
        ("New limit", "CHF 2,500.00"),
        ("Settlement account", "CH93 0076 2011 6238 5295 7"),
        ("Channels", "online, pos"),
        ("ATM", "no"),
    ]


def test_confusable_whitespace_is_spelled_out() -> None:
    assert visible_text("Jane Doe") == "Jane Doe"
    assert visible_text("Jane\u00a0Doe") == "Jane⟨U+00A0⟩Doe"
    assert visible_text("Jane  Doe") == "Jane⟨U+0020⟩⟨U+0020⟩Doe"
    assert visible_text("Jane⟨U+00A0⟩Doe") == "Jane⟨U+27E8⟩U+00A0⟩Doe"


# --------------------------------------------------------------------------- property
_ALNUM = string.ascii_uppercase + string.digits
_CONFUSABLE = " \u00a0\u2000\u2007\u2009\u200a\u202f\u205f\u3000\u2028"


def _iban(country: str, bban: str) -> str:
    """A valid IBAN: the check digits computed by ISO 7064 mod 97-10."""
    number = int("".join(str(int(ch, 36)) for ch in bban + country + "00"))
    return f"{country}{98 - number % 97:02d}{bban}"


ibans = st.builds(
    _iban,
    st.sampled_from(["DE", "FR", "GB", "NL", "CH", "IT"]),
    st.text(_ALNUM, min_size=11, max_size=30),
)
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999.99"), places=2)
names = st.text(
    st.one_of(
        st.sampled_from("AaÄäÅåÉéОоАаıİß' -."),  # Latin, Cyrillic look-alikes, dotless i
        st.sampled_from(_CONFUSABLE),
        st.characters(codec="utf-8", categories=["L", "Zs"]),
    ),
    min_size=1,
    max_size=24,
).filter(lambda n: check_name(n) is None)
payments = st.tuples(ibans, amounts, names, st.sampled_from(["EUR", "GBP", "CHF", "JPY"]))


def _detail(payment: tuple[str, Decimal, str, str]) -> dict[str, Any]:
    iban, amount, name, currency = payment
    if currency == "JPY":
        amount = amount.to_integral_value()
    return {
        "type": "payment_initiation",
        "instructedAmount": {"currency": currency, "amount": str(amount)},
        "creditorName": name,
        "creditorAccount": {"iban": iban},
    }


def _seen(rows: list[tuple[str, str]]) -> str:
    """The page as a reader sees it: HTML collapses every run of whitespace to one space."""
    return re.sub(r"\s+", " ", " | ".join(f"{label}: {value}" for label, value in rows))


@settings(max_examples=400, deadline=None)
@given(payments, payments)
def test_different_payments_never_render_alike(
    a: tuple[str, Decimal, str, str], b: tuple[str, Decimal, str, str]
) -> None:
    """PSD2 RTS Art. 5(1)(a): a payer who sees the same page approves the same payment.
    Payments that differ in account, amount, currency or payee (as the matcher compares
    them) read differently, whitespace look-alikes included."""
    first, second = _detail(a), _detail(b)
    for detail in (first, second):
        assert check_iban(detail["creditorAccount"]["iban"]) is None
    same = (
        normalise_iban(a[0]) == normalise_iban(b[0])
        and Decimal(first["instructedAmount"]["amount"])
        == Decimal(second["instructedAmount"]["amount"])
        and a[3] == b[3]
        and normalise_name(a[2]) == normalise_name(b[2])
    )
    shown = _seen(render_summary(first)), _seen(render_summary(second))
    assert (shown[0] == shown[1]) == same


@given(ibans)
def test_full_iban_is_shown_in_groups_of_four(iban: str) -> None:
    shown = format_iban(iban)
    assert shown.replace(" ", "") == iban
    assert all(len(group) == 4 for group in shown.split(" ")[:-1])


@settings(max_examples=300, deadline=None)
@given(payments, st.data())
def test_look_alike_payee_never_renders_like_the_original(
    a: tuple[str, Decimal, str, str], data: st.DataObject
) -> None:
    """The same payment with one character of the payee's name swapped for confusable
    whitespace (or a space doubled) never reads like the original."""
    iban, amount, name, currency = a
    name = f"{name} Ltd"
    spaces = [i for i, ch in enumerate(name) if ch == " "]
    at = data.draw(st.sampled_from(spaces))
    swap = data.draw(st.sampled_from([*_CONFUSABLE[1:], "  "]))
    other = name[:at] + swap + name[at + 1 :]
    if check_name(other) is not None or normalise_name(other) == normalise_name(name):
        return
    original = _seen(render_summary(_detail((iban, amount, name, currency))))
    altered = _seen(render_summary(_detail((iban, amount, other, currency))))
    assert original != altered


def test_two_accounts_sharing_country_and_last_four_render_differently() -> None:
    """A masked IBAN (``DE•• •••• 8603``) lets an attacker pick an account that ends like
    the payer's and has it approved unseen; the full IBAN tells them apart."""
    genuine = _iban("DE", "100100109307118603"[:-4] + "8603")
    forged = _iban("DE", "999999999999998603")
    assert mask_iban(genuine) == mask_iban(forged)
    payment = (Decimal("9000.00"), "Jane Doe", "EUR")
    shown = [_seen(render_summary(_detail((iban, *payment)))) for iban in (genuine, forged)]
    assert shown[0] != shown[1]
    assert format_iban(forged) in shown[1]
