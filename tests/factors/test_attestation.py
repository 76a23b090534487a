"""Attestation trust: security keys chained to a configured root reach phrh (WA-18, WA-36..38).

A software authenticator makes a ``packed`` attestation with an ``x5c`` chain issued
by a CA generated in the test; the trust store is configured with that root.
"""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from stepauth.assurance import assess
from stepauth.errors import ConfigError
from stepauth.provider.factors.attestation import (
    MetadataEntry,
    TrustStore,
    assess_attestation,
)
from stepauth.provider.factors.webauthn import verify_authentication, verify_registration
from tests.factors.soft_authenticator import SoftAuthenticator, make_test_ca

RP_ID, ORIGIN = "example.org", "https://example.org"
NOW = 1_800_000_000.0


def hardware_key(*, backup_eligible: bool = False) -> SoftAuthenticator:
    aaguid = os.urandom(16)
    return SoftAuthenticator(
        aaguid=aaguid, ca=make_test_ca(aaguid), backup_eligible=backup_eligible
    )


def trust_for(auth: SoftAuthenticator, **kw: object) -> TrustStore:
    assert auth.ca is not None
    entry = MetadataEntry(aaguid=auth.aaguid.hex(), root_certificates=(auth.ca.root,))
    return TrustStore([replace(entry, **kw)])  # type: ignore[arg-type]


def register_and_step_up(
    auth: SoftAuthenticator, trust: TrustStore | None, *, trust_at_use: TrustStore | None = None
) -> tuple[bool, str, str | None]:
    challenge = os.urandom(32)
    cred = verify_registration(
        credential=auth.create(challenge, attestation="packed"),
        expected_challenge=challenge,
        expected_rp_id=RP_ID,
        expected_origins=[ORIGIN],
        trust=trust,
    )
    challenge = os.urandom(32)
    event = verify_authentication(
        credential=auth.get(challenge),
        expected_challenge=challenge,
        expected_rp_id=RP_ID,
        expected_origins=[ORIGIN],
        stored=cred.to_stored(auth.user_handle),
        expected_user_handle=auth.user_handle,
        trust=trust_at_use if trust_at_use is not None else trust,
        now=NOW,
    )
    acr = assess([event], acr_values=("phrh", "phr"), now=NOW).acr
    return cred.attestation_trusted, cred.attestation_reason, acr


def test_device_bound_key_with_trusted_chain_reaches_phrh() -> None:
    """WA-36: trusted chain + BE=0 + UV=1 -> hwk, hardware-bound, acr phrh."""
    auth = hardware_key()
    trusted, reason, acr = register_and_step_up(auth, trust_for(auth))
    assert (trusted, reason) == (True, "trusted")
    assert acr == "phrh"


def test_synced_key_with_trusted_chain_stays_at_phr() -> None:
    """NIST-25 / G-08: BE=1 never counts as hardware-bound, whatever the attestation."""
    auth = hardware_key(backup_eligible=True)
    trusted, _, acr = register_and_step_up(auth, trust_for(auth))
    assert trusted is True
    assert acr == "phr"


def test_chain_from_another_ca_stays_at_phr() -> None:
    """WA-18: an x5c chain that does not reach the configured root is untrusted."""
    auth = hardware_key()
    other = hardware_key()
    rogue = trust_for(other)
    entry = rogue.entry(other.aaguid.hex())
    assert entry is not None
    trust = TrustStore([replace(entry, aaguid=auth.aaguid.hex())])
    trusted, reason, acr = register_and_step_up(auth, trust)
    assert (trusted, reason) == (False, "untrusted_chain")
    assert acr == "phr"


def test_no_configured_roots_fails_closed() -> None:
    """py_webauthn's lesson: no roots -> untrusted, never trusted by default."""
    auth = hardware_key()
    for trust in (None, TrustStore()):
        trusted, reason, acr = register_and_step_up(auth, trust)
        assert (trusted, reason) == (False, "no_trust_anchors")
        assert acr == "phr"


def test_unknown_aaguid_is_untrusted() -> None:
    auth = hardware_key()
    other = hardware_key()
    trusted, reason, _ = register_and_step_up(auth, trust_for(other))
    assert (trusted, reason) == (False, "unknown_authenticator")


@pytest.mark.parametrize(
    "status", ["REVOKED", "ATTESTATION_KEY_COMPROMISE", "USER_VERIFICATION_BYPASS"]
)
def test_revoked_or_compromised_model_is_untrusted(status: str) -> None:
    """WA-38: blocking MDS statuses."""
    auth = hardware_key()
    trusted, reason, acr = register_and_step_up(
        auth, trust_for(auth, statuses=frozenset({"FIDO_CERTIFIED", status}))
    )
    assert (trusted, reason) == (False, "status_blocked")
    assert acr == "phr"


def test_model_revoked_after_registration_no_longer_reaches_phrh() -> None:
    """WA-21 / WA-38: the status is checked again at use when a store is given."""
    auth = hardware_key()
    revoked = trust_for(auth, statuses=frozenset({"REVOKED"}))
    trusted, _, acr = register_and_step_up(auth, trust_for(auth), trust_at_use=revoked)
    assert trusted is True
    assert acr == "phr"


def test_self_and_none_attestation_are_never_trusted() -> None:
    auth = hardware_key()
    trust = trust_for(auth)
    for fmt in ("none", "self"):
        challenge = os.urandom(32)
        cred = verify_registration(
            credential=auth.create(challenge, attestation=fmt),
            expected_challenge=challenge,
            expected_rp_id=RP_ID,
            expected_origins=[ORIGIN],
            trust=trust,
        )
        assert cred.attestation_trusted is False
        assert cred.attestation_reason == "no_certificate_chain"


def test_expired_attestation_certificate_is_untrusted() -> None:
    auth = hardware_key()
    assert auth.ca is not None
    from cryptography.hazmat.primitives.serialization import Encoding

    x5c = [auth.ca.attestation_cert.public_bytes(Encoding.DER)]
    later = NOW + 50 * 365 * 86400
    result = assess_attestation(
        fmt="packed",
        att_stmt={"x5c": x5c},
        aaguid=auth.aaguid.hex(),
        trust=trust_for(auth),
        now=later,
    )
    assert (result.trusted, result.reason) == (False, "untrusted_chain")


def test_mds_blob_requires_a_configured_root() -> None:
    """DESIGN §4: the MDS root is configuration; no root -> refuse, not skip checks."""
    with pytest.raises(ConfigError):
        TrustStore.from_mds_blob(b"x.y.z", root_certificate=b"")
