"""The payment a /pay form names, as RFC 9396 ``authorization_details`` (shared by examples)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def payment(fields: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "type": "payment_initiation",
            "instructedAmount": {"currency": "EUR", "amount": fields["amount"]},
            "creditorName": fields["creditor"],
            "creditorAccount": {"iban": fields["iban"]},
        }
    ]
