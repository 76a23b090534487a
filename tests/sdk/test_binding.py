"""Transaction binding (RFC 9396, PSD2 RTS Art. 5): exact grant, single use."""

from __future__ import annotations

from typing import Any

import pytest

from stepauth.sdk.binding import Binding, BindingNotGranted, MemoryGrantStore


def payment(fields: Any) -> list[dict[str, Any]]:
    return [
        {
            "type": "payment_initiation",
            "instructedAmount": {"currency": "EUR", "amount": fields["amount"]},
            "creditorName": fields["creditor"],
            "creditorAccount": {"iban": fields["iban"]},
        }
    ]


FIELDS = {"amount": "1250.00", "creditor": "Merchant A", "iban": "DE89370400440532013000"}
BINDING = Binding(payment)


def test_grant_with_a_changed_amount_is_refused() -> None:
    """The OP granted another amount than the one the action executes."""
    requested = BINDING.for_action(FIELDS)
    granted = payment({**FIELDS, "amount": "12.50"})
    with pytest.raises(BindingNotGranted, match="amount"):
        BINDING.check_granted(granted, requested)


def test_missing_grant_is_refused() -> None:
    """An OP that ignores authorization_details never satisfies a bound action."""
    with pytest.raises(BindingNotGranted):
        BINDING.check_granted((), BINDING.for_action(FIELDS))


def test_equivalent_forms_match() -> None:
    """Type-aware: 1250 == "1250.00", IBAN with spaces, currency case."""
    granted = payment({**FIELDS, "iban": "DE89 3704 0044 0532 0130 00"})
    BINDING.check_granted(granted, BINDING.for_action({**FIELDS, "amount": "1250"}))


def test_invalid_action_details_are_refused() -> None:
    with pytest.raises(BindingNotGranted):
        BINDING.for_action({**FIELDS, "amount": "lots"})


def test_replayed_grant_is_consumed_once() -> None:
    store = MemoryGrantStore()
    details = BINDING.for_action(FIELDS)
    store.put("g1", details, expires_at=100)
    assert store.take_matching(["g1"], details, BINDING, now=10) == "g1"
    assert store.take_matching(["g1"], details, BINDING, now=10) is None


def test_expired_or_other_transaction_grant_does_not_match() -> None:
    store = MemoryGrantStore()
    details = BINDING.for_action(FIELDS)
    store.put("g1", details, expires_at=100)
    other = BINDING.for_action({**FIELDS, "creditor": "Mallory"})
    assert store.take_matching(["g1"], other, BINDING, now=10) is None
    assert store.take_matching(["g1"], details, BINDING, now=100) is None
