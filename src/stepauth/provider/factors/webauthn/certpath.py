"""Certificate path validation for attestation and MDS chains (RFC 5280 §6).

``verify_path`` hands the chain to ``cryptography``'s X.509 path verifier
(:mod:`cryptography.x509.verification`): signatures, validity at the verification time,
basic constraints and path length, unknown critical extensions. On top of it, a policy
that fits FIDO attestation (WebAuthn L3 §8.2.1) rather than the Web PKI:

* every issuer (intermediate or anchor) asserts ``cA`` in basic constraints; an
  intermediate carries key usage with ``keyCertSign`` (RFC 5280 §4.2.1.3); an anchor may
  leave key usage out (a trust anchor is a name and a key, RFC 5280 §6.1.1 (d)), but if
  it has one it must allow ``keyCertSign``;
* the leaf is never a CA; for ``packed`` attestation it is a version 3 certificate whose
  subject has C, O, OU = "Authenticator Attestation" and CN, and basic constraints with
  ``cA`` false (WebAuthn L3 §8.2.1);
* no extended key usage is required (attestation certificates are not TLS clients).

Signature algorithms are the verifier's: RSA (PKCS#1 v1.5 and PSS, ≥ 2048 bits) and ECDSA
on P-256/P-384/P-521 with SHA-256/384/512. It refuses an Ed25519 or Ed448 *issuer* (an
Ed25519 leaf key signed by an accepted issuer is fine): such chains fail closed with
``unsupported_algorithm`` rather than fall back to a hand-written check.

Each refusal is a :class:`CertificatePathError` whose ``reason`` is a stable word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from stepauth.errors import FactorError

__all__ = ["PATH_REASONS", "CertificatePathError", "LeafProfile", "verify_path"]

#: ``packed``: WebAuthn L3 §8.2.1; ``attestation``: any other format's x5c leaf;
#: ``signer``: the MDS3 BLOB signing certificate.
LeafProfile = Literal["packed", "attestation", "signer"]

#: RFC 5280 §6.1: longest chain looked for (leaf, intermediates, anchor).
MAX_CHAIN_DEPTH = 6

# The verifier's messages for the checks it makes itself, mapped to stable words.
_BUILTIN_REASONS = (
    ("path length constraint violated", "path_length_exceeded"),
    ("basicConstraints.cA must be asserted", "issuer_not_a_ca"),
    ("CA certificate has no basicConstraints", "issuer_not_a_ca"),
    ("not valid at validation time", "certificate_expired"),
    ("Forbidden public key algorithm", "unsupported_algorithm"),
    ("Forbidden signature algorithm", "unsupported_algorithm"),
    ("RSA key is too weak", "unsupported_algorithm"),
    ("unaccounted-for critical extensions", "unknown_critical_extension"),
    # Only the packed leaf policy requires an extension of an end-entity certificate.
    ("Certificate is missing required extension", "packed_certificate_invalid"),
)

#: Every reason :func:`verify_path` may give.
PATH_REASONS = frozenset(
    {
        "untrusted_chain",
        "leaf_is_a_ca",
        "issuer_cannot_sign_certificates",
        "packed_certificate_invalid",
        *(reason for _, reason in _BUILTIN_REASONS),
    }
)
_OWN_REASON = re.compile(r"validator failed: \w+: ([a-z_]+)")


class CertificatePathError(FactorError):
    """The chain does not reach a trust anchor under the attestation policy."""

    error = "untrusted_certificate_path"

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(description)
        self.reason = reason


def verify_path(
    *,
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    at: datetime,
    profile: LeafProfile,
) -> list[x509.Certificate]:
    """The validated chain from ``leaf`` to one of ``anchors`` at time ``at``.

    Raises :class:`CertificatePathError`; no anchors → ``untrusted_chain`` (fail closed).
    """
    if not anchors:
        raise CertificatePathError("untrusted_chain", "no trust anchors for this chain")
    if profile == "packed":
        _check_packed_leaf(leaf)
    anchor_ders = frozenset(a.public_bytes(Encoding.DER) for a in anchors)
    verifier = (
        PolicyBuilder()
        .store(Store(list(anchors)))
        .time(at)
        .max_chain_depth(MAX_CHAIN_DEPTH)
        .extension_policies(ca_policy=_ca_policy(anchor_ders), ee_policy=_leaf_policy(profile))
        .build_client_verifier()
    )
    try:
        return verifier.verify(leaf, list(intermediates)).chain
    except VerificationError as exc:
        raise CertificatePathError(_reason(str(exc)), f"certificate path refused: {exc}") from exc


def _ca_policy(anchor_ders: frozenset[bytes]) -> ExtensionPolicy:
    def key_usage(_: Policy, cert: x509.Certificate, ku: x509.KeyUsage | None) -> None:
        if ku is None and cert.public_bytes(Encoding.DER) in anchor_ders:
            return  # an anchor without key usage: its name and key are what is trusted
        if ku is None or not ku.key_cert_sign:
            raise ValueError("issuer_cannot_sign_certificates")

    return (
        ExtensionPolicy.permit_all()
        .require_present(x509.BasicConstraints, Criticality.AGNOSTIC, None)
        .may_be_present(x509.KeyUsage, Criticality.AGNOSTIC, key_usage)
    )


def _leaf_policy(profile: LeafProfile) -> ExtensionPolicy:
    def not_a_ca(_: Policy, __: x509.Certificate, bc: x509.BasicConstraints | None) -> None:
        if bc is not None and bc.ca:
            raise ValueError("leaf_is_a_ca")

    policy = ExtensionPolicy.permit_all()
    if profile == "packed":
        # WebAuthn L3 §8.2.1: "The Basic Constraints extension MUST have the CA component
        # set to false" — present, and false.
        return policy.require_present(x509.BasicConstraints, Criticality.AGNOSTIC, not_a_ca)
    return policy.may_be_present(x509.BasicConstraints, Criticality.AGNOSTIC, not_a_ca)


def _check_packed_leaf(leaf: x509.Certificate) -> None:
    """WebAuthn L3 §8.2.1: version 3; subject C (ISO 3166), O, OU "Authenticator
    Attestation", CN."""
    if leaf.version != x509.Version.v3:
        raise CertificatePathError("packed_certificate_invalid", "not an X.509 v3 certificate")
    subject = leaf.subject

    def one(oid: x509.ObjectIdentifier) -> str | None:
        values = subject.get_attributes_for_oid(oid)
        return str(values[0].value) if len(values) == 1 else None

    country = one(NameOID.COUNTRY_NAME)
    if country is None or not re.fullmatch(r"[A-Z]{2}", country):
        raise CertificatePathError("packed_certificate_invalid", "subject C is not a country")
    if not one(NameOID.ORGANIZATION_NAME) or not one(NameOID.COMMON_NAME):
        raise CertificatePathError("packed_certificate_invalid", "subject lacks O or CN")
    if one(NameOID.ORGANIZATIONAL_UNIT_NAME) != "Authenticator Attestation":
        raise CertificatePathError(
            "packed_certificate_invalid", 'subject OU is not "Authenticator Attestation"'
        )


def _reason(message: str) -> str:
    own = _OWN_REASON.search(message)
    if own and own.group(1) in PATH_REASONS:
        return own.group(1)
    for fragment, reason in _BUILTIN_REASONS:
        if fragment in message:
            return reason
    return "untrusted_chain"
