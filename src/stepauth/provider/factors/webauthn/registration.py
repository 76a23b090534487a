"""Registering a new credential: WebAuthn L3 §7.1.

The client data and authenticator data steps are the ones assertions share
(:mod:`.steps`). The attestation statement (§7.1 steps 18-21: the key's algorithm, the
format and its verification procedure) is verified by py_webauthn's
``verify_registration_response``, which dispatches on ``fmt``; whether the attestation
makes the key hardware-bound (steps 22-23) is decided by :mod:`.attestation` against
the deployment's trust anchors, never by py_webauthn (whose chain check passes when no
roots are configured).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from webauthn import verify_registration_response
from webauthn.helpers import parse_attestation_object, parse_cbor
from webauthn.helpers.exceptions import InvalidRegistrationResponse, WebAuthnException

from stepauth.provider.factors.webauthn.attestation import TrustStore, assess_attestation
from stepauth.provider.factors.webauthn.encoding import (
    as_mapping,
    b64url,
    credential_id_of,
    field_bytes,
    member,
)
from stepauth.provider.factors.webauthn.errors import (
    CredentialIdTooLong,
    DuplicateCredential,
    InvalidResponse,
    InvalidSignature,
)
from stepauth.provider.factors.webauthn.options import SUPPORTED_ALGORITHMS
from stepauth.provider.factors.webauthn.records import VerifiedCredential
from stepauth.provider.factors.webauthn.steps import (
    check_authenticator_data,
    check_client_data,
)

__all__ = ["MAX_CREDENTIAL_ID_LENGTH", "ensure_new_credential_id", "verify_registration"]

#: WebAuthn L3 §7.1 step 25: longer credential IDs SHOULD fail registration.
MAX_CREDENTIAL_ID_LENGTH = 1023


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
    """Verify a registration response (WebAuthn L3 §7.1 steps 3-25).

    ``trust`` decides whether a ``direct`` attestation makes the key hardware-bound;
    without it every credential is a plain passkey (fail closed). The caller still has
    to check that the credential ID is new (§7.1 step 26, :func:`ensure_new_credential_id`).
    """
    now = time.time() if now is None else now
    cred = as_mapping(credential)
    raw_id = credential_id_of(cred)
    # §7.1 step 3: response is an AuthenticatorAttestationResponse.
    response = member(cred.get("response"), "response")
    client_data_json = field_bytes(response, "clientDataJSON")
    attestation_object = field_bytes(response, "attestationObject")
    # §7.1 steps 5-10: C; type, challenge, origin, crossOrigin/topOrigin.
    check_client_data(
        client_data_json,
        ceremony="webauthn.create",
        expected_challenge=expected_challenge,
        expected_origins=expected_origins,
        expected_top_origins=expected_top_origins,
    )
    # §7.1 step 12: CBOR-decode the attestationObject into fmt, authData and attStmt.
    try:
        att = parse_attestation_object(attestation_object)
        att_map = parse_cbor(attestation_object)
    except (WebAuthnException, ValueError, KeyError, TypeError, IndexError) as exc:
        raise InvalidResponse("attestationObject is malformed") from exc
    # §7.1 steps 13-16: rpIdHash, UP, UV, BE=0 ⇒ BS=0.
    auth_data = att.auth_data
    check_authenticator_data(
        auth_data,
        expected_rp_id=expected_rp_id,
        require_user_verification=require_user_verification,
    )
    acd = auth_data.attested_credential_data
    if not auth_data.flags.at or acd is None:
        raise InvalidResponse("authenticatorData carries no attested credential data")
    # §7.1 step 25: credential IDs longer than 1023 bytes SHOULD fail registration.
    if len(acd.credential_id) > MAX_CREDENTIAL_ID_LENGTH:
        raise CredentialIdTooLong(f"credential ID is {len(acd.credential_id)} bytes")
    if acd.credential_id != raw_id:
        raise InvalidResponse("rawId differs from the attested credential ID")
    # §7.1 steps 18-21: the key's algorithm is one offered in pubKeyCredParams, fmt is a
    # supported format and attStmt verifies under that format's procedure.
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
    # §7.1 steps 22-23: trust anchors for the format and AAGUID; assess the attestation.
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
        user_verified=bool(auth_data.flags.uv),
        backup_eligible=bool(auth_data.flags.be),
        backup_state=bool(auth_data.flags.bs),
        attestation_trusted=assessment.trusted,
        attestation_reason=assessment.reason,
        transports=tuple(str(t) for t in transports),
        statuses=assessment.statuses,
    )


async def ensure_new_credential_id(
    credential_id: bytes, *, lookup: Callable[[str], Awaitable[object | None]]
) -> None:
    """Refuse a credential ID that is already registered to anyone (§7.1 step 26: it
    stops credential-swap attacks).

    ``lookup`` is ``store.get_factor_by_credential_id``; IDs are stored base64url.
    The store's unique index is the final guard against a concurrent registration.
    """
    if len(credential_id) > MAX_CREDENTIAL_ID_LENGTH:
        raise CredentialIdTooLong(f"credential ID is {len(credential_id)} bytes")
    if await lookup(b64url(credential_id)) is not None:
        raise DuplicateCredential("this credential is already registered")
