"""The errors of WebAuthn verification, one class per failed ceremony step.

Each carries a machine ``error`` code; ``flag_credential`` asks the caller to disable
the stored credential (a clone signal, raised only over a verified signature)::

    WebAuthnError
    ├── InvalidResponse            malformed credential, clientDataJSON or authenticatorData
    ├── WrongCeremonyType          §7.1 step 7 / §7.2 step 10
    ├── ChallengeMismatch          §7.1 step 8 / §7.2 step 11
    ├── OriginMismatch             §7.1 step 9 / §7.2 step 12 (and topOrigin)
    ├── CrossOriginNotAllowed      §7.1 step 10 / §7.2 step 13
    ├── RpIdHashMismatch           §7.1 step 13 / §7.2 step 14
    ├── UserNotPresent             §7.1 step 14 / §7.2 step 15
    ├── UserNotVerified            §7.1 step 15 / §7.2 step 16
    ├── InvalidBackupFlags         §7.1 step 16 / §7.2 step 17
    ├── BackupEligibilityChanged   §7.2 step 18            (flag_credential)
    ├── InvalidSignature           §7.1 step 21 / §7.2 step 21
    ├── SignCountRegression        §7.2 step 22            (flag_credential)
    ├── UnknownCredential          §7.2 steps 5-6
    ├── UserHandleMismatch         §7.2 step 6
    ├── CredentialIdTooLong        §7.1 step 25
    └── DuplicateCredential        §7.1 step 26
"""

from __future__ import annotations

from stepauth.errors import FactorError

__all__ = [
    "BackupEligibilityChanged",
    "ChallengeMismatch",
    "CredentialIdTooLong",
    "CrossOriginNotAllowed",
    "DuplicateCredential",
    "InvalidBackupFlags",
    "InvalidResponse",
    "InvalidSignature",
    "OriginMismatch",
    "RpIdHashMismatch",
    "SignCountRegression",
    "UnknownCredential",
    "UserHandleMismatch",
    "UserNotPresent",
    "UserNotVerified",
    "WebAuthnError",
    "WrongCeremonyType",
]


class WebAuthnError(FactorError):
    """A WebAuthn response failed verification. ``flag_credential`` asks the caller to
    mark the stored credential as suspicious (possible clone)."""

    error = "webauthn_error"
    flag_credential = False


class InvalidResponse(WebAuthnError):
    """Malformed credential, clientDataJSON, authenticatorData or attestation object
    (WebAuthn L3 §7.1 steps 3-6 and 12, §7.2 steps 3 and 7-9)."""

    error = "webauthn_invalid_response"


class WrongCeremonyType(WebAuthnError):
    """``C.type`` is not ``webauthn.create`` / ``webauthn.get`` (§7.1 step 7, §7.2 step 10)."""

    error = "webauthn_wrong_type"


class ChallengeMismatch(WebAuthnError):
    """``C.challenge`` is not the server-held challenge (§7.1 step 8, §7.2 step 11)."""

    error = "webauthn_challenge_mismatch"


class OriginMismatch(WebAuthnError):
    """``C.origin`` (or ``C.topOrigin``) is not an expected origin (§7.1 steps 9-10,
    §7.2 steps 12-13)."""

    error = "webauthn_origin_mismatch"


class CrossOriginNotAllowed(WebAuthnError):
    """``C.crossOrigin`` is true but no embedding was expected (§7.1 step 10, §7.2 step 13)."""

    error = "webauthn_cross_origin"


class RpIdHashMismatch(WebAuthnError):
    """``rpIdHash`` is not SHA-256 of the RP ID (§7.1 step 13, §7.2 step 14)."""

    error = "webauthn_rp_id_mismatch"


class UserNotPresent(WebAuthnError):
    """The UP flag is not set (§7.1 step 14, §7.2 step 15)."""

    error = "webauthn_user_not_present"


class UserNotVerified(WebAuthnError):
    """UV is required and the UV flag is not set (§7.1 step 15, §7.2 step 16)."""

    error = "webauthn_user_not_verified"


class InvalidBackupFlags(WebAuthnError):
    """BE=0 with BS=1, which §6.1.3 says is not allowed (§7.1 step 16, §7.2 step 17)."""

    error = "webauthn_invalid_backup_flags"


class BackupEligibilityChanged(WebAuthnError):
    """BE differs from the registered value; BE "MUST NOT change" (§6.1, §7.2 step 18)."""

    error = "webauthn_backup_eligibility_changed"
    flag_credential = True


class SignCountRegression(WebAuthnError):
    """signCount did not increase: a signal of a cloned authenticator (§6.1.1, §7.2 step 22)."""

    error = "webauthn_sign_count_regression"
    flag_credential = True


class UnknownCredential(WebAuthnError):
    """No stored credential for this ID, or not one the ceremony allowed (§7.2 steps 5-6)."""

    error = "webauthn_unknown_credential"


class UserHandleMismatch(WebAuthnError):
    """``userHandle`` is not the user the credential or session belongs to (§7.2 step 6)."""

    error = "webauthn_user_handle_mismatch"


class CredentialIdTooLong(WebAuthnError):
    """The credential ID exceeds 1023 bytes (§7.1 step 25)."""

    error = "webauthn_credential_id_too_long"


class DuplicateCredential(WebAuthnError):
    """The credential ID is already registered (credential-swap defence, §7.1 step 26)."""

    error = "webauthn_credential_exists"


class InvalidSignature(WebAuthnError):
    """The assertion or attestation signature did not verify (§7.1 step 21, §7.2 step 21)."""

    error = "webauthn_invalid_signature"
