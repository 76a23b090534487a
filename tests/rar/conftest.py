"""Fixtures for the RAR tests: the RFC 9396 §2 payment_initiation example and friends."""

from __future__ import annotations

import copy
from typing import Any

import pytest

RFC9396_EXAMPLE: list[dict[str, Any]] = [
    {
        "type": "payment_initiation",
        "actions": ["initiate", "status", "cancel"],
        "locations": ["https://example.com/payments"],
        "instructedAmount": {"currency": "EUR", "amount": "123.50"},
        "creditorName": "Merchant A",
        "creditorAccount": {"iban": "DE02100100109307118603"},
        "remittanceInformationUnstructured": "Ref Number Merchant",
    }
]

TRANSFER: list[dict[str, Any]] = [
    {
        "type": "payment_initiation",
        "instructedAmount": {"currency": "EUR", "amount": "1250.00"},
        "creditorName": "Merchant A",
        "creditorAccount": {"iban": "DE02100100109307118603"},
    }
]

BATCH: list[dict[str, Any]] = [
    {
        "type": "payment_batch",
        "total": {"currency": "EUR", "amount": "300.00"},
        "payees": [
            {
                "creditorName": "Alice Example",
                "creditorAccount": {"iban": "GB82WEST12345698765432"},
                "instructedAmount": {"currency": "EUR", "amount": "100.00"},
            },
            {
                "creditorName": "Bob Example",
                "creditorAccount": {"iban": "FR1420041010050500013M02606"},
                "instructedAmount": {"currency": "EUR", "amount": "200.00"},
            },
        ],
    }
]


@pytest.fixture
def rfc9396_example() -> list[dict[str, Any]]:
    return copy.deepcopy(RFC9396_EXAMPLE)


@pytest.fixture
def transfer() -> list[dict[str, Any]]:
    return copy.deepcopy(TRANSFER)


@pytest.fixture
def batch() -> list[dict[str, Any]]:
    return copy.deepcopy(BATCH)
