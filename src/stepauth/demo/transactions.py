"""What a bound step-up approves: the RFC 9396 ``authorization_details`` of each bank action.

The Provider shows these on its step-up page from its own copy (amount and payee, the new
payout account, or the action and its target), and the grant it returns must match them
exactly before the action runs (:mod:`stepauth.sdk.binding`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from stepauth.rar import RARError, default_registry

__all__ = [
    "account_errors",
    "add_payee",
    "change_payout",
    "delete_tenant",
    "grant_role",
    "payment",
    "valid_account",
]

Details = list[dict[str, Any]]


def payment(*, name: str, iban: str, amount: Decimal, reference: str) -> Details:
    """A credit transfer in the RFC 9396 §2 ``payment_initiation`` shape."""
    detail: dict[str, Any] = {
        "type": "payment_initiation",
        "instructedAmount": {"currency": "EUR", "amount": f"{amount:.2f}"},
        "creditorName": name,
        "creditorAccount": {"iban": iban},
    }
    if reference:
        detail["remittanceInformationUnstructured"] = reference
    return [detail]


def change_payout(*, holder: str, iban: str) -> Details:
    return [{"type": "beneficiary_change", "accountHolderName": holder, "account": {"iban": iban}}]


def add_payee(*, name: str, iban: str) -> Details:
    return [{"type": "payee_addition", "creditorName": name, "creditorAccount": {"iban": iban}}]


def grant_role(*, username: str, role: str) -> Details:
    return [{"type": "role_grant", "user": username, "role": role}]


def delete_tenant(tenant_id: str) -> Details:
    return [{"type": "stepauth_action", "action": "delete_tenant", "target": tenant_id}]


def valid_account(holder: str, iban: str) -> bool:
    """A name and an IBAN (ISO 13616 with check digits) the registry's schemas accept."""
    if not holder or len(holder) > 70:
        return False
    try:
        default_registry.validate(change_payout(holder=holder, iban=iban))
    except RARError:
        return False
    return True


#: A valid name and IBAN (the ISO 13616 example), to check the other field on its own.
_SOME_NAME, _SOME_IBAN = "Account holder", "DE89370400440532013000"


def account_errors(
    holder: str, iban: str, *, holder_field: str = "holder", holder_label: str = "Account holder"
) -> dict[str, str]:
    """A message for each wrong field of a name and IBAN (empty: both are fine)."""
    errors: dict[str, str] = {}
    if not valid_account(holder, _SOME_IBAN):
        errors[holder_field] = f"{holder_label}: 1 to 70 letters, as on the account."
    if not valid_account(_SOME_NAME, iban):
        errors["iban"] = "IBAN: not a valid IBAN. Check the country code and the digits."
    return errors
