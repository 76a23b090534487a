"""Re-verify a stored transaction approval (dynamic linking, PSD2 RTS Art. 5).

When a WebAuthn step-up approves ``authorization_details`` (RFC 9396), the Provider
keeps a ``txn_record``: the nonce, the details, and the assertion exactly as the
authenticator signed it (team contract "Transaction approval record"). Anyone holding
the record can later prove what the user approved, without trusting the Provider's
database: :func:`verify_transaction` repeats the checks of WebAuthn L3 §7.2 that bind
the signature to the details.

1. ``record``      — every field is present and decodes;
2. ``challenge``   — ``SHA-256(nonce ‖ JCS(details))``
   (:func:`stepauth.rar.transaction_challenge`) equals ``clientDataJSON.challenge``;
3. ``type``        — ``clientDataJSON.type`` is ``webauthn.get``;
4. ``origin``      — ``clientDataJSON.origin`` is the stored origin;
5. ``rpIdHash``    — ``authenticatorData[0:32]`` is ``SHA-256(rp_id)``;
6. ``flags``       — user present and user verified (step-up requires UV, WA-01);
7. ``signature``   — over ``authenticatorData ‖ SHA-256(clientDataJSON)`` with the stored
   COSE public key (py_webauthn's COSE decoding and verification).

The first failed step is reported by name; nothing after it is trusted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from webauthn.helpers import (
    decode_credential_public_key,
    decoded_public_key_to_cryptography,
    verify_signature,
)

from stepauth.encoding import b64url_decode, b64url_encode
from stepauth.errors import StepAuthError
from stepauth.rar import transaction_challenge

__all__ = ["RECORD_KIND", "TransactionCheck", "verify_transaction"]

RECORD_KIND = "txn_record"
_UP, _UV = 0x01, 0x04
_REQUIRED = (
    "authorization_details",
    "nonce",
    "rp_id",
    "origin",
    "credential_public_key",
    "client_data_json",
    "authenticator_data",
    "signature",
)


@dataclass(frozen=True)
class TransactionCheck:
    """The outcome: ``valid``, or the name of the first ``failed_step`` and why."""

    valid: bool
    failed_step: str | None = None
    reason: str = ""
    details: list[Any] = field(default_factory=list)


class _Failed(StepAuthError):
    def __init__(self, step: str, reason: str) -> None:
        super().__init__(reason, error="invalid_transaction")
        self.step = step


def _b64(record: Mapping[str, Any], name: str) -> bytes:
    value = record.get(name)
    if not isinstance(value, str):
        raise _Failed("record", f"{name} is missing")
    try:
        return b64url_decode(value)
    except ValueError as exc:
        raise _Failed("record", f"{name} is not base64url") from exc


def _check(record: Mapping[str, Any]) -> list[Any]:
    for name in _REQUIRED:
        if name not in record:
            raise _Failed("record", f"{name} is missing")
    details = record["authorization_details"]
    if not isinstance(details, list):
        raise _Failed("record", "authorization_details is not a list")
    nonce = _b64(record, "nonce")
    client_data_json = _b64(record, "client_data_json")
    auth_data = _b64(record, "authenticator_data")
    signature = _b64(record, "signature")
    cose_key = _b64(record, "credential_public_key")
    try:
        client_data = json.loads(client_data_json)
    except ValueError as exc:
        raise _Failed("record", "clientDataJSON is not JSON") from exc
    if not isinstance(client_data, dict):
        raise _Failed("record", "clientDataJSON is not an object")
    try:
        expected = transaction_challenge(nonce, details)
    except StepAuthError as exc:
        raise _Failed("challenge", exc.description) from exc
    challenge = b64url_encode(expected)
    if not hmac.compare_digest(str(client_data.get("challenge", "")), challenge):
        raise _Failed("challenge", "the signed challenge is not the one of these details")
    if client_data.get("type") != "webauthn.get":
        raise _Failed("type", f"clientDataJSON.type is {client_data.get('type')!r}")
    if client_data.get("origin") != record["origin"]:
        raise _Failed("origin", f"clientDataJSON.origin is {client_data.get('origin')!r}")
    if len(auth_data) < 37:
        raise _Failed("rpIdHash", "authenticatorData is too short")
    rp_hash = hashlib.sha256(str(record["rp_id"]).encode()).digest()
    if not hmac.compare_digest(auth_data[:32], rp_hash):
        raise _Failed("rpIdHash", "rpIdHash does not match the RP ID")
    flags = auth_data[32]
    if not flags & _UP or not flags & _UV:
        raise _Failed("flags", "the user was not present and verified")
    try:
        decoded = decode_credential_public_key(cose_key)
        public_key = decoded_public_key_to_cryptography(decoded)
    except Exception as exc:  # py_webauthn raises plain errors on odd COSE input
        raise _Failed("signature", "the stored COSE key cannot be read") from exc
    signed = auth_data + hashlib.sha256(client_data_json).digest()
    try:
        verify_signature(
            public_key=public_key, signature_alg=decoded.alg, signature=signature, data=signed
        )
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise _Failed("signature", "the signature does not verify") from exc
    return details


def verify_transaction(record: Mapping[str, Any]) -> TransactionCheck:
    """Re-verify ``record`` (a ``txn_record`` payload); never raises on bad input."""
    try:
        details = _check(record)
    except _Failed as exc:
        return TransactionCheck(valid=False, failed_step=exc.step, reason=exc.description)
    return TransactionCheck(valid=True, details=details)
