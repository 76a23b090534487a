"""transaction_challenge: SHA-256(nonce ‖ JCS(details)) (PSD2 RTS Art. 5(1); RFC 9396 §2;
SPC (CollectedClientPaymentData)).
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

from stepauth.rar import RARError, canonical_json, transaction_challenge

NONCE = bytes(range(32))
CANONICAL = (
    b'[{"creditorAccount":{"iban":"DE02100100109307118603"},"creditorName":"Merchant A",'
    b'"instructedAmount":{"amount":"1250.00","currency":"EUR"},"type":"payment_initiation"}]'
)


def test_known_answer(transfer: list[dict[str, Any]]) -> None:
    assert canonical_json(transfer) == CANONICAL
    challenge = transaction_challenge(NONCE, transfer)
    assert challenge.hex() == "b9b9ef32a1e89052400f746556cf27ae1cb72f2dab18195b3a818d5e60b2bada"
    assert challenge == hashlib.sha256(NONCE + CANONICAL).digest()


def test_member_order_does_not_change_the_challenge(transfer: list[dict[str, Any]]) -> None:
    reordered = [dict(reversed(list(transfer[0].items())))]
    assert transaction_challenge(NONCE, reordered) == transaction_challenge(NONCE, transfer)


def test_changed_amount_changes_the_challenge(transfer: list[dict[str, Any]]) -> None:
    """PSD2 RTS Art. 5(1)(d): any change to the amount invalidates the code."""
    changed = copy.deepcopy(transfer)
    changed[0]["instructedAmount"]["amount"] = "1250.01"
    assert transaction_challenge(NONCE, changed) != transaction_challenge(NONCE, transfer)


def test_changed_payee_changes_the_challenge(transfer: list[dict[str, Any]]) -> None:
    changed = copy.deepcopy(transfer)
    changed[0]["creditorName"] = "Merchant B"
    assert transaction_challenge(NONCE, changed) != transaction_challenge(NONCE, transfer)


def test_nonce_makes_each_challenge_unique(transfer: list[dict[str, Any]]) -> None:
    other = bytes(31) + b"\x01"
    assert transaction_challenge(other, transfer) != transaction_challenge(NONCE, transfer)


@pytest.mark.parametrize("nonce", [b"", b"short", "0123456789abcdef0123"])
def test_short_or_text_nonce_is_rejected(nonce: Any, transfer: list[dict[str, Any]]) -> None:
    with pytest.raises(RARError):
        transaction_challenge(nonce, transfer)
