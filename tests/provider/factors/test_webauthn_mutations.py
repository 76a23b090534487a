"""Mutations that must fail, made with a software authenticator (WebAuthn L3 §7.1, §7.2).

Each attack or broken step has its own test and its own error class. The software
authenticator signs with a real P-256 key, so only the mutated part is wrong. Credential
records and malformed responses are in ``test_webauthn_records``.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pytest

from stepauth.assurance import assess
from stepauth.provider.factors.webauthn import (
    BackupEligibilityChanged,
    ChallengeMismatch,
    CrossOriginNotAllowed,
    InvalidBackupFlags,
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
    b64url,
)
from tests.helpers.soft_authenticator import SoftAuthenticator
from tests.helpers.webauthn_ceremonies import NOW, assert_with, auth, enrol, stored

__all__ = ["auth", "stored"]


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
