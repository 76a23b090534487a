"""match_details: the executed action equals the approved one (RFC 9396 §6, §6.1, §9;
ASVS 5.0 10.3.2; PSD2 RTS Art. 5(1)).
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from stepauth.rar import DetailsMismatch, InvalidAuthorizationDetails, match_details


def _mismatch(granted: Any, requested: Any) -> DetailsMismatch:
    with pytest.raises(DetailsMismatch) as info:
        match_details(granted, requested)
    assert info.value.error == "authorization_details_mismatch"
    return info.value


def test_identical_details_match(transfer: list[dict[str, Any]]) -> None:
    assert match_details(transfer, copy.deepcopy(transfer)) is None


@pytest.mark.parametrize("amount", ["1250.00", "1250", "1250.0", 1250, 1250.0, Decimal("1250.000")])
def test_amount_compares_as_decimal(transfer: list[dict[str, Any]], amount: Any) -> None:
    requested = copy.deepcopy(transfer)
    requested[0]["instructedAmount"]["amount"] = amount
    assert match_details(transfer, requested) is None


def test_amount_changed_after_approval_is_rejected(transfer: list[dict[str, Any]]) -> None:
    requested = copy.deepcopy(transfer)
    requested[0]["instructedAmount"]["amount"] = "1250.01"
    exc = _mismatch(transfer, requested)
    assert exc.path == "instructedAmount.amount"
    assert "granted '1250.00', action '1250.01'" in exc.description


def test_currency_changed_is_rejected(transfer: list[dict[str, Any]]) -> None:
    requested = copy.deepcopy(transfer)
    requested[0]["instructedAmount"]["currency"] = "GBP"
    assert _mismatch(transfer, requested).path == "instructedAmount.currency"


def test_payee_swapped_is_rejected(transfer: list[dict[str, Any]]) -> None:
    requested = copy.deepcopy(transfer)
    requested[0]["creditorName"] = "Mallory Ltd"
    requested[0]["creditorAccount"]["iban"] = "GB82WEST12345698765432"
    exc = _mismatch(transfer, requested)
    assert exc.path == "creditorName"


def test_payee_account_swapped_is_rejected(transfer: list[dict[str, Any]]) -> None:
    requested = copy.deepcopy(transfer)
    requested[0]["creditorAccount"]["iban"] = "GB82WEST12345698765432"
    exc = _mismatch(transfer, requested)
    assert exc.path == "creditorAccount.iban"
    assert "DE•• •••• 8603" in exc.description  # IBANs are masked in messages


def test_iban_with_spaces_equals_normalised(transfer: list[dict[str, Any]]) -> None:
    requested = copy.deepcopy(transfer)
    requested[0]["creditorAccount"]["iban"] = "de02 1001 0010 9307 1186 03"
    assert match_details(transfer, requested) is None


def test_payee_name_is_nfc_and_trimmed_but_otherwise_exact(transfer: list[dict[str, Any]]) -> None:
    transfer[0]["creditorName"] = "Caf\u00e9 M\u00fcller"
    requested = copy.deepcopy(transfer)
    requested[0]["creditorName"] = "  Cafe\u0301 Mu\u0308ller "
    assert match_details(transfer, requested) is None
    requested[0]["creditorName"] = "café müller"
    assert _mismatch(transfer, requested).path == "creditorName"


def test_extra_field_in_action_is_rejected(transfer: list[dict[str, Any]]) -> None:
    requested = copy.deepcopy(transfer)
    requested[0]["remittanceInformationUnstructured"] = "invoice 7"
    exc = _mismatch(transfer, requested)
    assert "was not granted" in exc.description


def test_missing_field_in_action_is_rejected(rfc9396_example: list[dict[str, Any]]) -> None:
    requested = copy.deepcopy(rfc9396_example)
    del requested[0]["remittanceInformationUnstructured"]
    assert "missing from the action" in _mismatch(rfc9396_example, requested).description


def test_actions_compare_as_a_set(rfc9396_example: list[dict[str, Any]]) -> None:
    requested = copy.deepcopy(rfc9396_example)
    requested[0]["actions"] = ["cancel", "initiate", "status"]
    assert match_details(rfc9396_example, requested) is None


def test_token_for_transaction_a_used_for_b(transfer: list[dict[str, Any]]) -> None:
    other = [{"type": "stepauth_action", "action": "delete_tenant", "target": "t-42"}]
    assert _mismatch(transfer, other).path == "type"


def test_different_number_of_entries_is_rejected(transfer: list[dict[str, Any]]) -> None:
    exc = _mismatch(transfer, transfer * 2)
    assert "granted 1 authorization_details entries, the action has 2" in exc.description


def test_batch_with_one_payee_swapped_is_rejected(batch: list[dict[str, Any]]) -> None:
    """PSD2 RTS Art. 5(3)(b): the code is specific to the specified payees."""
    requested = copy.deepcopy(batch)
    requested[0]["payees"][1]["creditorName"] = "Mallory Ltd"
    exc = _mismatch(batch, requested)
    assert exc.path == "payees[1].creditorName"


def test_batch_payee_order_is_significant(batch: list[dict[str, Any]]) -> None:
    requested = copy.deepcopy(batch)
    requested[0]["payees"].reverse()
    assert _mismatch(batch, requested).path.startswith("payees[0].")


def test_batch_with_extra_payee_is_rejected(batch: list[dict[str, Any]]) -> None:
    requested = copy.deepcopy(batch)
    requested[0]["payees"].append(requested[0]["payees"][0])
    assert "granted 2 entries, action 3" in _mismatch(batch, requested).description


def test_wrong_types_in_action_never_match(transfer: list[dict[str, Any]]) -> None:
    for bad in (None, "1250.00 EUR", ["1250.00"], True):
        requested = copy.deepcopy(transfer)
        requested[0]["instructedAmount"] = bad
        _mismatch(transfer, requested)
    assert isinstance(_mismatch(transfer, {"type": "payment_initiation"}), DetailsMismatch)


def test_invalid_grant_fails_closed(transfer: list[dict[str, Any]]) -> None:
    granted = copy.deepcopy(transfer)
    granted[0]["creditorAccount"]["iban"] = "DE00000000000000000000"
    with pytest.raises(InvalidAuthorizationDetails):
        match_details(granted, transfer)
