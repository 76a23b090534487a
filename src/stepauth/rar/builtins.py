"""The built-in authorization-details types, as data (see :mod:`stepauth.rar.schema`).

- ``payment_initiation``: the RFC 9396 §2 example shape.
- ``payment_batch``: a total and its payees; the total must equal the sum (PSD2 RTS Art. 5(3)(b)).
- ``beneficiary_change``: a new payout account (PSD2 RTS Art. 13, Directive Art. 97(1)(c)).
- ``payee_addition``: a new payee for later payments (PSD2 RTS Art. 13).
- ``role_grant``: a role given to a user (an administrative change, shown as such).
- ``stepauth_action``: a generic sensitive action on a target, e.g. deleting tenant ``t-42``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BUILTIN_TYPES"]

_ACCOUNT = {"kind": "object", "required": True, "label": "Account",
            "fields": {"iban": {"kind": "iban", "required": True, "label": "IBAN"}}}  # fmt: skip
_MONEY = {"kind": "money", "required": True, "label": "Amount"}
_REMITTANCE = {"kind": "string", "max_length": 140, "label": "Reference"}

BUILTIN_TYPES: dict[str, dict[str, Any]] = {
    "payment_initiation": {
        "label": "Payment",
        "fields": {
            "instructedAmount": _MONEY,
            "creditorName": {"kind": "name", "required": True, "label": "Payee"},
            "creditorAccount": {**_ACCOUNT, "label": "Payee account"},
            "remittanceInformationUnstructured": _REMITTANCE,
        },
    },
    "payment_batch": {
        "label": "Batch payment",
        "fields": {
            "total": {**_MONEY, "label": "Total"},
            "payees": {
                "kind": "array",
                "required": True,
                "min_items": 1,
                "label": "Payees",
                "items": {
                    "kind": "object",
                    "label": "Payee",
                    "fields": {
                        "creditorName": {"kind": "name", "required": True, "label": "Name"},
                        "creditorAccount": {**_ACCOUNT, "label": "Account"},
                        "instructedAmount": _MONEY,
                        "remittanceInformationUnstructured": _REMITTANCE,
                    },
                },
            },
        },
        "checks": ["batch_total"],
    },
    "beneficiary_change": {
        "label": "New payout account",
        "fields": {
            "accountHolderName": {"kind": "name", "required": True, "label": "Account holder"},
            "account": {**_ACCOUNT, "label": "New account"},
        },
    },
    "payee_addition": {
        "label": "New payee",
        "fields": {
            "creditorName": {"kind": "name", "required": True, "label": "Payee"},
            "creditorAccount": {**_ACCOUNT, "label": "Payee account"},
        },
    },
    "role_grant": {
        "label": "Role change",
        "fields": {
            "user": {"kind": "string", "required": True, "max_length": 64, "label": "User"},
            "role": {"kind": "string", "required": True, "max_length": 64, "label": "New role"},
        },
    },
    "stepauth_action": {
        "label": "Action",
        "fields": {
            "action": {
                "kind": "string",
                "required": True,
                "max_length": 64,
                "pattern": r"[a-z][a-z0-9_.:-]*",
                "label": "Action",
            },
            "target": {"kind": "string", "required": True, "max_length": 256, "label": "Target"},
        },
    },
}
