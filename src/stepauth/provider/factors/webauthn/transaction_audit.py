"""Re-verify a stored transaction approval (dynamic linking, PSD2 RTS Art. 5).

When a WebAuthn step-up approves ``authorization_details`` (RFC 9396), the Provider
keeps a ``txn_record``: the nonce, the details, and the assertion exactly as the
authenticator signed it (:func:`stepauth.provider.factors.webauthn.txn_record`). Anyone
holding the record can later prove what the user approved, without trusting the
Provider's database: :func:`verify_transaction` computes the challenge the details
imply and runs the same WebAuthn L3 §7.2 verification as the sign-in did
(:func:`stepauth.provider.factors.webauthn.verify_assertion`), user verification
required as in every step-up (§5.8.6).

The first failed step is reported by name; nothing after it is trusted:

1. ``record``      — every field is present and decodes, and ``clientDataJSON`` is a
   JSON object (§7.2 steps 7-9);
2. ``challenge``   — the details and nonce give a challenge
   (``SHA-256(nonce ‖ JCS(details))``, :func:`stepauth.rar.transaction_challenge`) …
3. ``type``        — ``clientDataJSON.type`` is ``webauthn.get`` (§7.2 step 10);
4. ``challenge``   — … that equals ``clientDataJSON.challenge`` (§7.2 step 11);
5. ``origin``      — ``clientDataJSON.origin`` is the stored origin, not embedded
   cross-origin (§7.2 steps 12-13);
6. ``rpIdHash``    — ``authenticatorData[0:32]`` is ``SHA-256(rp_id)`` (§7.2 step 14);
7. ``flags``       — user present and verified, no BS without BE, no AT (§7.2 steps
   15-17, §6.1);
8. ``signature``   — over ``authenticatorData ‖ SHA-256(clientDataJSON)`` with the stored
   COSE public key (§7.2 steps 20-21).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stepauth.encoding import b64url_decode
from stepauth.errors import StepAuthError
from stepauth.provider.factors.webauthn.assertion import verify_assertion
from stepauth.provider.factors.webauthn.ceremony import TXN_RECORD_KIND
from stepauth.provider.factors.webauthn.errors import (
    ChallengeMismatch,
    CrossOriginNotAllowed,
    InvalidBackupFlags,
    InvalidSignature,
    OriginMismatch,
    RpIdHashMismatch,
    UserNotPresent,
    UserNotVerified,
    WebAuthnError,
    WrongCeremonyType,
)
from stepauth.rar import transaction_challenge

__all__ = ["RECORD_KIND", "TransactionCheck", "verify_transaction"]

RECORD_KIND = TXN_RECORD_KIND
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
#: The step each failure of :func:`verify_assertion` is reported under, and the reason
#: given for it (``None``: the verifier's own description).
_STEP_OF: tuple[tuple[type[WebAuthnError], str, str | None], ...] = (
    (WrongCeremonyType, "type", None),
    (ChallengeMismatch, "challenge", "the signed challenge is not the one of these details"),
    (OriginMismatch, "origin", None),
    (CrossOriginNotAllowed, "origin", None),
    (RpIdHashMismatch, "rpIdHash", "rpIdHash does not match the RP ID"),
    (UserNotPresent, "flags", "the user was not present and verified"),
    (UserNotVerified, "flags", "the user was not present and verified"),
    (InvalidBackupFlags, "flags", None),
    (InvalidSignature, "signature", "the signature does not verify"),
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


def _failed(exc: WebAuthnError) -> _Failed:
    for cls, step, reason in _STEP_OF:
        if isinstance(exc, cls):
            return _Failed(step, reason or exc.description)
    # InvalidResponse: clientDataJSON or authenticatorData is malformed.
    return _Failed("record", exc.description)


def _check(record: Mapping[str, Any]) -> list[Any]:
    for name in _REQUIRED:
        if name not in record:
            raise _Failed("record", f"{name} is missing")
    details = record["authorization_details"]
    if not isinstance(details, list):
        raise _Failed("record", "authorization_details is not a list")
    nonce = _b64(record, "nonce")
    client_data_json = _b64(record, "client_data_json")
    authenticator_data = _b64(record, "authenticator_data")
    signature = _b64(record, "signature")
    public_key = _b64(record, "credential_public_key")
    try:
        expected_challenge = transaction_challenge(nonce, details)
    except StepAuthError as exc:
        raise _Failed("challenge", exc.description) from exc
    try:
        verify_assertion(
            client_data_json=client_data_json,
            authenticator_data=authenticator_data,
            signature=signature,
            credential_public_key=public_key,
            expected_challenge=expected_challenge,
            expected_rp_id=str(record["rp_id"]),
            expected_origins=(record["origin"],),
            require_user_verification=True,
        )
    except WebAuthnError as exc:
        raise _failed(exc) from exc
    return details


def verify_transaction(record: Mapping[str, Any]) -> TransactionCheck:
    """Re-verify ``record`` (a ``txn_record`` payload); never raises on bad input."""
    try:
        details = _check(record)
    except _Failed as exc:
        return TransactionCheck(valid=False, failed_step=exc.step, reason=exc.description)
    return TransactionCheck(valid=True, details=details)
