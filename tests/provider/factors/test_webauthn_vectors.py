"""WebAuthn L3 §16 test vectors through the verifiers.

The vectors (tests/provider/factors/vectors/webauthn_l3_s16.json) are the published hex; every
assertion signature in them verifies, so a transcription slip would fail loudly.
Covered: 16.2 none/ES256, 16.3 packed self, 16.4 crossOrigin, 16.5 topOrigin and
16.7 packed x5c chained to the 16.1 attestation root (16.8–16.16:
test_webauthn_vectors_algorithms.py). Registration vectors carry no
userHandle, so each stored record gets the test's own handle.
"""

from __future__ import annotations

import pytest
from cryptography import x509

from stepauth.assurance import assess
from stepauth.provider.factors.webauthn import (
    ChallengeMismatch,
    CrossOriginNotAllowed,
    InvalidResponse,
    InvalidSignature,
    OriginMismatch,
    RpIdHashMismatch,
    UserNotVerified,
    WebAuthnError,
    WrongCeremonyType,
)
from stepauth.provider.factors.webauthn.attestation import MetadataEntry, TrustStore
from tests.helpers.webauthn_vectors import (
    DATA,
    HANDLE,
    NOW,
    V,
    auth_credential,
    authenticate,
    flip,
    reg_credential,
    register,
)


@pytest.mark.parametrize(
    ("name", "uv", "be", "bs", "fmt"),
    [
        ("16.2", False, True, True, "none"),
        ("16.3", True, True, True, "packed"),
        ("16.7", True, True, False, "packed"),
    ],
)
def test_registration_vectors_verify(name: str, uv: bool, be: bool, bs: bool, fmt: str) -> None:
    """§16.2: registration flags as read from the spec hex."""
    cred = register(name)
    assert cred.credential_id.hex() == V[name]["credential_id"]
    assert (cred.user_verified, cred.backup_eligible, cred.backup_state) == (uv, be, bs)
    assert cred.fmt == fmt
    assert cred.attestation_trusted is False  # no trust store: fail closed
    assert cred.sign_count == 0


def test_16_2_aaguid_and_credential_id() -> None:
    """§16.2: credential_id and aaguid of the §16.2 example."""
    cred = register("16.2")
    assert cred.aaguid.replace("-", "") == "8446ccb9ab1db374750b2367ff6f3a1f"


def test_16_2_registration_fails_when_uv_is_required() -> None:
    """§7.1 step 15: the 16.2 registration has UV=0 (flags 0x59)."""
    with pytest.raises(UserNotVerified):
        register("16.2", require_user_verification=True)


def test_16_2_assertion_verifies_when_uv_is_not_required() -> None:
    """§16.2: flags 0x19 (UP, BE, BS; UV=0), signCount 0 -> single-factor pop."""
    event = authenticate("16.2")
    assert event.methods == ("pop", "user")
    assert event.attrs["uv"] is False
    assert event.attrs["be"] is True
    assert event.attrs["bs"] is True
    assert event.attrs["sign_count"] == 0


def test_16_2_assertion_fails_when_uv_is_required() -> None:
    """§16.2, §7.2 step 16: userVerification=required must fail on the UV=0 assertion."""
    with pytest.raises(UserNotVerified):
        authenticate("16.2", require_user_verification=True)


def test_16_3_assertion_with_uv_zero_fails_under_required() -> None:
    """§16.3: authentication flags 0x09 (UV=0) although registration had UV=1."""
    assert authenticate("16.3").methods == ("pop", "user")
    with pytest.raises(UserNotVerified):
        authenticate("16.3", require_user_verification=True)


def test_16_7_assertion_with_uv_is_a_phishing_resistant_passkey() -> None:
    """§16.7: authentication flags 0x0d (UP, UV, BE) -> pop user pin, phr."""
    event = authenticate("16.7", require_user_verification=True)
    assert event.methods == ("pop", "user", "pin")
    assert event.attrs["attestation_trusted"] is False
    assert assess([event], now=NOW).acr == "phr"


def test_16_7_attestation_chains_to_the_16_1_root_but_be_keeps_it_at_phr() -> None:
    """NIST SP 800-63B App. B: trusted chain to the §16.1 root, but BE=1 (synced) -> never phrh."""
    root = x509.load_der_x509_certificate(bytes.fromhex(DATA["attestation_root_16_1"]))
    trust = TrustStore(
        [MetadataEntry(aaguid="876ca4f52071c3e9b25509ef2cdf7ed6", root_certificates=(root,))]
    )
    cred = register("16.7", trust=trust)
    assert cred.attestation_trusted is True
    assert cred.attestation_reason == "trusted"
    assert cred.backup_eligible is True
    event = authenticate(
        "16.7", stored=cred.to_stored(HANDLE), trust=trust, require_user_verification=True
    )
    assert event.methods == ("pop", "user", "pin")
    assert event.attrs["attestation_trusted"] is False
    assert not event.hardware_bound
    result = assess([event], acr_values=("phrh", "phr"), now=NOW)
    assert result.acr == "phr"


@pytest.mark.parametrize("name", ["16.4", "16.5"])
def test_cross_origin_vectors_are_refused_without_expected_top_origins(name: str) -> None:
    """§7.2 step 13: crossOrigin=true is refused unless the RP expects an embedding."""
    with pytest.raises(CrossOriginNotAllowed):
        register(name)


def test_16_5_top_origin_must_be_expected() -> None:
    """§7.2 step 13: if C.topOrigin is present it must be one the RP expects."""
    with pytest.raises(OriginMismatch):
        register("16.5", expected_top_origins=["https://evil.example"])


@pytest.mark.parametrize("name", ["16.4", "16.5"])
def test_cross_origin_vectors_verify_with_expected_top_origins(name: str) -> None:
    """§16.4/16.5: assertions (flags 0x05, UV=1, BE=0) when embedding is expected."""
    event = authenticate(name, require_user_verification=True)
    assert event.methods == ("pop", "user", "pin")
    assert event.attrs["be"] is False


@pytest.mark.parametrize("part", ["ad", "cdj", "sig"])
@pytest.mark.parametrize("where", [0, 10, 32, -1])
def test_one_byte_mutation_of_the_16_2_assertion_fails(part: str, where: int) -> None:
    """§16.2: any one-byte mutation fails (with its own error where a step catches it)."""
    a = V["16.2"]["authentication"]
    source = {"ad": a["authenticator_data"], "cdj": a["client_data_json"], "sig": a["signature"]}
    index = where if where >= 0 else len(bytes.fromhex(source[part])) - 1
    mutated = auth_credential(V["16.2"], **{part: flip(source[part], index)})
    with pytest.raises(WebAuthnError):
        authenticate("16.2", credential=mutated)


def test_mutated_client_data_type_fails_with_its_own_error() -> None:
    """§7.1 step 7, §7.2 step 10: a get() clientData is not accepted as create(), and vice versa."""
    a = V["16.2"]["authentication"]
    cdj = bytes.fromhex(a["client_data_json"]).replace(b"webauthn.get", b"webauthn.create")
    with pytest.raises(WrongCeremonyType):
        authenticate("16.2", credential=auth_credential(V["16.2"], cdj=cdj.hex()))


def test_vector_with_another_challenge_fails() -> None:
    with pytest.raises(ChallengeMismatch):
        register("16.2", expected_challenge=bytes.fromhex(V["16.2"]["authentication"]["challenge"]))


def test_vector_against_another_rp_id_fails() -> None:
    with pytest.raises(RpIdHashMismatch):
        register("16.2", expected_rp_id="example.com")


def test_mutated_attestation_signature_fails() -> None:
    """§7.1 step 21: the 16.3 self-attestation signature covers authData and the clientData hash."""
    r = V["16.3"]["registration"]
    att = bytes.fromhex(r["attestation_object"])
    sig_at = att.index(bytes.fromhex("30440220067a"))
    mutated = flip(r["attestation_object"], sig_at + 10)
    with pytest.raises((InvalidSignature, InvalidResponse)):
        register("16.3", credential=reg_credential(V["16.3"], att=mutated))


def test_16_6_assertion_with_a_1023_byte_credential_id() -> None:
    """§7.1 step 25, §16.6: the longest allowed credential ID (1023 bytes), flags 0x0d (UV=1).

    Only the authentication half of §16.6 is kept: its registration vector carries no
    signature, so a transcription slip there could not be caught; the stored record is
    built from the vector's credential ID and COSE key instead.
    """
    from stepauth.provider.factors.webauthn import MAX_CREDENTIAL_ID_LENGTH, StoredCredential

    vec = V["16.6"]
    cid = bytes.fromhex(vec["credential_id"])
    assert len(cid) == MAX_CREDENTIAL_ID_LENGTH == 1023
    stored = StoredCredential(
        credential_id=cid,
        public_key=bytes.fromhex(vec["credential_public_key"]),
        sign_count=0,
        user_handle=HANDLE,
        backup_eligible=True,
    )
    event = authenticate("16.6", stored=stored, require_user_verification=True)
    assert event.methods == ("pop", "user", "pin")
    assert event.attrs["be"] is True
    assert event.attrs["bs"] is False
