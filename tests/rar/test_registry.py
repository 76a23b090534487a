"""Registry.validate: RFC 9396 §5 (the request format of
§2 and §2.2, its payment_initiation example).
"""

from __future__ import annotations

from typing import Any

import pytest

from stepauth.errors import ConfigError, StepAuthError
from stepauth.rar import InvalidAuthorizationDetails, Registry, default_registry


def _invalid(details: Any, registry: Registry = default_registry) -> InvalidAuthorizationDetails:
    with pytest.raises(InvalidAuthorizationDetails) as info:
        registry.validate(details)
    assert info.value.error == "invalid_authorization_details"
    assert isinstance(info.value, StepAuthError)
    return info.value


def test_rfc9396_example_validates(rfc9396_example: list[dict[str, Any]]) -> None:
    """: the RFC 9396 §2 example is a valid payment_initiation."""
    entries = default_registry.validate(rfc9396_example)
    assert entries == tuple(rfc9396_example)
    entries[0]["creditorName"] = "changed"  # a copy: the caller's list is untouched
    assert rfc9396_example[0]["creditorName"] == "Merchant A"


def test_builtin_types_are_listed() -> None:
    """RFC 9396 §10: the list behind authorization_details_types_supported."""
    assert default_registry.types() == [
        "beneficiary_change",
        "payee_addition",
        "payment_batch",
        "payment_initiation",
        "role_grant",
        "stepauth_action",
    ]


def test_every_builtin_type_validates(batch: list[dict[str, Any]]) -> None:
    details = [
        *batch,
        {
            "type": "beneficiary_change",
            "accountHolderName": "Acme Payouts GmbH",
            "account": {"iban": "DE89 3704 0044 0532 0130 00"},
        },
        {"type": "stepauth_action", "action": "delete_tenant", "target": "t-42"},
    ]
    assert len(default_registry.validate(details)) == 3


@pytest.mark.parametrize("details", [{}, "[]", None, {"type": "payment_initiation"}])
def test_not_an_array_is_rejected(details: Any) -> None:
    """RFC 9396 §2: authorization_details is a JSON array."""
    assert _invalid(details).reason == "not_array"


def test_empty_array_is_rejected() -> None:
    assert _invalid([]).reason == "not_array"


def test_entry_that_is_not_an_object_is_rejected() -> None:
    exc = _invalid(["payment_initiation"])
    assert exc.index == 0
    assert "authorization_details[0]" in exc.description


def test_missing_type_is_rejected(transfer: list[dict[str, Any]]) -> None:
    """RFC 9396 §2: each object's type is REQUIRED."""
    del transfer[0]["type"]
    exc = _invalid(transfer)
    assert exc.reason == "missing_type"
    assert exc.description == "authorization_details[0].type: required field is missing"


def test_unknown_type_is_rejected(transfer: list[dict[str, Any]]) -> None:
    """RFC 9396 §5 (a): the AS MUST refuse an unknown type."""
    exc = _invalid([*transfer, {"type": "crypto_withdrawal", "amount": "1"}])
    assert exc.reason == "unknown_type"
    assert exc.index == 1
    assert "authorization_details[1].type" in exc.description
    assert "crypto_withdrawal" in exc.description


def test_unknown_field_is_rejected(transfer: list[dict[str, Any]]) -> None:
    """RFC 9396 §5 (b): a known type with an unknown field."""
    transfer[0]["creditorAccount"]["bic"] = "COBADEFFXXX"
    exc = _invalid(transfer)
    assert exc.reason == "unknown_field"
    assert exc.path == "creditorAccount.bic"
    assert exc.description == "authorization_details[0].creditorAccount.bic: unknown field"


def test_wrong_field_type_is_rejected(transfer: list[dict[str, Any]]) -> None:
    """RFC 9396 §5 (c): the amount is a number instead of a decimal string."""
    transfer[0]["instructedAmount"]["amount"] = 1250.00
    exc = _invalid(transfer)
    assert exc.reason == "wrong_type"
    assert exc.path == "instructedAmount.amount"
    assert "must be a JSON string (got number)" in exc.description


def test_wrong_container_type_is_rejected(transfer: list[dict[str, Any]]) -> None:
    transfer[0]["actions"] = "initiate"
    exc = _invalid(transfer)
    assert (exc.reason, exc.path) == ("wrong_type", "actions")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("instructedAmount", "amount"), "0.00", "greater than zero"),
        (("instructedAmount", "amount"), "-5.00", "decimal string"),
        (("instructedAmount", "amount"), "1e3", "decimal string"),
        (("instructedAmount", "amount"), "1,250.00", "decimal string"),
        (("instructedAmount", "amount"), "12.345", "more than 2 decimal places for EUR"),
        (("instructedAmount", "currency"), "eur", "three upper-case letters"),
        (("instructedAmount", "currency"), "EURO", "three upper-case letters"),
        (("instructedAmount", "currency"), "XYZ", "not an ISO 4217 currency code"),
        (("creditorAccount", "iban"), "DE02100100109307118604", "check digits are wrong"),
        (("creditorAccount", "iban"), "not an iban", "is not an IBAN"),
        (("creditorName",), "   ", "must not be empty"),
        (("creditorName",), "Merchant\u202eA", "control or format characters"),
        (("remittanceInformationUnstructured",), "x" * 141, "at most 140 characters"),
    ],
)
def test_invalid_value_is_rejected(
    transfer: list[dict[str, Any]], path: tuple[str, ...], value: str, message: str
) -> None:
    """RFC 9396 §5 (d): values the type does not allow."""
    target = transfer[0]
    for name in path[:-1]:
        target = target[name]
    target[path[-1]] = value
    exc = _invalid(transfer)
    assert exc.reason == "invalid_value"
    assert exc.path == ".".join(path)
    assert message in exc.description


def test_minor_units_follow_the_currency(transfer: list[dict[str, Any]]) -> None:
    transfer[0]["instructedAmount"] = {"currency": "JPY", "amount": "1250.5"}
    assert "more than 0 decimal places for JPY" in _invalid(transfer).description
    transfer[0]["instructedAmount"] = {"currency": "KWD", "amount": "1250.125"}
    assert default_registry.validate(transfer)


def test_iban_in_print_format_validates(transfer: list[dict[str, Any]]) -> None:
    transfer[0]["creditorAccount"]["iban"] = "de02 1001 0010 9307 1186 03"
    assert default_registry.validate(transfer)


@pytest.mark.parametrize("field", ["instructedAmount", "creditorName", "creditorAccount"])
def test_missing_required_field_is_rejected(transfer: list[dict[str, Any]], field: str) -> None:
    """RFC 9396 §5 (e): a required field is missing."""
    del transfer[0][field]
    exc = _invalid(transfer)
    assert exc.reason == "missing_field"
    assert exc.description == f"authorization_details[0].{field}: required field is missing"


def test_missing_nested_field_names_the_path(transfer: list[dict[str, Any]]) -> None:
    del transfer[0]["instructedAmount"]["currency"]
    exc = _invalid(transfer)
    assert (exc.reason, exc.path) == ("missing_field", "instructedAmount.currency")


def test_batch_total_must_equal_the_sum(batch: list[dict[str, Any]]) -> None:
    """RTS Art. 5(3)(b): the code is specific to the batch total and its payees."""
    batch[0]["total"]["amount"] = "300.01"
    exc = _invalid(batch)
    assert exc.path == "total.amount"
    assert "sum of the payees' amounts (300.00)" in exc.description


def test_batch_payees_share_the_currency(batch: list[dict[str, Any]]) -> None:
    batch[0]["payees"][1]["instructedAmount"]["currency"] = "USD"
    exc = _invalid(batch)
    assert exc.path == "payees[1].instructedAmount.currency"


def test_batch_payee_error_names_its_index(batch: list[dict[str, Any]]) -> None:
    batch[0]["payees"][1]["creditorAccount"]["iban"] = "FR1420041010050500013M02607"
    exc = _invalid(batch)
    assert exc.path == "payees[1].creditorAccount.iban"
    assert exc.description.startswith("authorization_details[0].payees[1].creditorAccount.iban:")


def test_empty_batch_is_rejected(batch: list[dict[str, Any]]) -> None:
    batch[0]["payees"] = []
    assert _invalid(batch).path == "payees"


def test_stepauth_action_needs_action_and_target() -> None:
    exc = _invalid([{"type": "stepauth_action", "action": "delete_tenant"}])
    assert exc.path == "target"
    exc = _invalid([{"type": "stepauth_action", "action": "Delete Tenant!", "target": "t-42"}])
    assert (exc.reason, exc.path) == ("invalid_value", "action")


def test_registry_is_extensible_by_configuration() -> None:
    """RFC 9396 §2.1: the AS controls its types; a deployment adds one as data."""
    registry = default_registry.with_types(
        {
            "card_limit_change": {
                "fields": {
                    "card": {"kind": "string", "required": True, "pattern": "[0-9]{4}"},
                    "limit": {"kind": "money", "required": True},
                    "scope": {"kind": "string", "enum": ["online", "atm"]},
                }
            }
        }
    )
    assert "card_limit_change" in registry.types()
    ok = [
        {"type": "card_limit_change", "card": "4242", "limit": {"currency": "EUR", "amount": "500"}}
    ]
    assert registry.validate(ok)
    bad = [{**ok[0], "scope": "branch"}]
    assert _invalid(bad, registry).path == "scope"
    # the original registry is unchanged
    assert _invalid(ok).reason == "unknown_type"


def test_registry_from_data_rejects_unknown_options() -> None:
    with pytest.raises(ConfigError) as info:
        Registry.from_data({"x": {"fields": {"a": {"kind": "string", "requried": True}}}})
    assert info.value.key == "authorization_details_types.x.fields.a.requried"
    with pytest.raises(ConfigError) as info:
        Registry.from_data({"x": {"fields": {"a": {"kind": "float"}}}})
    assert info.value.key == "authorization_details_types.x.fields.a.kind"


def test_redefining_a_type_is_rejected() -> None:
    with pytest.raises(ConfigError) as info:
        default_registry.with_types({"payment_initiation": {"fields": {}}})
    assert info.value.key == "authorization_details_types.payment_initiation"
