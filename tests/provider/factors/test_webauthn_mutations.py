"""Mutations that must fail, made with a software authenticator (WebAuthn L3 §7.1, §7.2).

Each attack or broken step has its own test and its own error class. The software
authenticator signs with a real P-256 key, so only the mutated part is wrong.
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

from stepauth.assurance import assess
from stepauth.provider.factors.webauthn import (
    MAX_CREDENTIAL_ID_LENGTH,
    BackupEligibilityChanged,
    ChallengeMismatch,
    CredentialIdTooLong,
    CrossOriginNotAllowed,
    DuplicateCredential,
    InvalidBackupFlags,
    InvalidResponse,
    InvalidSignature,
    OriginMismatch,
    RpIdHashMismatch,
    SignCountRegression,
    StoredCredential,
    UnknownCredential,
    UserHandleMismatch,
    UserNotPresent,
    UserNotVerified,
    WrongCeremonyType,
    authentication_options,
    b64url,
    credential_id_of,
    ensure_new_credential_id,
    record_update,
    registration_options,
    verify_authentication,
    verify_registration,
)
from tests.helpers.soft_authenticator import SoftAuthenticator

RP_ID, ORIGIN = "example.org", "https://example.org"
NOW = 1_800_000_000.0


def enrol(auth: SoftAuthenticator, **kw: Any) -> StoredCredential:
    challenge = os.urandom(32)
    cred = verify_registration(
        credential=auth.create(challenge),
        expected_challenge=challenge,
        expected_rp_id=RP_ID,
        expected_origins=[ORIGIN],
        now=NOW,
        **kw,
    )
    return cred.to_stored(auth.user_handle)


def assert_with(auth: SoftAuthenticator, stored: StoredCredential, **kw: Any) -> Any:
    challenge = kw.pop("challenge", os.urandom(32))
    expected = kw.pop("expected_challenge", challenge)
    get_kw = {k: kw.pop(k) for k in list(kw) if k in GET_KEYS}
    return verify_authentication(
        credential=auth.get(challenge, **get_kw),
        expected_challenge=expected,
        expected_rp_id=kw.pop("expected_rp_id", RP_ID),
        expected_origins=kw.pop("expected_origins", [ORIGIN]),
        stored=kw.pop("stored", stored),
        expected_user_handle=kw.pop("expected_user_handle", auth.user_handle),
        now=NOW,
        **kw,
    )


GET_KEYS = {"rp_id", "client_data", "sign_count", "user_handle", "up", "uv", "be", "bs"}


@pytest.fixture
def auth() -> SoftAuthenticator:
    return SoftAuthenticator()


@pytest.fixture
def stored(auth: SoftAuthenticator) -> StoredCredential:
    return enrol(auth)


def test_valid_assertion_gives_a_multi_factor_phishing_resistant_event(
    auth: SoftAuthenticator, stored: StoredCredential
) -> None:
    event = assert_with(auth, stored)
    assert event.methods == ("pop", "user", "pin")
    assert event.attrs["uv"] is True
    assert event.attrs["sign_count"] == 1
    assert event.credential_id == b64url(auth.credential_id)
    assert event.multi_factor
    assert event.phishing_resistant
    assert assess([event], now=NOW).acr == "phr"


def test_wrong_type_is_rejected(auth: SoftAuthenticator, stored: StoredCredential) -> None:
    """WebAuthn L3 §7.2 steps 10-14: a webauthn.create clientData presented as an assertion."""
    with pytest.raises(WrongCeremonyType):
        assert_with(auth, stored, client_data={"type": "webauthn.create"})


def test_wrong_challenge_is_rejected(auth: SoftAuthenticator, stored: StoredCredential) -> None:
    """WebAuthn L3 §7.2 steps 10-14: an assertion made for
    another (e.g. stolen or older) challenge.
    """
    with pytest.raises(ChallengeMismatch):
        assert_with(auth, stored, expected_challenge=os.urandom(32))


def test_phishing_origin_is_rejected(auth: SoftAuthenticator, stored: StoredCredential) -> None:
    """WebAuthn L3 §7.2 steps 10-14 / NIST SP 800-63B-4 §3.2.5.2:
    an assertion collected on a look-alike origin.
    """
    with pytest.raises(OriginMismatch):
        assert_with(auth, stored, client_data={"origin": "https://example.org.evil.test"})


def test_unexpected_cross_origin_is_rejected(
    auth: SoftAuthenticator, stored: StoredCredential
) -> None:
    """WebAuthn L3 §7.1 steps 10-11: an assertion from
    a cross-origin iframe the RP never embedded.
    """
    with pytest.raises(CrossOriginNotAllowed):
        assert_with(auth, stored, client_data={"crossOrigin": True})


def test_rp_id_hash_mismatch_is_rejected(auth: SoftAuthenticator, stored: StoredCredential) -> None:
    """WebAuthn L3 §7.2 step 15: authenticator data scoped to another RP ID."""
    with pytest.raises(RpIdHashMismatch):
        assert_with(auth, stored, rp_id="evil.test")


def test_user_presence_is_required(auth: SoftAuthenticator, stored: StoredCredential) -> None:
    """WebAuthn L3 §7.2 step 16: UP=0."""
    with pytest.raises(UserNotPresent):
        assert_with(auth, stored, up=False)


def test_uv_zero_is_rejected_when_required(
    auth: SoftAuthenticator, stored: StoredCredential
) -> None:
    """WebAuthn L3 §7.2 step 17, §5.8.6: UV=0 under userVerification=required."""
    with pytest.raises(UserNotVerified):
        assert_with(auth, stored, uv=False)


def test_uv_zero_when_not_required_is_single_factor(
    auth: SoftAuthenticator, stored: StoredCredential
) -> None:
    """NIST SP 800-63B-4 Appendix B: UV=0 -> single-factor
    cryptographic authenticator, never phr.
    """
    event = assert_with(auth, stored, uv=False, require_user_verification=False)
    assert event.methods == ("pop", "user")
    assert not event.multi_factor
    assert assess([event], acr_values=("phr",), now=NOW).met is False


def test_backup_eligibility_change_is_rejected_and_flags_the_credential(
    auth: SoftAuthenticator, stored: StoredCredential
) -> None:
    """WebAuthn L3 §7.2 steps 18-19; §6.1: BE "MUST NOT change" after registration."""
    with pytest.raises(BackupEligibilityChanged) as info:
        assert_with(auth, stored, be=True)
    assert info.value.flag_credential is True


def test_backup_state_without_eligibility_is_invalid(
    auth: SoftAuthenticator, stored: StoredCredential
) -> None:
    """WebAuthn L3 §6.1.3: BE=0 with BS=1 is not allowed."""
    with pytest.raises(InvalidBackupFlags):
        assert_with(auth, stored, bs=True)


def test_backup_state_without_eligibility_is_invalid_at_registration() -> None:
    auth = SoftAuthenticator(backup_state=True)
    with pytest.raises(InvalidBackupFlags):
        enrol(auth)


def test_backup_state_may_change(auth: SoftAuthenticator) -> None:
    """WebAuthn L3 §6.1.3: BS may flip (1 -> 0 is allowed, just worth noting); BE stays."""
    synced = SoftAuthenticator(backup_eligible=True, backup_state=True)
    record = enrol(synced)
    event = assert_with(synced, record, bs=False)
    assert event.attrs["bs"] is False
    assert event.attrs["be"] is True


def test_cloned_authenticator_sign_count_regression_is_rejected_and_flagged(
    auth: SoftAuthenticator, stored: StoredCredential
) -> None:
    """WebAuthn L3 §7.2 step 22; §6.1.1: stored count 5,
    presented 5 (and 3) -> reject, flag the credential.
    """
    from dataclasses import replace

    record = replace(stored, sign_count=5)
    for count in (5, 3):
        with pytest.raises(SignCountRegression) as info:
            assert_with(auth, record, sign_count=count)
        assert info.value.flag_credential is True
    assert assert_with(auth, record, sign_count=6).attrs["sign_count"] == 6


def test_zero_sign_counts_are_legal(auth: SoftAuthenticator, stored: StoredCredential) -> None:
    """WebAuthn L3 §7.2 step 22, §6.1.1, §6.1.3; NIST SP 800-63B-4 Appendix B: many synced
    passkeys never increment; 0 and 0 is fine.
    """
    assert assert_with(auth, stored, sign_count=0).attrs["sign_count"] == 0


def test_unknown_credential_is_rejected(auth: SoftAuthenticator) -> None:
    """WebAuthn L3 §7.2 step 6: no stored record for this credential ID."""
    with pytest.raises(UnknownCredential):
        assert_with(auth, None)  # type: ignore[arg-type]


def test_credential_not_in_allow_list_is_rejected(
    auth: SoftAuthenticator, stored: StoredCredential
) -> None:
    """WebAuthn L3 §7.2 step 5: allowCredentials was
    the session user's list; another ID is refused.
    """
    with pytest.raises(UnknownCredential):
        assert_with(auth, stored, allowed_credential_ids=[os.urandom(32)])


def test_passkey_of_another_user_cannot_step_up_this_session(
    auth: SoftAuthenticator, stored: StoredCredential
) -> None:
    """WebAuthn L3 §7.2 step 6: cross-user step-up:
    the credential belongs to a different user handle.
    """
    with pytest.raises(UserHandleMismatch):
        assert_with(auth, stored, expected_user_handle=os.urandom(16))


def test_user_handle_mismatch_is_rejected(
    auth: SoftAuthenticator, stored: StoredCredential
) -> None:
    """WebAuthn L3 §7.2 step 6: the response's userHandle names someone else."""
    with pytest.raises(UserHandleMismatch):
        assert_with(auth, stored, user_handle=os.urandom(16))


def test_discoverable_sign_in_requires_the_user_handle(
    auth: SoftAuthenticator, stored: StoredCredential
) -> None:
    """WebAuthn L3 §7.2 step 6: without a session user, userHandle is required and must match."""
    event = assert_with(auth, stored, expected_user_handle=None)
    assert event.methods[0] == "pop"
    with pytest.raises(UserHandleMismatch):
        assert_with(auth, stored, expected_user_handle=None, user_handle=None)


def test_forged_signature_is_rejected(auth: SoftAuthenticator, stored: StoredCredential) -> None:
    """WebAuthn L3 §7.2 steps 20-21: an assertion signed
    by another key for the same credential ID.
    """
    impostor = SoftAuthenticator(credential_id=auth.credential_id, user_handle=auth.user_handle)
    with pytest.raises(InvalidSignature):
        assert_with(impostor, stored)


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


@pytest.mark.parametrize(
    "forged",
    [{"be": True}, {"sign_count": 0}, {"sign_count": 1}, {"be": True, "sign_count": 0}],
    ids=["be-flipped", "zero-count", "stale-count", "both"],
)
def test_forged_clone_signal_is_an_invalid_signature_and_flags_nothing(
    auth: SoftAuthenticator, stored: StoredCredential, forged: dict[str, Any]
) -> None:
    """§7.2 steps 18/21/22: BE and signCount are judged only over a verified signature.
    A random key's assertion with a changed BE or a stale counter is a forgery
    (:class:`InvalidSignature`), never a reason to disable the credential."""
    impostor = SoftAuthenticator(credential_id=auth.credential_id, user_handle=auth.user_handle)
    with pytest.raises(InvalidSignature) as info:
        assert_with(impostor, dataclasses.replace(stored, sign_count=1), **forged)
    assert info.value.flag_credential is False


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
        verify_authentication(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=RP_ID,
            expected_origins=[ORIGIN],
            stored=stored,
            expected_user_handle=auth.user_handle,
            now=NOW,
        )


def test_padded_credential_id_is_refused(auth: SoftAuthenticator, stored: StoredCredential) -> None:
    """WebAuthn L3 §5.1.8: ``id`` is the unpadded base64url of ``rawId``; another spelling
    of the same bytes is a malformed response, even under a valid signature."""
    challenge = os.urandom(32)
    credential = auth.get(challenge)
    credential["id"] += "=" * (-len(credential["id"]) % 4) or "===="
    with pytest.raises(InvalidResponse):
        verify_authentication(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=RP_ID,
            expected_origins=[ORIGIN],
            stored=stored,
            expected_user_handle=auth.user_handle,
            now=NOW,
        )


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
