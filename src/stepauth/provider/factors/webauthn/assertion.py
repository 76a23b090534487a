"""Verifying an authentication assertion: WebAuthn L3 §7.2, step by step.

:func:`verify_assertion` is the straight-line part over one assertion's bytes (§7.2
steps 8-21: client data, authenticator data, signature). The transaction audit
(:func:`~stepauth.provider.factors.webauthn.transaction_audit.verify_transaction`)
re-runs it on a stored
approval. :func:`verify_authentication` wraps it with what needs the credential record:
which credential and user (steps 5-6) before, and the clone signals (steps 18 and 22)
after. Both clone signals are raised only over a signature that verified (step 21), so
a forged assertion is an :class:`~.errors.InvalidSignature` and says nothing about the
credential; nothing in the record changes before that point.

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

import hashlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

from webauthn.helpers import (
    decode_credential_public_key,
    decoded_public_key_to_cryptography,
    parse_authentication_credential_json,
    verify_signature,
)
from webauthn.helpers.structs import AuthenticatorData

from stepauth.assurance import AuthEvent
from stepauth.provider.factors.webauthn.attestation import TrustStore
from stepauth.provider.factors.webauthn.encoding import (
    as_mapping,
    b64url,
    credential_id_of,
    member,
    optional_bytes,
)
from stepauth.provider.factors.webauthn.errors import (
    BackupEligibilityChanged,
    InvalidResponse,
    InvalidSignature,
    SignCountRegression,
    UnknownCredential,
    UserHandleMismatch,
)
from stepauth.provider.factors.webauthn.records import StoredCredential
from stepauth.provider.factors.webauthn.steps import (
    check_authenticator_data,
    check_client_data,
    read_authenticator_data,
)

__all__ = ["record_update", "verify_assertion", "verify_authentication"]


def verify_assertion(
    *,
    client_data_json: bytes,
    authenticator_data: bytes,
    signature: bytes,
    credential_public_key: bytes,
    expected_challenge: bytes,
    expected_rp_id: str,
    expected_origins: Sequence[str],
    expected_top_origins: Sequence[str] = (),
    require_user_verification: bool = True,
) -> AuthenticatorData:
    """WebAuthn L3 §7.2 steps 8-21 over ``cData``, ``authData`` and ``sig`` (step 7),
    with ``credentialRecord.publicKey`` (a COSE key). Returns the parsed authenticator
    data; the first failed step raises its :class:`~.errors.WebAuthnError`."""
    # §7.2 steps 8-13: C; type, challenge, origin, crossOrigin/topOrigin.
    check_client_data(
        client_data_json,
        ceremony="webauthn.get",
        expected_challenge=expected_challenge,
        expected_origins=expected_origins,
        expected_top_origins=expected_top_origins,
    )
    # §7.2 steps 14-17: rpIdHash, UP, UV, BE=0 ⇒ BS=0.
    auth_data = read_authenticator_data(authenticator_data)
    check_authenticator_data(
        auth_data,
        expected_rp_id=expected_rp_id,
        require_user_verification=require_user_verification,
    )
    # §6.1: "For assertion signatures, the AT flag MUST NOT be set".
    if auth_data.flags.at:
        raise InvalidResponse("AT flag set in an assertion (§6.1)")
    # §7.2 step 19: no extensions are requested (§5.5), so there are no outputs to check.
    # §7.2 step 20: hash = SHA-256(cData).
    client_data_hash = hashlib.sha256(client_data_json).digest()
    # §7.2 step 21: sig is a valid signature over authData ‖ hash with the stored key.
    try:
        decoded = decode_credential_public_key(credential_public_key)
        verify_signature(
            public_key=decoded_public_key_to_cryptography(decoded),
            signature_alg=decoded.alg,
            signature=signature,
            data=authenticator_data + client_data_hash,
        )
    except Exception as exc:  # a bad signature, or a malformed COSE key or DER signature
        raise InvalidSignature("assertion signature did not verify") from exc
    return auth_data


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
    """Verify an assertion (WebAuthn L3 §7.2 steps 3-22).

    ``stored`` is the record found by ``credential_id_of(credential)`` (``None`` when the
    store has none). ``expected_user_handle`` is the session user's handle in step-up;
    leave it ``None`` for discoverable sign-in, where ``userHandle`` is then required.
    The returned event's ``attrs["sign_count"]`` and ``attrs["bs"]`` are what the
    caller records (``store.advance_counter(factor_id, "sign_count", n)`` when n > 0,
    then :func:`record_update`), and only then: an error means the record stays as it
    was, except that an error with ``flag_credential`` asks for it to be disabled.
    """
    now = time.time() if now is None else now
    cred = as_mapping(credential)
    raw_id = credential_id_of(cred)
    # §7.2 step 3: response is an AuthenticatorAssertionResponse (py_webauthn's parser).
    try:
        parsed = parse_authentication_credential_json(dict(cred))
    except Exception as exc:  # py_webauthn raises its own and base64 errors
        raise InvalidResponse(f"not an assertion: {exc}") from exc
    # §5.1.8: id is the base64url encoding of rawId, in its one unpadded spelling.
    if b64url(parsed.raw_id) != parsed.id:
        raise InvalidResponse("credential id is not the base64url of rawId")
    # §7.2 step 5: a credential the ceremony offered in allowCredentials.
    if allowed_credential_ids is not None and raw_id not in allowed_credential_ids:
        raise UnknownCredential("credential was not offered in allowCredentials")
    # §7.2 step 6: the credential record of this rawId ...
    if stored is None or stored.credential_id != raw_id:
        raise UnknownCredential("no such credential")
    # ... and its user: the session's user in step-up, else the one userHandle names.
    user_handle = optional_bytes(member(cred.get("response"), "response"), "userHandle")
    if expected_user_handle is not None:
        if stored.user_handle != expected_user_handle:
            raise UserHandleMismatch("credential belongs to another user")
        if user_handle is not None and user_handle != expected_user_handle:
            raise UserHandleMismatch("userHandle is not the session user")
    elif user_handle is None or user_handle != stored.user_handle:
        raise UserHandleMismatch("userHandle missing or not the credential's user")
    # §7.2 steps 7-21: cData, authData and sig checked against the record's public key.
    auth_data = verify_assertion(
        client_data_json=parsed.response.client_data_json,
        authenticator_data=parsed.response.authenticator_data,
        signature=parsed.response.signature,
        credential_public_key=stored.public_key,
        expected_challenge=expected_challenge,
        expected_rp_id=expected_rp_id,
        expected_origins=expected_origins,
        expected_top_origins=expected_top_origins,
        require_user_verification=require_user_verification,
    )
    # §7.2 step 18: BE "MUST NOT change" after registration (§6.1); a verified assertion
    # that says otherwise is a clone signal, so the credential is flagged.
    if auth_data.flags.be != stored.backup_eligible:
        raise BackupEligibilityChanged("backup eligibility changed since registration")
    # §7.2 step 22: a signCount that does not advance "is a signal ... that the
    # authenticator may be cloned" (§6.1.1); 0 and 0 is legal (synced passkeys).
    sign_count = auth_data.sign_count
    if (sign_count or stored.sign_count) and sign_count <= stored.sign_count:
        raise SignCountRegression(
            f"signCount {sign_count} is not greater than stored {stored.sign_count}"
        )
    return _event(stored, auth_data, trust=trust, now=now)


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
    stored: StoredCredential, auth_data: AuthenticatorData, *, trust: TrustStore | None, now: float
) -> AuthEvent:
    flags = auth_data.flags
    trusted = stored.attestation_trusted and not flags.be
    if trusted and trust is not None:
        # A model revoked after registration no longer counts as hardware-bound
        # (FIDO MDS3 §3.1.4: the status reports are read again at use).
        trusted = trust.allows(stored.aaguid)
    if not flags.uv:
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
            "up": bool(flags.up),
            "uv": bool(flags.uv),
            "be": bool(flags.be),
            "bs": bool(flags.bs),
            "attestation_trusted": trusted,
            "aaguid": stored.aaguid,
            "sign_count": auth_data.sign_count,
        },
    )
