"""JSON Web Keys (RFC 7517): public keys parsed once, key sets, and thumbprints (RFC 7638).

:class:`PublicKey` is one verification key, :class:`KeySet` a parsed JWK Set that picks the
key by ``kid``; :func:`jwk_thumbprint` is the RFC 7638 SHA-256 thumbprint a DPoP-bound
token names in ``cnf.jkt`` (RFC 9449 §6.1). The JWS verifier and signer live in
:mod:`stepauth.sdk.jose`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from stepauth.encoding import b64url_decode as _decode
from stepauth.encoding import b64url_encode
from stepauth.sdk.errors import (
    DisallowedAlgorithm,
    InvalidSignature,
    JWKSError,
    KeyNotFound,
    MalformedToken,
)
from stepauth.sdk.jwa import ALGORITHMS, CURVES, Algorithm

__all__ = ["KeySet", "PublicKey", "b64url_decode", "jwk_thumbprint"]


def b64url_decode(data: str) -> bytes:
    """Decode unpadded base64url (RFC 7515 §2); raise :class:`MalformedToken` on bad input."""
    try:
        return _decode(data)
    except ValueError as exc:
        raise MalformedToken("invalid base64url segment") from exc


def _int(value: Any, what: str) -> int:
    if not isinstance(value, str):
        raise JWKSError(f"JWK member {what} must be a base64url string")
    try:
        return int.from_bytes(b64url_decode(value), "big")
    except MalformedToken as exc:
        raise JWKSError(f"JWK member {what} is not base64url") from exc


@dataclass(frozen=True, slots=True)
class PublicKey:
    """One verification key parsed once from a JWK (RFC 7517 §4)."""

    kid: str | None
    kty: str
    key: Any = field(repr=False)
    alg: str | None = None
    crv: str | None = None

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> PublicKey:
        """Parse a public JWK; private members are ignored, unknown key types refused."""
        kty = jwk.get("kty")
        kid = jwk.get("kid")
        alg = jwk.get("alg")
        if kid is not None and not isinstance(kid, str):
            raise JWKSError("JWK kid must be a string")
        if alg is not None and (not isinstance(alg, str) or alg not in ALGORITHMS):
            raise JWKSError(f"JWK alg {alg!r} is not an allowed signature algorithm")
        try:
            if kty == "RSA":
                rsa_key = rsa.RSAPublicNumbers(_int(jwk.get("e"), "e"), _int(jwk.get("n"), "n"))
                return cls(kid, "RSA", rsa_key.public_key(), alg)
            if kty == "EC":
                crv = jwk.get("crv")
                if not isinstance(crv, str) or crv not in CURVES:
                    raise JWKSError(f"unsupported EC curve {crv!r}")
                ec_key = ec.EllipticCurvePublicNumbers(
                    _int(jwk.get("x"), "x"), _int(jwk.get("y"), "y"), CURVES[crv]
                )
                return cls(kid, "EC", ec_key.public_key(), alg, crv)
            if kty == "OKP":
                if jwk.get("crv") != "Ed25519":
                    raise JWKSError(f"unsupported OKP curve {jwk.get('crv')!r}")
                raw = b64url_decode(str(jwk.get("x", "")))
                return cls(kid, "OKP", Ed25519PublicKey.from_public_bytes(raw), alg, "Ed25519")
        except (ValueError, MalformedToken) as exc:
            raise JWKSError(f"JWK {kid!r} is not a valid {kty} public key") from exc
        raise JWKSError(f"unsupported JWK kty {kty!r}")

    def check_alg(self, alg: str) -> Algorithm:
        """The registry entry for ``alg`` if this key may verify it (RFC 8725 §3.1)."""
        spec = ALGORITHMS.get(alg)
        if spec is None:
            raise DisallowedAlgorithm(f"alg {alg!r} is never accepted")
        if spec.kty != self.kty or (spec.crv is not None and spec.crv != (self.crv or spec.crv)):
            raise DisallowedAlgorithm(f"alg {alg} does not belong to a {self.kty} key")
        if self.alg is not None and self.alg != alg and not {self.alg, alg} <= {"EdDSA", "Ed25519"}:
            raise DisallowedAlgorithm(f"key {self.kid!r} is registered for {self.alg}, not {alg}")
        return spec

    def verify(self, alg: str, signing_input: bytes, signature: bytes) -> None:
        """Verify a JWS signature; raise :class:`InvalidSignature` when it does not hold."""
        self.verify_spec(self.check_alg(alg), signing_input, signature)

    def verify_spec(self, spec: Algorithm, signing_input: bytes, signature: bytes) -> None:
        """:meth:`verify` with an algorithm :meth:`check_alg` already accepted for this key."""
        try:
            if spec.kind in ("pkcs1", "pss"):
                self.key.verify(signature, signing_input, spec.padding, spec.hasher)
            elif spec.kind == "ecdsa":
                # JWS carries R || S of fixed size (RFC 7518 §3.4), not DER.
                if len(signature) != 2 * spec.size:
                    raise InvalidSignature("ECDSA signature has the wrong length")
                r = int.from_bytes(signature[: spec.size], "big")
                s = int.from_bytes(signature[spec.size :], "big")
                der = encode_dss_signature(r, s)
                self.key.verify(der, signing_input, spec.padding)
            else:
                self.key.verify(signature, signing_input)
        except _CryptoInvalidSignature as exc:
            raise InvalidSignature("signature verification failed") from exc


@dataclass(frozen=True, slots=True)
class KeySet:
    """An immutable, parsed JWK Set: keys by ``kid`` plus the keys without one."""

    keys: tuple[PublicKey, ...] = ()
    kid_set: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        kids = frozenset(k.kid for k in self.keys if k.kid is not None)
        object.__setattr__(self, "kid_set", kids)

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any], *, strict: bool = False) -> KeySet:
        """Parse ``{"keys": [...]}``; skip encryption keys and (unless ``strict``) bad ones."""
        raw = jwks.get("keys") if isinstance(jwks, Mapping) else None
        if not isinstance(raw, list):
            raise JWKSError('a JWK Set needs a "keys" array (RFC 7517 §5)')
        parsed: list[PublicKey] = []
        for jwk in raw:
            if not isinstance(jwk, Mapping) or jwk.get("use", "sig") != "sig":
                continue
            try:
                parsed.append(PublicKey.from_jwk(jwk))
            except JWKSError:
                if strict:
                    raise
        return cls(tuple(parsed))

    @classmethod
    def of(cls, keys: Iterable[PublicKey]) -> KeySet:
        return cls(tuple(keys))

    def kids(self) -> frozenset[str]:
        return self.kid_set

    def find(self, kid: str | None, alg: str) -> PublicKey:
        """The one key for this ``kid`` (or, without ``kid``, the one key fit for ``alg``)."""
        if alg not in ALGORITHMS:
            raise DisallowedAlgorithm(f"alg {alg!r} is never accepted")
        if kid is not None:
            matches = [k for k in self.keys if k.kid == kid]
        else:
            kty = ALGORITHMS[alg].kty
            matches = [k for k in self.keys if k.kty == kty]
        if not matches:
            raise KeyNotFound(f"no key for kid {kid!r}" if kid else f"no {alg} key in the key set")
        if len(matches) > 1:
            # Without a kid several candidates mean the RP cannot tell which key signed:
            # fail closed rather than try each (OIDC Core §10.1).
            raise KeyNotFound(f"{len(matches)} keys match kid {kid!r}; the token must name one")
        return matches[0]


#: The members of each key type that an RFC 7638 thumbprint hashes, in lexicographic order
#: (RFC 7638 §3.2; RFC 8037 §2 for OKP).
_THUMBPRINT_MEMBERS: Final[Mapping[str, tuple[str, ...]]] = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK, base64url (RFC 7638 §3.1).

    Only the required members, in lexicographic order, no whitespace (§3.2-3.3); raises
    :class:`JWKSError` for an unknown ``kty`` or a missing or non-string member."""
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None:
        raise JWKSError(f"no RFC 7638 thumbprint for kty {jwk.get('kty')!r}")
    required: dict[str, str] = {}
    for name in members:
        value = jwk.get(name)
        if not isinstance(value, str):
            raise JWKSError(f"JWK member {name} is required for a thumbprint")
        required[name] = value
    canonical = json.dumps(required, separators=(",", ":"), ensure_ascii=False)
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())
