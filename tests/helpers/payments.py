"""A bound payment as the Provider grants it: the ``authorization_details`` of one transfer
and of a batch (RFC 9396 §2), and the access-token claims minted for a bound step-up
(RFC 9396 §9), shared by the SDK's transaction tests and the adapters' guards; the
transfer request a bank's view reads as that payment."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = [
    "API",
    "BATCH",
    "IBAN",
    "NOW",
    "OTHER_IBAN",
    "PAYMENT",
    "TRANSFER",
    "claims_for",
    "payment_of",
]

NOW = 1_764_000_000.0
IBAN = "DE02100100109307118603"
OTHER_IBAN = "DE89370400440532013000"

PAYMENT: list[dict[str, Any]] = [
    {
        "type": "payment_initiation",
        "instructedAmount": {"currency": "EUR", "amount": "1250.00"},
        "creditorName": "Erika Mustermann",
        "creditorAccount": {"iban": IBAN},
        "remittanceInformationUnstructured": "Invoice 2026-118",
    }
]

BATCH: list[dict[str, Any]] = [
    {
        "type": "payment_batch",
        "total": {"currency": "EUR", "amount": "600.00"},
        "payees": [
            {
                "creditorName": "Erika Mustermann",
                "creditorAccount": {"iban": IBAN},
                "instructedAmount": {"currency": "EUR", "amount": "100.00"},
            },
            {
                "creditorName": "Max Mustermann",
                "creditorAccount": {"iban": "GB33BUKB20201555555555"},
                "instructedAmount": {"currency": "EUR", "amount": "200.00"},
            },
            {
                "creditorName": "Jane Roe",
                "creditorAccount": {"iban": "FR1420041010050500013M02606"},
                "instructedAmount": {"currency": "EUR", "amount": "300.00"},
            },
        ],
    }
]


def claims_for(details: Any, txn: str | None = "txn-A-3f9c2b", **overrides: Any) -> dict[str, Any]:
    """Access-token claims as the Provider mints them for a bound step-up (RFC 9396 §9)."""
    claims: dict[str, Any] = {
        "iss": "https://op.example.com",
        "sub": "user-42",
        "aud": "https://api.bank.example",
        "client_id": "bank-app",
        "iat": int(NOW) - 5,
        "exp": int(NOW) + 300,
        "acr": "phr",
        "amr": ["pop", "user"],
        "auth_time": int(NOW) - 10,
        "authorization_details": copy.deepcopy(details),
        "txn": txn,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


API = "https://api.bank.example"
TRANSFER = {
    "amount": "1250.00",
    "currency": "EUR",
    "payee": "Erika Mustermann",
    "iban": IBAN,
    "reference": "Invoice 2026-118",
}


def payment_of(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The view's own reading of a transfer request as authorization_details."""
    return [
        {
            "type": "payment_initiation",
            "instructedAmount": {"currency": body["currency"], "amount": body["amount"]},
            "creditorName": body["payee"],
            "creditorAccount": {"iban": body["iban"]},
            "remittanceInformationUnstructured": body["reference"],
        }
    ]
