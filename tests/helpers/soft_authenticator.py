"""A software WebAuthn authenticator that produces real CBOR/COSE payloads.

It signs with a real P-256 key, so a verifier cannot tell it from a browser's virtual
authenticator except through the knobs tests turn: flags (UP/UV/BE/BS), signCount,
clientData fields, rpId and a ``packed`` attestation with an ``x5c`` chain issued by a
test CA made in the test (:func:`make_test_ca`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cose_es256(key: ec.EllipticCurvePublicKey) -> bytes:
    numbers = key.public_numbers()
    return cbor2.dumps(
        {
            1: 2,
            3: -7,
            -1: 1,
            -2: numbers.x.to_bytes(32, "big"),
            -3: numbers.y.to_bytes(32, "big"),
        }
    )


@dataclass
class AttestationCA:
    """A root CA and one attestation certificate it issued (WebAuthn L3 §8.2.1 profile)."""

    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    attestation_key: ec.EllipticCurvePrivateKey
    attestation_cert: x509.Certificate

    @property
    def root_der(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding

        return self.root.public_bytes(Encoding.DER)


def _name(cn: str, ou: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "AA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "stepauth tests"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def make_test_ca(aaguid: bytes, *, cn: str = "stepauth test attestation root") -> AttestationCA:
    """Generate a root and a packed-attestation leaf carrying the AAGUID extension."""
    now = dt.datetime.now(dt.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(cn, "Authenticator Attestation CA")
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    att_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("stepauth test key", "Authenticator Attestation"))
        .issuer_name(root_name)
        .public_key(att_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.UnrecognizedExtension(
                x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4"), b"\x04\x10" + aaguid
            ),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    return AttestationCA(root_key, root, att_key, leaf)


@dataclass
class SoftAuthenticator:
    rp_id: str = "example.org"
    origin: str = "https://example.org"
    aaguid: bytes = field(default_factory=lambda: os.urandom(16))
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    user_handle: bytes = field(default_factory=lambda: os.urandom(16))
    backup_eligible: bool = False
    backup_state: bool = False
    user_verified: bool = True
    sign_count: int = 0
    ca: AttestationCA | None = None
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def _flags(self, **overrides: bool) -> int:
        up = overrides.get("up", True)
        uv = overrides.get("uv", self.user_verified)
        be = overrides.get("be", self.backup_eligible)
        bs = overrides.get("bs", self.backup_state)
        return (UP if up else 0) | (UV if uv else 0) | (BE if be else 0) | (BS if bs else 0)

    def _client_data(self, ceremony: str, challenge: bytes, **extra: Any) -> bytes:
        data: dict[str, Any] = {
            "type": extra.pop("type", ceremony),
            "challenge": extra.pop("challenge", b64url(challenge)),
            "origin": extra.pop("origin", self.origin),
            "crossOrigin": extra.pop("crossOrigin", False),
        }
        data.update(extra)
        return json.dumps(data, separators=(",", ":")).encode()

    def create(
        self,
        challenge: bytes,
        *,
        rp_id: str | None = None,
        client_data: dict[str, Any] | None = None,
        attestation: str = "none",
        **flags: bool,
    ) -> dict[str, Any]:
        """navigator.credentials.create(): ``attestation`` is none | packed | self."""
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        count = self.sign_count.to_bytes(4, "big")
        acd = (
            self.aaguid
            + len(self.credential_id).to_bytes(2, "big")
            + self.credential_id
            + cose_es256(self.key.public_key())
        )
        auth_data = rp_hash + bytes([self._flags(**flags) | AT]) + count + acd
        cdj = self._client_data("webauthn.create", challenge, **(client_data or {}))
        to_sign = auth_data + hashlib.sha256(cdj).digest()
        from cryptography.hazmat.primitives.serialization import Encoding

        att_stmt: dict[str, Any]
        if attestation == "packed":
            assert self.ca is not None, "packed attestation needs a test CA"
            sig = self.ca.attestation_key.sign(to_sign, ec.ECDSA(hashes.SHA256()))
            att_stmt = {
                "alg": -7,
                "sig": sig,
                "x5c": [self.ca.attestation_cert.public_bytes(Encoding.DER)],
            }
            fmt = "packed"
        elif attestation == "self":
            att_stmt = {"alg": -7, "sig": self.key.sign(to_sign, ec.ECDSA(hashes.SHA256()))}
            fmt = "packed"
        else:
            att_stmt, fmt = {}, "none"
        att_obj = cbor2.dumps({"fmt": fmt, "attStmt": att_stmt, "authData": auth_data})
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(cdj),
                "attestationObject": b64url(att_obj),
                "transports": ["usb"],
            },
            "clientExtensionResults": {},
        }

    def get(
        self,
        challenge: bytes,
        *,
        rp_id: str | None = None,
        client_data: dict[str, Any] | None = None,
        sign_count: int | None = None,
        user_handle: bytes | None = b"",
        **flags: bool,
    ) -> dict[str, Any]:
        """navigator.credentials.get(); each call advances signCount unless given."""
        if sign_count is None:
            self.sign_count += 1
            sign_count = self.sign_count
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        auth_data = rp_hash + bytes([self._flags(**flags)]) + sign_count.to_bytes(4, "big")
        cdj = self._client_data("webauthn.get", challenge, **(client_data or {}))
        sig = self.key.sign(auth_data + hashlib.sha256(cdj).digest(), ec.ECDSA(hashes.SHA256()))
        handle = self.user_handle if user_handle == b"" else user_handle
        response: dict[str, Any] = {
            "clientDataJSON": b64url(cdj),
            "authenticatorData": b64url(auth_data),
            "signature": b64url(sig),
        }
        if handle is not None:
            response["userHandle"] = b64url(handle)
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": response,
            "clientExtensionResults": {},
        }
