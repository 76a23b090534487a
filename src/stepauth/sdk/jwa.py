"""The JWS algorithm registry (RFC 7518 §3, RFC 8037 §3.1): data, not scattered checks.

:data:`ALGORITHMS` names every signature algorithm the package verifies or signs with, each
with its key type, hash and curve; ``none`` and every ``HS*`` are absent on purpose (a
verifier holding public keys must never accept a MAC keyed with one: RFC 8725 §2.1, §3.1).
:data:`CURVES` maps the JWK ``crv`` names to ``cryptography`` curves (RFC 7518 §6.2.1.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding

__all__ = ["ALGORITHMS", "CURVES", "Algorithm"]


@dataclass(frozen=True, slots=True)
class Algorithm:
    """One registry entry: the key type, hash and curve of a JWS ``alg``."""

    kty: str
    hash: type[hashes.HashAlgorithm] | None
    kind: str  # "pkcs1", "pss", "ecdsa", "eddsa"
    crv: str | None = None
    size: int = 0  # ECDSA coordinate size in bytes
    # Immutable helper objects built once rather than per verification.
    hasher: Any = field(default=None, compare=False, repr=False)
    padding: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.hash is not None:
            object.__setattr__(self, "hasher", self.hash())
        if self.kind == "pkcs1":
            object.__setattr__(self, "padding", padding.PKCS1v15())
        elif self.kind == "pss":
            assert self.hash is not None
            pss = padding.PSS(padding.MGF1(self.hash()), padding.PSS.DIGEST_LENGTH)
            object.__setattr__(self, "padding", pss)
        elif self.kind == "ecdsa":
            object.__setattr__(self, "padding", ec.ECDSA(self.hasher))


#: The JWS algorithms an RP may accept (RFC 7518 §3, RFC 8037 §3.1). No ``none``, no ``HS*``.
ALGORITHMS: Final[Mapping[str, Algorithm]] = {
    "RS256": Algorithm("RSA", hashes.SHA256, "pkcs1"),
    "RS384": Algorithm("RSA", hashes.SHA384, "pkcs1"),
    "RS512": Algorithm("RSA", hashes.SHA512, "pkcs1"),
    "PS256": Algorithm("RSA", hashes.SHA256, "pss"),
    "PS384": Algorithm("RSA", hashes.SHA384, "pss"),
    "PS512": Algorithm("RSA", hashes.SHA512, "pss"),
    "ES256": Algorithm("EC", hashes.SHA256, "ecdsa", "P-256", 32),
    "ES384": Algorithm("EC", hashes.SHA384, "ecdsa", "P-384", 48),
    "ES512": Algorithm("EC", hashes.SHA512, "ecdsa", "P-521", 66),
    "EdDSA": Algorithm("OKP", None, "eddsa", "Ed25519"),
    "Ed25519": Algorithm("OKP", None, "eddsa", "Ed25519"),
}

CURVES: Final[Mapping[str, ec.EllipticCurve]] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
}
