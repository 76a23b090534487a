"""Credential records and malformed responses, made with a software authenticator (WebAuthn L3
§5.1.8, §6.1, §7.1, §7.2 step 24).

Credential ids (length, duplicates, their base64url spelling), the stored record and its
update after an assertion, step-up options, and authenticator data or attestation objects
that are not what their flags announce.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from stepauth.provider.factors.webauthn import (
    MAX_CREDENTIAL_ID_LENGTH,
    CredentialIdTooLong,
    DuplicateCredential,
    InvalidResponse,
    StoredCredential,
    authentication_options,
    b64url,
    credential_id_of,
    ensure_new_credential_id,
    record_update,
    registration_options,
    verify_registration,
)
from tests.helpers.soft_authenticator import SoftAuthenticator
from tests.helpers.webauthn_ceremonies import (
    NOW,
    ORIGIN,
    RP_ID,
    assert_with,
    auth,
    enrol,
    stored,
    verify_made,
)

__all__ = ["auth", "stored"]


def test_credential_id_longer_than_1023_bytes_is_rejected() -> None:
    """WebAuthn L3 §7.1 steps 25-26."""
    auth = SoftAuthenticator(credential_id=os.urandom(MAX_CREDENTIAL_ID_LENGTH + 1))
    with pytest.raises(CredentialIdTooLong):
        enrol(auth)
    assert enrol(SoftAuthenticator(credential_id=os.urandom(MAX_CREDENTIAL_ID_LENGTH)))


async def test_duplicate_credential_id_at_registration_is_rejected(
    auth: SoftAuthenticator, stored: StoredCredential
) -> None:
    """WebAuthn L3 §7.1 steps 25-26: credential-swap defence;
    the caller's store lookup says it exists.
    """
    registered = {b64url(stored.credential_id): object()}

    async def lookup(credential_id: str) -> object | None:
        return registered.get(credential_id)

    with pytest.raises(DuplicateCredential):
        await ensure_new_credential_id(stored.credential_id, lookup=lookup)
    await ensure_new_credential_id(os.urandom(32), lookup=lookup)


async def test_duplicate_credential_id_with_the_real_store(
    auth: SoftAuthenticator, stored: StoredCredential, store: Any
) -> None:
    user = await store.create_user("bob", None)
    cid = b64url(stored.credential_id)
    await store.add_factor(
        user.id, "webauthn", stored.to_data(), label="key", credential_id=cid, now=NOW
    )
    with pytest.raises(DuplicateCredential):
        await ensure_new_credential_id(
            stored.credential_id, lookup=store.get_factor_by_credential_id
        )


def test_stored_record_round_trips_through_json(stored: StoredCredential) -> None:
    assert StoredCredential.from_data(stored.to_data()) == stored


def test_options_for_step_up() -> None:
    """WebAuthn L3 §5.8.6, §5.5, §13.5.3, §15.1: required UV,
    the user's credentials only, >= 16-byte challenge, 5 min.
    """
    cid = os.urandom(32)
    opts = authentication_options(rp_id=RP_ID, allow_credentials=[cid])
    assert len(opts.challenge) == 32
    assert opts.public_key["userVerification"] == "required"
    assert opts.public_key["allowCredentials"][0]["id"] == b64url(cid)
    assert opts.public_key["timeout"] == 300_000
    reg = registration_options(
        rp_id=RP_ID, rp_name="Acme", user_id=b"u1", user_name="alice", attestation="direct"
    )
    assert reg.public_key["attestation"] == "direct"
    assert reg.public_key["authenticatorSelection"]["userVerification"] == "required"
    assert reg.public_key["authenticatorSelection"]["residentKey"] == "required"


def test_credential_id_is_read_from_raw_id(auth: SoftAuthenticator) -> None:
    assert credential_id_of(auth.get(os.urandom(32))) == auth.credential_id


def test_record_update_after_a_verified_assertion() -> None:
    """§7.2 step 24: BS follows the latest assertion; uvInitialized false → true only
    when authorized by another factor; nothing else is returned."""
    synced = SoftAuthenticator(backup_eligible=True, backup_state=True)
    record = dataclasses.replace(enrol(synced), uv_initialized=False)
    event = assert_with(synced, record, bs=False)
    assert record_update(record, event, uv_authorized=False) == {"backup_state": False}
    assert record_update(record, event, uv_authorized=True) == {
        "backup_state": False,
        "uv_initialized": True,
    }
    same = assert_with(synced, record)
    assert record_update(record, same, uv_authorized=False) == {}


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_trailing_bytes_after_authenticator_data_are_refused(
    auth: SoftAuthenticator, stored: StoredCredential
) -> None:
    """§6.1: authenticatorData is exactly rpIdHash, flags, signCount and what the flags
    announce. A byte more, even under a valid signature, is a malformed response."""
    challenge = os.urandom(32)
    credential = auth.get(challenge)
    response = credential["response"]
    auth_data = _unb64(response["authenticatorData"]) + b"\x00"
    signed = auth_data + hashlib.sha256(_unb64(response["clientDataJSON"])).digest()
    response["authenticatorData"] = b64url(auth_data)
    response["signature"] = b64url(auth.key.sign(signed, ec.ECDSA(hashes.SHA256())))
    with pytest.raises(InvalidResponse):
        verify_made(auth, stored, credential, challenge)


def test_padded_credential_id_is_refused(auth: SoftAuthenticator, stored: StoredCredential) -> None:
    """WebAuthn L3 §5.1.8: ``id`` is the unpadded base64url of ``rawId``; another spelling
    of the same bytes is a malformed response, even under a valid signature."""
    challenge = os.urandom(32)
    credential = auth.get(challenge)
    credential["id"] += "=" * (-len(credential["id"]) % 4) or "===="
    with pytest.raises(InvalidResponse):
        verify_made(auth, stored, credential, challenge)


def test_attestation_object_with_truncated_authenticator_data_is_an_invalid_response() -> None:
    """§7.1 step 12: an attestationObject whose authData is shorter than 37 bytes is
    refused as malformed (a WebAuthnError the caller maps), not left to escape as a
    library exception."""
    auth = SoftAuthenticator()
    challenge = os.urandom(32)
    credential = auth.create(challenge)
    response = credential["response"]
    attestation = cbor2.loads(_unb64(response["attestationObject"]))
    attestation["authData"] = attestation["authData"][:30]
    response["attestationObject"] = b64url(cbor2.dumps(attestation))
    with pytest.raises(InvalidResponse):
        verify_registration(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=RP_ID,
            expected_origins=[ORIGIN],
            now=NOW,
        )
