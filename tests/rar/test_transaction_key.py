"""The identity of a bound request: client, user and canonical details."""

from __future__ import annotations

import copy

from stepauth.provider.authorize.bound_prompt import transaction_key

PAYMENT = [
    {
        "type": "payment_initiation",
        "instructedAmount": {"currency": "EUR", "amount": "1250.00"},
        "creditorName": "Merchant A",
        "creditorAccount": {"iban": "DE02100100109307118603"},
    }
]


def test_key_order_does_not_change_the_key() -> None:
    """RFC 8785: the same details sent with their members in another order are identical."""
    reordered = [dict(reversed(list(PAYMENT[0].items())))]
    assert transaction_key("bank", "u1", reordered) == transaction_key("bank", "u1", PAYMENT)


def test_any_difference_is_another_transaction() -> None:
    base = transaction_key("bank", "u1", PAYMENT)
    amount = copy.deepcopy(PAYMENT)
    amount[0]["instructedAmount"]["amount"] = "1250.01"
    payee = copy.deepcopy(PAYMENT)
    payee[0]["creditorName"] = "Merchant B"
    keys = {
        base,
        transaction_key("bank", "u1", amount),
        transaction_key("bank", "u1", payee),
        transaction_key("bank", "u2", PAYMENT),
        transaction_key("other-client", "u1", PAYMENT),
        transaction_key(None, "u1", PAYMENT),
    }
    assert len(keys) == 6
    assert len(base) == 64  # a SHA-256 hex digest: no details or user ids in the store key
