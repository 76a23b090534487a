"""A stored transaction approval (what the Provider keeps after a WebAuthn step-up that
approved a payment), made by the soft authenticator, for the audit verifier's tests."""

from __future__ import annotations

import os
import secrets
import time
from typing import Any

from stepauth.rar import transaction_challenge
from tests.helpers.soft_authenticator import SoftAuthenticator, b64url, cose_es256

__all__ = ["DETAILS", "ORIGIN", "RP_ID", "approval"]

RP_ID = "bank.example"
ORIGIN = "https://bank.example"
DETAILS = [
    {
        "type": "payment_initiation",
        "instructedAmount": {"currency": "EUR", "amount": "123.50"},
        "creditorName": "Merchant A",
        "creditorAccount": {"iban": "DE02100100109307118603"},
    }
]


def approval(authenticator: SoftAuthenticator, **get: Any) -> dict[str, Any]:
    """What the Provider stores after a WebAuthn step-up that approved DETAILS."""
    nonce = os.urandom(32)
    challenge = transaction_challenge(nonce, DETAILS)
    assertion = authenticator.get(challenge, **get)
    response = assertion["response"]
    return {
        "txn": secrets.token_urlsafe(16),
        "user_id": "user-1",
        "client_id": "bank-app",
        "authorization_details": DETAILS,
        "nonce": b64url(nonce),
        "rp_id": RP_ID,
        "origin": ORIGIN,
        "credential_id": assertion["rawId"],
        "credential_public_key": b64url(cose_es256(authenticator.key.public_key())),
        "client_data_json": response["clientDataJSON"],
        "authenticator_data": response["authenticatorData"],
        "signature": response["signature"],
        "user_handle": response.get("userHandle"),
        "verified_at": time.time(),
    }
