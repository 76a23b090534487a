"""WebAuthn L3 §16.8–16.16 test vectors: other algorithms and attestation formats
(WebAuthn L3 §16).

The data (tests/provider/factors/vectors/webauthn_l3_s16.json) comes from the spec's own
deterministic generator; the same run reproduces the published §16.1 root and every
byte of §16.2–16.7, and its flag bytes are those read from the spec hex.

* §16.9 ES512, §16.10 RS256 and §16.11 Ed25519 (packed, x5c to the §16.1 root)
  register and authenticate: positive cases.
* §16.13 TPM, §16.14 Android Key, §16.15 Apple Anonymous and §16.16 FIDO U2F: their
  assertions verify with the attested key. Their registrations are refused: the
  synthetic statements name no real TPM vendor, chain to the test root instead of
  Google's or Apple's, and U2F carries a non-zero AAGUID — a verifier that accepted
  them would accept a forged vendor attestation, so refusal is the required outcome.
* §16.8 ES384 and §16.12 Ed448 are not offered in ``pubKeyCredParams``
  (:data:`~stepauth.provider.factors.webauthn.SUPPORTED_ALGORITHMS`): refused.
* Mutations of every positive case fail: one flipped byte of authenticatorData,
  clientDataJSON or signature, and UV=0 under ``userVerification=required``.
"""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from webauthn.helpers import parse_attestation_object

from stepauth.provider.factors.webauthn import (
    SUPPORTED_ALGORITHMS,
    StoredCredential,
    UserNotVerified,
    WebAuthnError,
    registration_options,
    verify_authentication,
    verify_registration,
)
from stepauth.provider.factors.webauthn.attestation import MetadataEntry, TrustStore
from tests.helpers.webauthn_vectors import (
    DATA,
    HANDLE,
    NOW,
    ORIGIN,
    RP_ID,
    V,
    auth_credential,
    flip,
    reg_credential,
    register,
)

REGISTERS = ["16.9", "16.10", "16.11"]
#: (UV, BE, BS) of the registration and of the assertion, read from the spec hex (§16).
FLAGS = {
    "16.9": ((True, True, False), (False, True, True)),
    "16.10": ((True, True, True), (False, True, True)),
    "16.11": ((False, False, False), (False, False, False)),
    "16.13": ((True, True, False), (True, True, False)),
    "16.14": ((True, True, True), (False, True, False)),
    "16.15": ((False, True, False), (False, True, False)),
    "16.16": ((False, False, False), (False, False, False)),
}
ASSERTS = list(FLAGS)
REFUSED_FORMATS = {"16.13": "tpm", "16.14": "android-key", "16.15": "apple", "16.16": "fido-u2f"}


def _attested(name: str) -> Any:
    """The attested credential data of the vector's registration (its COSE key)."""
    att = parse_attestation_object(bytes.fromhex(V[name]["registration"]["attestation_object"]))
    assert att.auth_data.attested_credential_data is not None
    return att


def _stored(name: str) -> StoredCredential:
    att = _attested(name)
    acd = att.auth_data.attested_credential_data
    assert acd.credential_id.hex() == V[name]["credential_id"]
    return StoredCredential(
        credential_id=acd.credential_id,
        public_key=acd.credential_public_key,
        sign_count=0,
        user_handle=HANDLE,
        backup_eligible=att.auth_data.flags.be,
    )


def _authenticate(name: str, *, credential: dict[str, Any] | None = None, uv: bool = False) -> Any:
    vec = V[name]
    return verify_authentication(
        credential=credential or auth_credential(vec),
        expected_challenge=bytes.fromhex(vec["authentication"]["challenge"]),
        expected_rp_id=RP_ID,
        expected_origins=[ORIGIN],
        stored=_stored(name),
        expected_user_handle=HANDLE,
        require_user_verification=uv,
        now=NOW,
    )


@pytest.mark.parametrize("name", REGISTERS)
def test_registration_vectors_verify(name: str) -> None:
    """§16.9 ES512, §16.10 RS256, §16.11 Ed25519 (packed, x5c) register."""
    cred = register(name)
    assert cred.credential_id.hex() == V[name]["credential_id"]
    assert cred.fmt == "packed"
    assert (cred.user_verified, cred.backup_eligible, cred.backup_state) == FLAGS[name][0]
    assert cred.attestation_trusted is False  # no trust store: fail closed


@pytest.mark.parametrize("name", REGISTERS)
def test_registration_vectors_chain_to_the_16_1_root(name: str) -> None:
    """§7.1 step 23: the x5c of §16.9–16.11 chains to the §16.1 attestation root."""
    root = x509.load_der_x509_certificate(bytes.fromhex(DATA["attestation_root_16_1"]))
    aaguid = bytes(_attested(name).auth_data.attested_credential_data.aaguid).hex()
    trust = TrustStore([MetadataEntry(aaguid=aaguid, root_certificates=(root,))])
    cred = register(name, trust=trust)
    assert cred.attestation_trusted is True
    assert cred.attestation_reason == "trusted"


@pytest.mark.parametrize("name", ASSERTS)
def test_assertion_vectors_verify(name: str) -> None:
    """§16: each assertion verifies with the key its registration attested; the flags
    are the table's (UV gives ``pin`` as the second factor)."""
    uv, be, bs = FLAGS[name][1]
    event = _authenticate(name)
    assert event.attrs["uv"] is uv
    assert event.attrs["be"] is be
    assert event.attrs["bs"] is bs
    assert event.attrs["sign_count"] == 0
    assert event.methods == (("pop", "user", "pin") if uv else ("pop", "user"))


@pytest.mark.parametrize("name", [n for n in ASSERTS if not FLAGS[n][1][0]])
def test_uv_zero_assertions_fail_when_uv_is_required(name: str) -> None:
    """§7.2 step 16: an assertion with UV=0 never passes ``userVerification=required``."""
    with pytest.raises(UserNotVerified):
        _authenticate(name, uv=True)


def test_uv_one_assertion_passes_when_uv_is_required() -> None:
    """§16.13 authentication flags 0x0d (UP, UV, BE)."""
    assert _authenticate("16.13", uv=True).methods == ("pop", "user", "pin")


@pytest.mark.parametrize("name", ASSERTS)
@pytest.mark.parametrize("part", ["ad", "cdj", "sig"])
@pytest.mark.parametrize("where", [0, 33, -1])
def test_one_byte_mutation_of_an_assertion_fails(name: str, part: str, where: int) -> None:
    """§16: any one-byte mutation of a positive case fails."""
    a = V[name]["authentication"]
    source = {"ad": a["authenticator_data"], "cdj": a["client_data_json"], "sig": a["signature"]}
    size = len(bytes.fromhex(source[part]))
    index = where if where >= 0 else size - 1
    mutated = auth_credential(V[name], **{part: flip(source[part], min(index, size - 1))})
    with pytest.raises(WebAuthnError):
        _authenticate(name, credential=mutated)


@pytest.mark.parametrize("name", REGISTERS)
@pytest.mark.parametrize("part", ["att", "cdj"])
def test_one_byte_mutation_of_a_registration_fails(name: str, part: str) -> None:
    """§7.1 step 21, §8.2: the packed signature covers authData and the clientData hash."""
    r = V[name]["registration"]
    source = r["attestation_object"] if part == "att" else r["client_data_json"]
    raw = bytes.fromhex(source)
    # inside authData (the RP ID hash), or the last byte of clientDataJSON's origin
    index = raw.index(_attested(name).auth_data.rp_id_hash) + 5 if part == "att" else len(raw) - 3
    with pytest.raises(WebAuthnError):
        verify_registration(
            credential=reg_credential(V[name], **{part: flip(source, index)}),
            expected_challenge=bytes.fromhex(r["challenge"]),
            expected_rp_id=RP_ID,
            expected_origins=[ORIGIN],
            require_user_verification=False,
            now=NOW,
        )


@pytest.mark.parametrize(("name", "alg"), [("16.8", -35), ("16.12", -53)])
def test_algorithms_not_offered_are_refused(name: str, alg: int) -> None:
    """§7.1 step 18: ES384 (§16.8) and Ed448 (§16.12) are not in ``pubKeyCredParams``; their
    registrations and assertions are refused."""
    options = registration_options(
        rp_id=RP_ID, rp_name="Example", user_id=HANDLE, user_name="vector"
    ).public_key
    offered = [p["alg"] for p in options["pubKeyCredParams"]]
    assert offered == [int(a) for a in SUPPORTED_ALGORITHMS]
    assert alg not in offered
    with pytest.raises(WebAuthnError):
        register(name)
    with pytest.raises(WebAuthnError):
        _authenticate(name)


@pytest.mark.parametrize("name", list(REFUSED_FORMATS))
def test_vendor_formats_without_their_vendor_roots_are_refused(name: str) -> None:
    """§7.1 steps 20-21: a TPM, Android Key, Apple or U2F statement is checked against its vendor's
    rules; the synthetic §16.13–16.16 statements do not meet them and are refused."""
    assert (
        parse_attestation_object(bytes.fromhex(V[name]["registration"]["attestation_object"])).fmt
        == REFUSED_FORMATS[name]
    )
    with pytest.raises(WebAuthnError):
        register(name)
