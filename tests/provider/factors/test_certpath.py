"""Attestation certificate paths under cryptography's X.509 verifier (RFC 5280 §6,
WebAuthn L3 §8.2.1): chains built here with every key type, and each way a chain goes
wrong refused with its own reason."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from stepauth.provider.factors.webauthn.attestation import (
    MetadataEntry,
    TrustStore,
    assess_attestation,
)

NOW = dt.datetime.now(dt.UTC)
AAGUID = os.urandom(16)
_OID_AAGUID = x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4")

Key = Any  # a private key of any of the kinds below


def new_key(kind: str) -> Key:
    if kind == "rsa":
        return rsa.generate_private_key(65537, 2048)
    if kind == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "p384":
        return ec.generate_private_key(ec.SECP384R1())
    return ed25519.Ed25519PrivateKey.generate()


def name(cn: str, ou: str = "Authenticator Attestation", country: str = "AA") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "stepauth tests"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def issue(
    subject: x509.Name,
    public_key: Any,
    issuer: tuple[x509.Name, Key] | None = None,
    *,
    self_key: Key = None,
    ca: bool | None,
    path_length: int | None = None,
    cert_sign: bool | None = None,
    days: tuple[int, int] = (-1, 3650),
    aaguid: bytes | None = None,
    aaguid_critical: bool = False,
) -> x509.Certificate:
    """One certificate; ``ca=None`` leaves basic constraints out, ``cert_sign=None``
    leaves key usage out."""
    issuer_name, issuer_key = issuer if issuer is not None else (subject, self_key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + dt.timedelta(days=days[0]))
        .not_valid_after(NOW + dt.timedelta(days=days[1]))
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca, path_length), critical=True)
    if cert_sign is not None:
        usage = x509.KeyUsage(
            digital_signature=not ca,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=cert_sign,
            crl_sign=cert_sign,
            encipher_only=False,
            decipher_only=False,
        )
        builder = builder.add_extension(usage, critical=True)
    if aaguid is not None:
        value = b"\x04\x10" + aaguid
        builder = builder.add_extension(
            x509.UnrecognizedExtension(_OID_AAGUID, value), critical=aaguid_critical
        )
    algorithm = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(issuer_key, algorithm)


@dataclass
class Chain:
    root: x509.Certificate
    x5c: list[x509.Certificate]


def chain(
    root_kind: str = "p256",
    intermediate_kind: str = "p256",
    leaf_kind: str = "p256",
    *,
    root_path_length: int | None = None,
    intermediates: int = 1,
    intermediate: dict[str, Any] | None = None,
    leaf: dict[str, Any] | None = None,
) -> Chain:
    """root → ``intermediates`` CAs → packed attestation leaf carrying AAGUID."""
    root_key = new_key(root_kind)
    root_name = name("root", "CA")
    root = issue(
        root_name,
        root_key.public_key(),
        self_key=root_key,
        ca=True,
        path_length=root_path_length,
        cert_sign=True,
    )
    above: tuple[x509.Name, Key] = (root_name, root_key)
    issued: list[x509.Certificate] = []
    for i in range(intermediates):
        key = new_key(intermediate_kind)
        options = {"ca": True, "cert_sign": True, **(intermediate or {})}
        issued.insert(0, issue(name(f"intermediate {i}", "CA"), key.public_key(), above, **options))
        above = (name(f"intermediate {i}", "CA"), key)
    options = {"ca": False, "aaguid": AAGUID, **(leaf or {})}
    subject = options.pop("subject", name("attestation"))
    leaf_cert = issue(subject, new_key(leaf_kind).public_key(), above, **options)
    return Chain(root=root, x5c=[leaf_cert, *issued])


def assessed(c: Chain, *, roots: tuple[x509.Certificate, ...] | None = None, **kw: Any) -> str:
    entry = MetadataEntry(aaguid=AAGUID.hex(), root_certificates=roots or (c.root,))
    result = assess_attestation(
        fmt=kw.pop("fmt", "packed"),
        att_stmt={"x5c": [cert.public_bytes(Encoding.DER) for cert in c.x5c]},
        aaguid=str(uuid.UUID(bytes=AAGUID)),
        trust=TrustStore([entry]),
        now=kw.pop("now", NOW.timestamp()),
    )
    assert result.trusted == (result.reason == "trusted")
    return result.reason


@pytest.mark.parametrize(
    ("root_kind", "intermediate_kind"),
    [("rsa", "rsa"), ("p256", "p256"), ("p384", "p384"), ("rsa", "p384"), ("p384", "p256")],
)
def test_chain_to_the_root_is_trusted(root_kind: str, intermediate_kind: str) -> None:
    """RSA, P-256 and P-384 roots and intermediates verify (the old check knew RSA
    PKCS#1 v1.5 and ECDSA only, and never looked at path constraints)."""
    assert assessed(chain(root_kind, intermediate_kind)) == "trusted"


@pytest.mark.parametrize("leaf_kind", ["rsa", "p384", "ed25519"])
def test_every_leaf_key_type_is_trusted(leaf_kind: str) -> None:
    assert assessed(chain(leaf_kind=leaf_kind)) == "trusted"


def test_leaf_issued_directly_by_the_root_is_trusted() -> None:
    assert assessed(chain(intermediates=0)) == "trusted"


@pytest.mark.parametrize(
    ("root_kind", "intermediate_kind"), [("ed25519", "p256"), ("p256", "ed25519")]
)
def test_ed25519_issuer_fails_closed(root_kind: str, intermediate_kind: str) -> None:
    """cryptography's verifier does not accept Ed25519 certificate signatures: refused,
    never passed to a weaker hand-written check."""
    assert assessed(chain(root_kind, intermediate_kind)) == "unsupported_algorithm"


def test_chain_longer_than_the_root_allows_is_refused() -> None:
    """RFC 5280 §4.2.1.9: a root with pathLenConstraint 0 may issue leaves only."""
    assert assessed(chain(root_path_length=0)) == "path_length_exceeded"
    assert assessed(chain(root_path_length=0, intermediates=0)) == "trusted"


def test_intermediate_that_is_not_a_ca_is_refused() -> None:
    """An attestation leaf (cA false) used to issue another one."""
    assert assessed(chain(intermediate={"ca": False})) == "issuer_not_a_ca"
    assert assessed(chain(intermediate={"ca": None})) == "issuer_not_a_ca"


def test_intermediate_without_key_cert_sign_is_refused() -> None:
    """RFC 5280 §4.2.1.3: keyCertSign must be set in an issuing CA's key usage."""
    assert assessed(chain(intermediate={"cert_sign": False})) == "issuer_cannot_sign_certificates"
    assert assessed(chain(intermediate={"cert_sign": None})) == "issuer_cannot_sign_certificates"


def test_expired_certificates_are_refused() -> None:
    assert assessed(chain(leaf={"days": (-30, -1)})) == "certificate_expired"
    assert assessed(chain(intermediate={"days": (-30, -1)})) == "certificate_expired"
    assert assessed(chain(leaf={"days": (1, 30)})) == "certificate_expired"  # not yet valid


def test_chain_to_another_root_is_refused() -> None:
    genuine, rogue = chain(), chain()
    assert assessed(rogue, roots=(genuine.root,)) == "untrusted_chain"


def test_leaf_that_is_a_ca_is_refused() -> None:
    """WebAuthn L3 §8.2.1: basic constraints with cA false, present in a packed leaf."""
    assert assessed(chain(leaf={"ca": True})) == "leaf_is_a_ca"
    assert assessed(chain(leaf={"ca": None})) == "packed_certificate_invalid"
    # Other formats (fido-u2f leaves often carry no basic constraints) only forbid cA.
    assert assessed(chain(leaf={"ca": None}), fmt="fido-u2f") == "trusted"


def test_packed_leaf_subject_must_follow_the_profile() -> None:
    """WebAuthn L3 §8.2.1: Subject-OU is the literal "Authenticator Attestation"."""
    wrong_ou = name("attestation", ou="Devices")
    assert assessed(chain(leaf={"subject": wrong_ou})) == "packed_certificate_invalid"
    wrong_country = name("attestation", country="A1")
    assert assessed(chain(leaf={"subject": wrong_country})) == "packed_certificate_invalid"


def test_aaguid_extension_must_match_and_not_be_critical() -> None:
    assert assessed(chain(leaf={"aaguid": os.urandom(16)})) == "aaguid_mismatch"
    assert assessed(chain(leaf={"aaguid_critical": True})) == "aaguid_mismatch"
    assert assessed(chain(leaf={"aaguid": None})) == "trusted"  # the extension is optional


def test_root_shipped_in_x5c_is_not_an_anchor() -> None:
    """Only the store's roots anchor a path: a self-signed root sent in x5c counts for
    nothing unless the deployment trusts it."""
    c = chain()
    c.x5c.append(c.root)
    assert assessed(c, roots=(chain().root,)) == "untrusted_chain"
    assert assessed(c) == "trusted"
