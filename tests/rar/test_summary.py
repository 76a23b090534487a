"""render_summary: what the payer sees (PSD2-10 Art. 5(1)(a), PSD2-11, STANDARDS G-10)."""

from __future__ import annotations

from typing import Any

from stepauth.rar import format_money, mask_iban, render_summary


def test_payment_shows_amount_payee_and_masked_iban(transfer: list[dict[str, Any]]) -> None:
    assert render_summary(transfer[0]) == [
        ("Amount", "€1,250.00"),
        ("Payee", "Merchant A"),
        ("Payee account", "DE•• •••• 8603"),
    ]


def test_common_fields_are_not_shown(rfc9396_example: list[dict[str, Any]]) -> None:
    rows = render_summary(rfc9396_example[0])
    assert ("Reference", "Ref Number Merchant") in rows
    assert [label for label, _ in rows] == ["Amount", "Payee", "Payee account", "Reference"]


def test_batch_shows_total_and_every_payee(batch: list[dict[str, Any]]) -> None:
    assert render_summary(batch[0]) == [
        ("Total", "€300.00"),
        ("Payees", "2"),
        ("Payee 1: Name", "Alice Example"),
        ("Payee 1: Account", "GB•• •••• 5432"),
        ("Payee 1: Amount", "€100.00"),
        ("Payee 2: Name", "Bob Example"),
        ("Payee 2: Account", "FR•• •••• 2606"),
        ("Payee 2: Amount", "€200.00"),
    ]


def test_beneficiary_change_and_action() -> None:
    change = {
        "type": "beneficiary_change",
        "accountHolderName": "Acme Payouts GmbH",
        "account": {"iban": "DE89 3704 0044 0532 0130 00"},
    }
    assert render_summary(change) == [
        ("Account holder", "Acme Payouts GmbH"),
        ("New account", "DE•• •••• 3000"),
    ]
    action = {"type": "stepauth_action", "action": "delete_tenant", "target": "t-42"}
    assert render_summary(action) == [("Action", "delete_tenant"), ("Target", "t-42")]


def test_money_formatting_follows_minor_units() -> None:
    assert format_money({"currency": "EUR", "amount": "1250"}) == "€1,250.00"
    assert format_money({"currency": "JPY", "amount": "125000"}) == "JPY 125,000"
    assert format_money({"currency": "KWD", "amount": "1.5"}) == "KWD 1.500"
    assert format_money({"currency": "GBP", "amount": "0.5"}) == "£0.50"


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
        ("Settlement account", "CH•• •••• 2957"),
        ("Channels", "online, pos"),
        ("ATM", "no"),
    ]
