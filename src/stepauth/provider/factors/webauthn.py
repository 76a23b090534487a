"""WebAuthn registration and authentication verifiers (WebAuthn L3 §7.1, §7.2).

Pure functions, no HTTP and no store: the provider keeps the single-use challenge and
the credential records; this module checks one response. Each spec step that fails
raises its own :class:`WebAuthnError` subclass with a machine ``error`` code, in the
order of STANDARDS.md WA-06..WA-34. Cryptography (COSE keys, attestation statement
formats, the assertion signature) is done by py_webauthn 3.x; the checks it does not
make are made here first:

* ``crossOrigin`` / ``topOrigin`` (WA-10) — refused unless top origins are expected;
* BE=0 with BS=1 is invalid; BE never changes after registration (WA-29, WA-34);
* signCount regression rejects the assertion and asks the caller to flag the
  credential (:class:`SignCountRegression` carries ``flag_credential=True``, WA-31);
  both clone signals are raised only over a signature that verified (§7.2 step 21):
  a forged assertion is :class:`InvalidSignature` and changes nothing;
* credential ID ≤ 1023 bytes and not registered before (WA-19);
* the userHandle belongs to the expected user (WA-24).

The authentication result is an :class:`stepauth.assurance.AuthEvent`:

=========================================  ==========================  ===============
credential                                 methods                     ``phr``/``phrh``
=========================================  ==========================  ===============
attested hardware key, BE=0, UV=1          ``hwk user pin``            phrh
passkey (synced or no trusted attestation) ``pop user pin``            phr
any credential with UV=0 (not required)    ``pop user``                neither (1 factor)
=========================================  ==========================  ===============
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import options_to_json_dict, parse_attestation_object, parse_cbor
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidCBORData,
    InvalidRegistrationResponse,
)
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorAttachment,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from stepauth.assurance import AuthEvent, Category, InvalidEvent
from stepauth.errors import FactorError
from stepauth.provider import jsonlimits
from stepauth.provider.factors.attestation import TrustStore, assess_attestation
from stepauth.provider.factors.base import (
    Attempt,
    Capability,
    FactorRejected,
    FormField,
    FormView,
    Verified,
)
from stepauth.provider.records import TxnRecord, WebAuthnChallenge

if TYPE_CHECKING:
    from stepauth.provider.state import ProviderState
    from stepauth.store import Factor, User

__all__ = [
    "CHALLENGE_KIND",
    "CHALLENGE_TTL",
    "MAX_CREDENTIAL_ID_LENGTH",
    "SUPPORTED_ALGORITHMS",
    "TXN_RECORD_KIND",
    "BackupEligibilityChanged",
    "CeremonyOptions",
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
    "StoredCredential",
    "UnknownCredential",
    "UserHandleMismatch",
    "UserNotPresent",
    "UserNotVerified",
    "VerifiedCredential",
    "WebAuthnError",
    "WebAuthnFactor",
    "WrongCeremonyType",
    "authentication_options",
    "b64url",
    "begin_authentication",
    "credential_id_of",
    "ensure_new_credential_id",
    "plugin",
    "record_update",
    "registration_options",
    "trust_for",
    "txn_record",
    "verify_authentication",
    "verify_registration",
]

#: WebAuthn L3 §7.1 step 25 / WA-19: longer credential IDs SHOULD fail registration.
MAX_CREDENTIAL_ID_LENGTH = 1023
#: COSE algorithms offered in ``pubKeyCredParams`` and accepted at registration, in order
#: of preference (WA-12): Ed25519, ES256, ES512, RS256. ES384 and Ed448 (WebAuthn L3
#: §16.8, §16.12) are not offered, so a credential using them is refused (fail closed).
SUPPORTED_ALGORITHMS = (
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.ECDSA_SHA_512,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
)
#: §15.1 / WA-04: recommended ceremony timeout.
DEFAULT_TIMEOUT_MS = 300_000

_UP, _UV, _BE, _BS, _AT = 0x01, 0x04, 0x08, 0x10, 0x40


# --------------------------------------------------------------------------- errors
class WebAuthnError(FactorError):
    """A WebAuthn response failed verification. ``flag_credential`` asks the caller to
    mark the stored credential as suspicious (possible clone)."""

    error = "webauthn_error"
    flag_credential = False


class InvalidResponse(WebAuthnError):
    """Malformed credential, clientDataJSON, authenticatorData or attestation (WA-06, WA-17)."""

    error = "webauthn_invalid_response"


class WrongCeremonyType(WebAuthnError):
    """``C.type`` is not ``webauthn.create`` / ``webauthn.get`` (WA-07, WA-25)."""

    error = "webauthn_wrong_type"


class ChallengeMismatch(WebAuthnError):
    """``C.challenge`` is not the server-held challenge (WA-08)."""

    error = "webauthn_challenge_mismatch"


class OriginMismatch(WebAuthnError):
    """``C.origin`` (or ``C.topOrigin``) is not an expected origin (WA-09)."""

    error = "webauthn_origin_mismatch"


class CrossOriginNotAllowed(WebAuthnError):
    """``C.crossOrigin`` is true but no embedding was expected (WA-10)."""

    error = "webauthn_cross_origin"


class RpIdHashMismatch(WebAuthnError):
    """``rpIdHash`` is not SHA-256 of the RP ID (WA-12, WA-26)."""

    error = "webauthn_rp_id_mismatch"


class UserNotPresent(WebAuthnError):
    """The UP flag is not set (WA-13, WA-27)."""

    error = "webauthn_user_not_present"


class UserNotVerified(WebAuthnError):
    """UV is required and the UV flag is not set (WA-14, WA-28)."""

    error = "webauthn_user_not_verified"


class InvalidBackupFlags(WebAuthnError):
    """BE=0 with BS=1, which §6.1.3 says is not allowed (WA-15, WA-34)."""

    error = "webauthn_invalid_backup_flags"


class BackupEligibilityChanged(WebAuthnError):
    """BE differs from the registered value; BE "MUST NOT change" (§6.1, WA-29)."""

    error = "webauthn_backup_eligibility_changed"
    flag_credential = True


class SignCountRegression(WebAuthnError):
    """signCount did not increase: a signal of a cloned authenticator (§6.1.1, WA-31)."""

    error = "webauthn_sign_count_regression"
    flag_credential = True


class UnknownCredential(WebAuthnError):
    """No stored credential for this ID, or not one the ceremony allowed (WA-23, WA-24)."""

    error = "webauthn_unknown_credential"


class UserHandleMismatch(WebAuthnError):
    """``userHandle`` is not the user the credential or session belongs to (WA-24)."""

    error = "webauthn_user_handle_mismatch"


class CredentialIdTooLong(WebAuthnError):
    """The credential ID exceeds 1023 bytes (WA-19)."""

    error = "webauthn_credential_id_too_long"


class DuplicateCredential(WebAuthnError):
    """The credential ID is already registered (credential-swap defence, WA-19)."""

    error = "webauthn_credential_exists"


class InvalidSignature(WebAuthnError):
    """The assertion or attestation signature did not verify (WA-17, WA-30)."""

    error = "webauthn_invalid_signature"


# --------------------------------------------------------------------------- records
@dataclass(frozen=True)
class CeremonyOptions:
    """Options for ``navigator.credentials.create/get``: keep ``challenge`` server-side
    (single use, store kind ``webauthn_challenge``) and send ``public_key`` to the page."""

    challenge: bytes
    public_key: dict[str, Any]


@dataclass(frozen=True)
class StoredCredential:
    """The credential record of §7.1 step 27 / WA-20, as the provider stores it."""

    credential_id: bytes
    public_key: bytes
    sign_count: int
    user_handle: bytes
    backup_eligible: bool
    backup_state: bool = False
    attestation_trusted: bool = False
    aaguid: str = "00000000-0000-0000-0000-000000000000"
    transports: tuple[str, ...] = ()
    uv_initialized: bool = False

    def to_data(self) -> dict[str, Any]:
        """JSON-safe form for ``Store.add_factor(..., data=...)``."""
        return {
            "credential_id": b64url(self.credential_id),
            "public_key": b64url(self.public_key),
            "sign_count": self.sign_count,
            "user_handle": b64url(self.user_handle),
            "backup_eligible": self.backup_eligible,
            "backup_state": self.backup_state,
            "attestation_trusted": self.attestation_trusted,
            "aaguid": self.aaguid,
            "transports": list(self.transports),
            "uv_initialized": self.uv_initialized,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> StoredCredential:
        return cls(
            credential_id=_unb64url(str(data["credential_id"])),
            public_key=_unb64url(str(data["public_key"])),
            sign_count=int(data.get("sign_count", 0)),
            user_handle=_unb64url(str(data["user_handle"])),
            backup_eligible=bool(data["backup_eligible"]),
            backup_state=bool(data.get("backup_state", False)),
            attestation_trusted=bool(data.get("attestation_trusted", False)),
            aaguid=str(data.get("aaguid", "00000000-0000-0000-0000-000000000000")),
            transports=tuple(data.get("transports", ())),
            uv_initialized=bool(data.get("uv_initialized", False)),
        )


@dataclass(frozen=True)
class VerifiedCredential:
    """A verified registration; ``to_stored(user_handle)`` gives the record to keep."""

    credential_id: bytes
    public_key: bytes
    sign_count: int
    aaguid: str
    fmt: str
    user_verified: bool
    backup_eligible: bool
    backup_state: bool
    attestation_trusted: bool
    attestation_reason: str
    transports: tuple[str, ...] = ()
    statuses: frozenset[str] = field(default_factory=frozenset)

    def to_stored(self, user_handle: bytes) -> StoredCredential:
        return StoredCredential(
            credential_id=self.credential_id,
            public_key=self.public_key,
            sign_count=self.sign_count,
            user_handle=user_handle,
            backup_eligible=self.backup_eligible,
            backup_state=self.backup_state,
            attestation_trusted=self.attestation_trusted,
            aaguid=self.aaguid,
            transports=self.transports,
            uv_initialized=self.user_verified,
        )


# --------------------------------------------------------------------------- options
def registration_options(
    *,
    rp_id: str,
    rp_name: str,
    user_id: bytes,
    user_name: str,
    user_display_name: str | None = None,
    exclude_credentials: Sequence[bytes] = (),
    attestation: str = "none",
    authenticator_attachment: str | None = None,
    resident_key: str = "required",
    user_verification: str = "required",
    challenge: bytes | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> CeremonyOptions:
    """``PublicKeyCredentialCreationOptions`` (§5.4). ``attestation="direct"`` for
    security keys that should reach ``phrh``; ``"none"`` for passkeys (WA-35)."""
    challenge = challenge if challenge is not None else secrets.token_bytes(32)
    _check_challenge(challenge)
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=rp_name,
        user_id=user_id,
        user_name=user_name,
        user_display_name=user_display_name or user_name,
        challenge=challenge,
        timeout=timeout_ms,
        attestation=AttestationConveyancePreference(attestation),
        authenticator_selection=AuthenticatorSelectionCriteria(
            authenticator_attachment=(
                AuthenticatorAttachment(authenticator_attachment)
                if authenticator_attachment
                else None
            ),
            resident_key=ResidentKeyRequirement(resident_key),
            user_verification=UserVerificationRequirement(user_verification),
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=c) for c in exclude_credentials],
        supported_pub_key_algs=list(SUPPORTED_ALGORITHMS),
    )
    return CeremonyOptions(challenge=challenge, public_key=dict(options_to_json_dict(options)))


def authentication_options(
    *,
    rp_id: str,
    allow_credentials: Sequence[bytes] = (),
    user_verification: str = "required",
    challenge: bytes | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> CeremonyOptions:
    """``PublicKeyCredentialRequestOptions`` (§5.5). For step-up pass the current
    user's credential IDs only (WA-02) and keep ``user_verification="required"`` (WA-01);
    an empty list asks for a discoverable credential (passkey sign-in)."""
    challenge = challenge if challenge is not None else secrets.token_bytes(32)
    _check_challenge(challenge)
    options = generate_authentication_options(
        rp_id=rp_id,
        challenge=challenge,
        timeout=timeout_ms,
        allow_credentials=[PublicKeyCredentialDescriptor(id=c) for c in allow_credentials],
        user_verification=UserVerificationRequirement(user_verification),
    )
    return CeremonyOptions(challenge=challenge, public_key=dict(options_to_json_dict(options)))


# --------------------------------------------------------------------------- registration
def verify_registration(
    *,
    credential: Mapping[str, Any] | str,
    expected_challenge: bytes,
    expected_rp_id: str,
    expected_origins: Sequence[str],
    expected_top_origins: Sequence[str] = (),
    require_user_verification: bool = True,
    trust: TrustStore | None = None,
    now: float | None = None,
) -> VerifiedCredential:
    """Verify a registration response (WebAuthn L3 §7.1, STANDARDS.md WA-06..WA-20).

    ``trust`` decides whether a ``direct`` attestation makes the key hardware-bound;
    without it every credential is a plain passkey (fail closed). The caller still has
    to check that the credential ID is new (:func:`ensure_new_credential_id`).
    """
    now = time.time() if now is None else now
    cred = _as_mapping(credential)
    raw_id = credential_id_of(cred)
    response = _mapping(cred.get("response"), "response")
    client_data_json = _field_bytes(response, "clientDataJSON")
    attestation_object = _field_bytes(response, "attestationObject")
    _check_client_data(
        client_data_json,
        ceremony="webauthn.create",
        expected_challenge=expected_challenge,
        expected_origins=expected_origins,
        expected_top_origins=expected_top_origins,
    )
    try:
        att = parse_attestation_object(attestation_object)
        att_map = parse_cbor(attestation_object)
    except (InvalidCBORData, ValueError, KeyError, TypeError) as exc:
        raise InvalidResponse("attestationObject is malformed") from exc
    auth_data = bytes(att_map.get("authData", b""))
    flags = _check_authenticator_data(
        auth_data,
        expected_rp_id=expected_rp_id,
        require_user_verification=require_user_verification,
    )
    if not flags & _AT or att.auth_data.attested_credential_data is None:
        raise InvalidResponse("authenticatorData carries no attested credential data")
    acd = att.auth_data.attested_credential_data
    if len(acd.credential_id) > MAX_CREDENTIAL_ID_LENGTH:
        raise CredentialIdTooLong(f"credential ID is {len(acd.credential_id)} bytes")
    if acd.credential_id != raw_id:
        raise InvalidResponse("rawId differs from the attested credential ID")
    try:
        verified = verify_registration_response(
            credential=dict(cred),
            expected_challenge=expected_challenge,
            expected_rp_id=expected_rp_id,
            expected_origin=list(expected_origins),
            require_user_verification=require_user_verification,
            supported_pub_key_algs=list(SUPPORTED_ALGORITHMS),
        )
    except InvalidRegistrationResponse as exc:
        raise InvalidSignature(f"attestation did not verify: {exc}") from exc
    except Exception as exc:  # py_webauthn lets parser errors escape on odd input
        raise InvalidResponse(f"registration response could not be verified: {exc}") from exc
    fmt = str(att_map.get("fmt", ""))
    att_stmt = att_map.get("attStmt") or {}
    assessment = assess_attestation(
        fmt=fmt, att_stmt=att_stmt, aaguid=verified.aaguid, trust=trust, now=now
    )
    transports = response.get("transports")
    transports = transports if isinstance(transports, list) else []
    return VerifiedCredential(
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=verified.aaguid,
        fmt=fmt,
        user_verified=bool(flags & _UV),
        backup_eligible=bool(flags & _BE),
        backup_state=bool(flags & _BS),
        attestation_trusted=assessment.trusted,
        attestation_reason=assessment.reason,
        transports=tuple(str(t) for t in transports),
        statuses=assessment.statuses,
    )


async def ensure_new_credential_id(
    credential_id: bytes, *, lookup: Callable[[str], Awaitable[object | None]]
) -> None:
    """Refuse a credential ID that is already registered to anyone (WA-19).

    ``lookup`` is ``store.get_factor_by_credential_id``; IDs are stored base64url.
    The store's unique index is the final guard against a concurrent registration.
    """
    if len(credential_id) > MAX_CREDENTIAL_ID_LENGTH:
        raise CredentialIdTooLong(f"credential ID is {len(credential_id)} bytes")
    if await lookup(b64url(credential_id)) is not None:
        raise DuplicateCredential("this credential is already registered")


# --------------------------------------------------------------------------- authentication
def verify_authentication(
    *,
    credential: Mapping[str, Any] | str,
    expected_challenge: bytes,
    expected_rp_id: str,
    expected_origins: Sequence[str],
    stored: StoredCredential | None,
    require_user_verification: bool = True,
    expected_user_handle: bytes | None = None,
    allowed_credential_ids: Sequence[bytes] | None = None,
    expected_top_origins: Sequence[str] = (),
    trust: TrustStore | None = None,
    now: float | None = None,
) -> AuthEvent:
    """Verify an assertion (WebAuthn L3 §7.2, STANDARDS.md WA-22..WA-31).

    ``stored`` is the record found by ``credential_id_of(credential)`` (``None`` when the
    store has none). ``expected_user_handle`` is the session user's handle in step-up;
    leave it ``None`` for discoverable sign-in, where ``userHandle`` is then required.
    The returned event's ``attrs["sign_count"]`` and ``attrs["bs"]`` are what the
    caller records (``store.advance_counter(factor_id, "sign_count", n)`` when n > 0,
    then :func:`record_update`), and only then: an error means the record stays as it
    was, except that an error with ``flag_credential`` asks for it to be disabled.
    """
    now = time.time() if now is None else now
    cred = _as_mapping(credential)
    raw_id = credential_id_of(cred)
    # WA-23/24: identify the credential and its user first.
    if allowed_credential_ids is not None and raw_id not in allowed_credential_ids:
        raise UnknownCredential("credential was not offered in allowCredentials")
    if stored is None or stored.credential_id != raw_id:
        raise UnknownCredential("no such credential")
    response = _mapping(cred.get("response"), "response")
    user_handle = _optional_bytes(response, "userHandle")
    if expected_user_handle is not None:
        if stored.user_handle != expected_user_handle:
            raise UserHandleMismatch("credential belongs to another user")
        if user_handle is not None and user_handle != expected_user_handle:
            raise UserHandleMismatch("userHandle is not the session user")
    elif user_handle is None or user_handle != stored.user_handle:
        raise UserHandleMismatch("userHandle missing or not the credential's user")
    client_data_json = _field_bytes(response, "clientDataJSON")
    authenticator_data = _field_bytes(response, "authenticatorData")
    _check_client_data(
        client_data_json,
        ceremony="webauthn.get",
        expected_challenge=expected_challenge,
        expected_origins=expected_origins,
        expected_top_origins=expected_top_origins,
    )
    flags = _check_authenticator_data(
        authenticator_data,
        expected_rp_id=expected_rp_id,
        require_user_verification=require_user_verification,
    )
    if flags & _AT:
        raise InvalidResponse("AT flag set in an assertion (§6.1)")
    # Step 18 (BE "MUST NOT change", §6.1) and step 22 (signCount) are clone signals about
    # the stored credential, so a failure there disables it (flag_credential). Only an
    # assertion whose signature verifies (step 21) is evidence about the credential: a
    # forged one, whatever its flags and counter, is refused as forged and changes
    # nothing, or anyone who learns a credential ID could disable that passkey.
    be_changed = bool(flags & _BE) != stored.backup_eligible
    sign_count = _verify_signature(
        cred,
        expected_challenge=expected_challenge,
        expected_rp_id=expected_rp_id,
        expected_origins=expected_origins,
        public_key=stored.public_key,
        require_user_verification=require_user_verification,
    )
    if be_changed:
        raise BackupEligibilityChanged("backup eligibility changed since registration")
    if (sign_count or stored.sign_count) and sign_count <= stored.sign_count:
        raise SignCountRegression(
            f"signCount {sign_count} is not greater than stored {stored.sign_count}"
        )
    return _event(stored, flags, sign_count, trust=trust, now=now)


def _verify_signature(
    cred: Mapping[str, Any],
    *,
    expected_challenge: bytes,
    expected_rp_id: str,
    expected_origins: Sequence[str],
    public_key: bytes,
    require_user_verification: bool,
) -> int:
    """§7.2 step 21: ``sig`` over ``authData ‖ SHA-256(cData)`` with the stored public
    key. Returns the asserted signCount, which the caller judges afterwards (step 22):
    py_webauthn compares the counter before the signature, so it is given none."""
    try:
        verified = verify_authentication_response(
            credential=dict(cred),
            expected_challenge=expected_challenge,
            expected_rp_id=expected_rp_id,
            expected_origin=list(expected_origins),
            credential_public_key=public_key,
            credential_current_sign_count=0,
            require_user_verification=require_user_verification,
        )
    except InvalidAuthenticationResponse as exc:
        raise InvalidSignature(f"assertion did not verify: {exc}") from exc
    except Exception as exc:  # malformed COSE key or signature encoding
        raise InvalidSignature(f"assertion could not be verified: {exc}") from exc
    return int(verified.new_sign_count)


def record_update(
    stored: StoredCredential, event: AuthEvent, *, uv_authorized: bool
) -> dict[str, Any]:
    """The credential record fields a verified assertion changes (§7.2 step 24).

    ``backupState`` takes the asserted BS (§6.1.3: store the latest flags).
    ``uvInitialized`` goes from false to true on an assertion with UV=1 only when
    ``uv_authorized``: the spec says the change SHOULD need another factor equivalent to
    user verification, else a thief who sets a PIN on a found authenticator would make
    it multi-factor. The signCount has its own atomic statement
    (``store.advance_counter``). Only fields whose value changes are returned.
    """
    changes: dict[str, Any] = {}
    bs = event.attrs.get("bs") is True
    if bs != stored.backup_state:
        changes["backup_state"] = bs
    if not stored.uv_initialized and event.attrs.get("uv") is True and uv_authorized:
        changes["uv_initialized"] = True
    return changes


def _event(
    stored: StoredCredential, flags: int, sign_count: int, *, trust: TrustStore | None, now: float
) -> AuthEvent:
    uv, be, bs = bool(flags & _UV), bool(flags & _BE), bool(flags & _BS)
    trusted = stored.attestation_trusted and not be
    if trusted and trust is not None:
        # A model revoked after registration no longer counts as hardware-bound (WA-38).
        trusted = trust.allows(stored.aaguid)
    if not uv:
        methods: tuple[str, ...] = ("pop", "user")
    elif trusted:
        methods = ("hwk", "user", "pin")
    else:
        methods = ("pop", "user", "pin")
    return AuthEvent(
        methods=methods,
        at=now,
        credential_id=b64url(stored.credential_id),
        attrs={
            "factor": "webauthn",
            "up": bool(flags & _UP),
            "uv": uv,
            "be": be,
            "bs": bs,
            "attestation_trusted": trusted,
            "aaguid": stored.aaguid,
            "sign_count": sign_count,
        },
    )


# --------------------------------------------------------------------------- steps
def _check_client_data(
    data: bytes,
    *,
    ceremony: str,
    expected_challenge: bytes,
    expected_origins: Sequence[str],
    expected_top_origins: Sequence[str],
) -> None:
    """§7.1 steps 5-10 / §7.2 steps 10-15: parse tolerantly, then type, challenge, origin."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        client_data = jsonlimits.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidResponse("clientDataJSON is not UTF-8 JSON") from exc
    if not isinstance(client_data, dict):
        raise InvalidResponse("clientDataJSON is not an object")
    if client_data.get("type") != ceremony:
        raise WrongCeremonyType(f"clientData type is not {ceremony}")
    challenge = client_data.get("challenge")
    if not isinstance(challenge, str) or not secrets.compare_digest(
        challenge.encode(), b64url(expected_challenge).encode()
    ):
        raise ChallengeMismatch("clientData challenge is not the expected challenge")
    if client_data.get("origin") not in expected_origins:
        raise OriginMismatch("clientData origin is not expected")
    cross_origin = client_data.get("crossOrigin", False)
    top_origin = client_data.get("topOrigin")
    if cross_origin is True or top_origin is not None:
        if not expected_top_origins:
            raise CrossOriginNotAllowed("ceremony ran in a cross-origin iframe")
        if top_origin is not None and top_origin not in expected_top_origins:
            raise OriginMismatch("clientData topOrigin is not expected")


def _check_authenticator_data(
    auth_data: bytes, *, expected_rp_id: str, require_user_verification: bool
) -> int:
    """rpIdHash, UP, UV, BE/BS (§6.1, §7.2 steps 15-18). Returns the flags byte."""
    if len(auth_data) < 37:
        raise InvalidResponse("authenticatorData is shorter than 37 bytes")
    rp_id_hash = hashlib.sha256(expected_rp_id.encode()).digest()
    if not secrets.compare_digest(auth_data[:32], rp_id_hash):
        raise RpIdHashMismatch("rpIdHash is not SHA-256 of the RP ID")
    flags = auth_data[32]
    if not flags & _UP:
        raise UserNotPresent("user presence flag not set")
    if require_user_verification and not flags & _UV:
        raise UserNotVerified("user verification required but UV flag not set")
    if flags & _BS and not flags & _BE:
        raise InvalidBackupFlags("BS set without BE")
    return flags


def _check_challenge(challenge: bytes) -> None:
    if len(challenge) < 16:  # §13.5.3 / WA-03
        raise WebAuthnError("challenge must be at least 16 bytes", error="invalid_challenge")


# --------------------------------------------------------------------------- encoding
def b64url(data: bytes) -> str:
    """Unpadded base64url, as WebAuthn JSON uses."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise InvalidResponse("value is not base64url") from exc


def credential_id_of(credential: Mapping[str, Any] | str) -> bytes:
    """The credential's ``rawId`` (checked against ``id``) — the key to look it up by."""
    cred = _as_mapping(credential)
    if cred.get("type") != "public-key":
        raise InvalidResponse("credential type is not public-key")
    raw_id, id_ = cred.get("rawId"), cred.get("id")
    if not isinstance(raw_id, str) or not isinstance(id_, str):
        raise InvalidResponse("credential id/rawId missing")
    raw = _unb64url(raw_id)
    if raw != _unb64url(id_) or not raw:
        raise InvalidResponse("credential id and rawId differ")
    return raw


def _as_mapping(credential: Mapping[str, Any] | str) -> Mapping[str, Any]:
    if isinstance(credential, str):
        try:
            credential = jsonlimits.loads(credential)
        except ValueError as exc:
            raise InvalidResponse("credential is not JSON") from exc
    if not isinstance(credential, Mapping):
        raise InvalidResponse("credential is not an object")
    return credential


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidResponse(f"{name} is missing")
    return value


def _field_bytes(response: Mapping[str, Any], name: str) -> bytes:
    value = response.get(name)
    if not isinstance(value, str):
        raise InvalidResponse(f"{name} is missing")
    return _unb64url(value)


def _optional_bytes(response: Mapping[str, Any], name: str) -> bytes | None:
    value = response.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidResponse(f"{name} is not base64url")
    return _unb64url(value)


# --------------------------------------------------------------------------- plug-in
#: Store kind of the server-held challenge of a ceremony (single use, WA-03).
CHALLENGE_KIND = "webauthn_challenge"
#: Lifetime of an authentication challenge: the ceremony timeout (§15.1, WA-04).
CHALLENGE_TTL = DEFAULT_TIMEOUT_MS // 1000
#: Store kind of a transaction approval record (re-verifiable later, DESIGN.md §3).
TXN_RECORD_KIND = "txn_record"


def trust_for(state: ProviderState) -> TrustStore | None:
    """The attestation trust anchors, built once at start-up (``state.trust``; see
    :func:`stepauth.provider.factors.mds.load_trust`) and refreshed in the background.

    Without them, no credential is hardware-bound: every passkey is at most ``phr``.
    """
    return state.trust


def _user_credentials(user: User | None, factors: Sequence[Factor]) -> list[Factor]:
    if user is None:
        return []
    return [
        f
        for f in factors
        if f.kind == "webauthn" and not f.disabled and f.credential_id and f.user_id == user.id
    ]


async def begin_authentication(
    state: ProviderState,
    *,
    interaction_id: str,
    user: User | None,
    factors: Sequence[Factor],
    authorization_details: Sequence[Mapping[str, Any]] | None,
    now: float,
) -> CeremonyOptions:
    """Options for ``navigator.credentials.get()`` in interaction ``interaction_id``.

    One live challenge per interaction, kept server-side (``webauthn_challenge`` keyed by
    the interaction id; a new request replaces it). ``userVerification`` is always
    ``"required"`` (WA-01); ``allowCredentials`` lists the known user's credentials only
    (WA-02), or none for discoverable passkey sign-in. With ``authorization_details`` the
    challenge is ``transaction_challenge(nonce, details)`` over the Provider's own copy
    with a fresh 32-byte nonce (WA-05, PSD2 RTS Art. 5(1)(b)).
    """
    from stepauth.rar import transaction_challenge

    allow = [str(f.credential_id) for f in _user_credentials(user, factors)]
    details = [dict(d) for d in authorization_details] if authorization_details else None
    nonce: bytes | None = None
    if details:
        nonce = secrets.token_bytes(32)
        challenge = transaction_challenge(nonce, details)
    else:
        challenge = secrets.token_bytes(32)
    options = authentication_options(
        rp_id=state.config.webauthn.rp_id,
        allow_credentials=[_unb64url(c) for c in allow],
        user_verification="required",
        challenge=challenge,
    )
    ceremony = WebAuthnChallenge(
        purpose="authenticate",
        interaction=interaction_id,
        challenge=b64url(challenge),
        nonce=b64url(nonce) if nonce is not None else None,
        user_id=user.id if user is not None else None,
        allow=allow,
        authorization_details=details,
    )
    await state.store.put(
        CHALLENGE_KIND,
        interaction_id,
        ceremony.to_payload(),
        expires_at=now + CHALLENGE_TTL,
        user_id=user.id if user is not None else None,
    )
    return options


def _client_origin(client_data_json: bytes) -> str | None:
    try:
        origin = jsonlimits.loads(client_data_json.lstrip(b"\xef\xbb\xbf")).get("origin")
    except (UnicodeDecodeError, ValueError, AttributeError):
        return None
    return origin if isinstance(origin, str) else None


def txn_record(
    *,
    txn: str,
    user_id: str,
    client_id: str | None,
    authorization_details: Sequence[Mapping[str, Any]],
    nonce: bytes,
    rp_id: str,
    credential: Mapping[str, Any],
    stored: StoredCredential,
    verified_at: float,
) -> TxnRecord:
    """The transaction approval record (second-wave contract): everything needed to
    re-verify the assertion later against the details it approved."""
    response = _mapping(credential.get("response"), "response")
    client_data_json = _field_bytes(response, "clientDataJSON")
    user_handle = _optional_bytes(response, "userHandle")
    return TxnRecord(
        txn=txn,
        user_id=user_id,
        client_id=client_id,
        authorization_details=[dict(d) for d in authorization_details],
        nonce=b64url(nonce),
        rp_id=rp_id,
        origin=_client_origin(client_data_json),
        credential_id=b64url(stored.credential_id),
        credential_public_key=b64url(stored.public_key),
        client_data_json=b64url(client_data_json),
        authenticator_data=b64url(_field_bytes(response, "authenticatorData")),
        signature=b64url(_field_bytes(response, "signature")),
        user_handle=b64url(user_handle) if user_handle is not None else None,
        verified_at=verified_at,
    )


def _uv_authorized(attempt: Attempt, factor: Factor) -> bool:
    """Does the session being stepped up already hold a factor equivalent to user
    verification (knowledge or inherence) from another authenticator? Only then may a
    credential's ``uvInitialized`` go from false to true (§7.2 step 24)."""
    for data in attempt.session_events:
        try:
            event = AuthEvent.from_json(data)
        except InvalidEvent:
            continue
        if event.credential_id != factor.credential_id and event.categories & {
            Category.KNOWLEDGE,
            Category.INHERENCE,
        }:
            return True
    return False


class WebAuthnFactor:
    """Passkeys and security keys (WebAuthn L3 §7.2): phishing-resistant, multi-factor
    with UV; one click on **Use passkey** (issue 4 item 5).

    The form carries no typed input: ``webauthn.js`` fetches the options from
    ``POST /interaction/{uid}/webauthn`` (csrf in the JSON body), calls
    ``navigator.credentials.get`` and posts the credential JSON in the hidden field
    ``credential``. Verification consumes the interaction's challenge first (one atomic
    statement: a replayed assertion finds it gone), finds the credential record by its
    ID, and refuses a credential of anyone but the known user (WA-24) with the generic
    message. Nothing about the record changes before the signature verified (§7.2
    step 21): then a signCount that does not advance (store ``advance_counter``) or a
    changed BE flag disables the credential (possible clone, WA-29/31), and a success
    stores the counter, BS and ``uvInitialized`` (§7.2 step 24, :func:`record_update`).
    """

    kind: ClassVar[str] = "webauthn"
    title: ClassVar[str] = "Passkey"
    button: ClassVar[str] = "Use passkey"
    capability: ClassVar[Capability] = Capability(
        categories=frozenset({Category.POSSESSION, Category.KNOWLEDGE}),
        phishing_resistant=True,
        multi_factor=True,
    )
    identifies: ClassVar[bool] = True
    binds: ClassVar[bool] = True
    scripts: ClassVar[tuple[str, ...]] = ("/static/webauthn.js",)

    def is_enrolled(self, user: User, factors: Sequence[Factor]) -> bool:
        return any(f.kind == self.kind and not f.disabled and f.credential_id for f in factors)

    def capability_for(self, factors: Sequence[Factor]) -> Capability:
        """Hardware-bound only if one enabled key was registered with a trusted
        attestation and BE=0 (the trust store is checked again at use, WA-38)."""
        bound = any(
            f.kind == self.kind
            and not f.disabled
            and bool(f.data.get("attestation_trusted"))
            and not bool(f.data.get("backup_eligible"))
            for f in factors
        )
        return replace(self.capability, hardware_bound=bound) if bound else self.capability

    def fields(self, view: FormView) -> Sequence[FormField]:
        return (FormField("credential", "Passkey response", type="hidden", required=False),)

    async def verify(self, attempt: Attempt) -> Verified:
        """Under the lockout of the session's user, or for a first-factor passkey of the
        credential's owner: an unknown credential has no owner to count against (the
        page counts it against the address), a bad assertion of a known credential
        counts against its owner and a blocked owner is refused even when right."""
        from stepauth.provider.throttle import GENERIC_FAILURE, guarded

        owner = attempt.user if attempt.user is not None else await self._owner(attempt)
        try:
            if owner is None:
                raise FactorRejected(GENERIC_FAILURE)
            return await guarded(attempt, self.kind, lambda: self._check(attempt), user=owner)
        except FactorRejected:
            # A refused attempt (blocked, unknown credential) never leaves its challenge
            # usable (WA-03); consuming twice is harmless.
            store = attempt.state.store
            await store.consume(CHALLENGE_KIND, attempt.interaction_id, now=attempt.now)
            raise

    async def _owner(self, attempt: Attempt) -> User | None:
        """The enabled owner of the submitted credential ID, if it is one of ours."""
        try:
            raw_id = credential_id_of(_as_mapping(attempt.form.get("credential", "")))
        except WebAuthnError:
            return None
        store = attempt.state.store
        factor = await store.get_factor_by_credential_id(b64url(raw_id))
        if factor is None or factor.kind != self.kind:
            return None
        owner = await store.get_user(factor.user_id)
        return owner if owner is not None and not owner.disabled else None

    async def _check(self, attempt: Attempt) -> Verified | None:
        """``None`` for any failure: the page shows one generic message (RTS Art. 4(3)(a))."""
        from stepauth.rar import canonical_json

        state, store, user = attempt.state, attempt.state.store, attempt.user
        consumed = await store.consume(CHALLENGE_KIND, attempt.interaction_id, now=attempt.now)
        ceremony = WebAuthnChallenge.from_payload(consumed.payload) if consumed.ok else None
        if (
            ceremony is None
            or ceremony.purpose != "authenticate"
            or ceremony.interaction != attempt.interaction_id
            or ceremony.user_id != (user.id if user is not None else None)
        ):
            return None
        details = attempt.authorization_details or None
        approved = ceremony.authorization_details or None
        if (details is None) != (approved is None) or (
            details is not None
            and canonical_json([dict(d) for d in details]) != canonical_json(approved)
        ):
            return None  # the details changed since the challenge was made
        try:
            credential = _as_mapping(attempt.form.get("credential", ""))
            raw_id = credential_id_of(credential)
        except WebAuthnError:
            return None
        factor = await store.get_factor_by_credential_id(b64url(raw_id))
        if factor is None or factor.kind != self.kind or factor.disabled:
            return None
        if user is not None and factor.user_id != user.id:
            return None  # another user's credential never steps up this session (WA-24)
        trust = trust_for(state)
        try:
            stored = StoredCredential.from_data(factor.data)
            if trust is None:
                # No trust anchors configured: nothing is hardware-bound (at most phr).
                stored = replace(stored, attestation_trusted=False)
            allow = [_unb64url(c) for c in ceremony.allow]
            event = verify_authentication(
                credential=credential,
                expected_challenge=_unb64url(ceremony.challenge),
                expected_rp_id=state.config.webauthn.rp_id,
                expected_origins=tuple(state.config.webauthn.origins),
                stored=stored,
                require_user_verification=True,
                expected_user_handle=stored.user_handle if user is not None else None,
                allowed_credential_ids=allow if user is not None else None,
                trust=trust,
                now=attempt.now,
            )
        except WebAuthnError as exc:
            if exc.flag_credential:
                await self._flag(attempt, factor, exc.error)
            return None
        # From here the assertion is verified (§7.2 step 21): only now may the record change.
        owner = user if user is not None else await store.get_user(factor.user_id)
        if owner is None or owner.disabled:
            return None
        sign_count = int(event.attrs.get("sign_count", 0))
        if sign_count and not await store.advance_counter(factor.id, "sign_count", sign_count):
            await self._flag(attempt, factor, SignCountRegression.error)
            return None
        await self._update_record(attempt, factor, stored, event)
        txn: str | None = None
        nonce = ceremony.nonce
        if details is not None and nonce is not None:
            txn = secrets.token_urlsafe(16)
            record = txn_record(
                txn=txn,
                user_id=owner.id,
                client_id=attempt.client_id,
                authorization_details=details,
                nonce=_unb64url(nonce),
                rp_id=state.config.webauthn.rp_id,
                credential=credential,
                stored=stored,
                verified_at=attempt.now,
            )
            payload = record.to_payload()
            await store.put(TXN_RECORD_KIND, txn, payload, expires_at=None, user_id=owner.id)
        return Verified(user=owner, event=event, factor_id=factor.id, txn=txn)

    async def _update_record(
        self, attempt: Attempt, factor: Factor, stored: StoredCredential, event: AuthEvent
    ) -> None:
        """Store BS and ``uvInitialized`` of a verified assertion (§7.2 step 24); the
        record is read again so that only these two fields are written."""
        changes = record_update(stored, event, uv_authorized=_uv_authorized(attempt, factor))
        if not changes:
            return
        store = attempt.state.store
        current = await store.get_factor(factor.id)
        if current is not None:
            await store.update_factor(factor.id, data={**current.data, **changes})

    async def _flag(self, attempt: Attempt, factor: Factor, reason: str) -> None:
        """Disable a credential that may be cloned (WA-29, WA-31) and record why."""
        await attempt.state.store.update_factor(factor.id, disabled=True)
        await attempt.state.store.append_audit(
            {
                "event": "credential_flagged",
                "user_id": factor.user_id,
                "factor_id": factor.id,
                "factor": self.kind,
                "reason": reason,
            },
            now=attempt.now,
        )


plugin = WebAuthnFactor()
