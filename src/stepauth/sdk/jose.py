"""Compact JWS verification over a JWK Set (RFC 7515, RFC 7517, RFC 7518, RFC 8037).

Only what a relying party needs: parse the protected header, pick the key by ``kid``,
check that the ``alg`` is allowed *and* belongs to the key's type, verify the signature
with ``cryptography``, and only then decode the claims. Algorithms live in one registry
(:data:`ALGORITHMS`); ``none`` and every ``HS*`` are absent from it on purpose: an RP that
verifies with a public key set must never accept a MAC keyed with that public key
(algorithm confusion, RFC 8725 §2.1 and §3.1).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from stepauth.sdk.errors import (
    DisallowedAlgorithm,
    InvalidSignature,
    JWKSError,
    KeyNotFound,
    MalformedToken,
)

__all__ = [
    "ALGORITHMS",
    "JWSHeader",
    "KeySet",
    "PublicKey",
    "b64url_decode",
    "b64url_encode",
    "decode_claims",
    "header_of",
    "parse_header",
    "verify_compact",
]


@dataclass(frozen=True, slots=True)
class _Alg:
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
ALGORITHMS: Final[Mapping[str, _Alg]] = {
    "RS256": _Alg("RSA", hashes.SHA256, "pkcs1"),
    "RS384": _Alg("RSA", hashes.SHA384, "pkcs1"),
    "RS512": _Alg("RSA", hashes.SHA512, "pkcs1"),
    "PS256": _Alg("RSA", hashes.SHA256, "pss"),
    "PS384": _Alg("RSA", hashes.SHA384, "pss"),
    "PS512": _Alg("RSA", hashes.SHA512, "pss"),
    "ES256": _Alg("EC", hashes.SHA256, "ecdsa", "P-256", 32),
    "ES384": _Alg("EC", hashes.SHA384, "ecdsa", "P-384", 48),
    "ES512": _Alg("EC", hashes.SHA512, "ecdsa", "P-521", 66),
    "EdDSA": _Alg("OKP", None, "eddsa", "Ed25519"),
    "Ed25519": _Alg("OKP", None, "eddsa", "Ed25519"),
}

_CURVES: Final[Mapping[str, ec.EllipticCurve]] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
}


_URLSAFE: Final = bytes.maketrans(b"-_", b"+/")


def b64url_decode(data: str) -> bytes:
    """Decode unpadded base64url (RFC 7515 §2); raise :class:`MalformedToken` on bad input."""
    try:
        padded = (data + "=" * (-len(data) % 4)).encode("ascii").translate(_URLSAFE)
        return binascii.a2b_base64(padded, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedToken("invalid base64url segment") from exc


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


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
                if not isinstance(crv, str) or crv not in _CURVES:
                    raise JWKSError(f"unsupported EC curve {crv!r}")
                ec_key = ec.EllipticCurvePublicNumbers(
                    _int(jwk.get("x"), "x"), _int(jwk.get("y"), "y"), _CURVES[crv]
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

    def check_alg(self, alg: str) -> _Alg:
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

    def verify_spec(self, spec: _Alg, signing_input: bytes, signature: bytes) -> None:
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


@dataclass(frozen=True, slots=True)
class JWSHeader:
    """The protected header fields an RP acts on."""

    alg: str
    kid: str | None
    typ: str | None
    raw: Mapping[str, Any]


_HEADER_CACHE: dict[str, JWSHeader] = {}
_HEADER_CACHE_MAX: Final = 256


def parse_header(token: str) -> tuple[JWSHeader, str, str, str]:
    """Split a compact JWS and parse its header; returns (header, h64, payload64, sig64).

    Headers repeat across tokens of one issuer and key, so parsed headers are memoised by
    their encoded form (a small, bounded map).
    """
    if not isinstance(token, str):
        raise MalformedToken("token must be a string")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedToken("a compact JWS has three dot-separated parts (JWE is not accepted)")
    h64, p64, s64 = parts
    return header_of(h64), h64, p64, s64


def header_of(h64: str) -> JWSHeader:
    """The parsed protected header of an encoded one (memoised, bounded)."""
    header = _HEADER_CACHE.get(h64)
    if header is None:
        header = _decode_header(h64)
        if len(_HEADER_CACHE) >= _HEADER_CACHE_MAX:
            _HEADER_CACHE.clear()
        _HEADER_CACHE[h64] = header
    return header


def _decode_header(h64: str) -> JWSHeader:
    try:
        raw = json.loads(b64url_decode(h64))
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedToken("JWS header is not JSON") from exc
    if not isinstance(raw, dict):
        raise MalformedToken("JWS header is not a JSON object")
    alg = raw.get("alg")
    if not isinstance(alg, str):
        raise MalformedToken("JWS header has no alg")
    if "crit" in raw:
        # RFC 7515 §4.1.11: no extension is understood here, so any crit must be refused.
        raise MalformedToken("JWS header carries crit extensions that are not understood")
    kid = raw.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise MalformedToken("JWS kid must be a string")
    typ = raw.get("typ")
    return JWSHeader(alg, kid, typ if isinstance(typ, str) else None, raw)


def _no_constant(name: str) -> Any:
    # NaN / Infinity are not JSON (RFC 8259 §6); an "exp": NaN would never expire.
    raise ValueError(f"{name} is not a JSON number")


_DECODER: Final = json.JSONDecoder(parse_constant=_no_constant)


def _loads(text: str) -> Any:
    """``json.loads`` without NaN/Infinity, using the C scanner directly (hot path)."""
    try:
        value, end = _DECODER.raw_decode(text)
    except ValueError:
        return _DECODER.decode(text)  # leading whitespace: the general path
    if end != len(text) and text[end:].strip(" \t\n\r"):
        raise ValueError("extra data after the JSON value")
    return value


def verify_compact(
    token: str, keys: KeySet, *, allowed_algs: Sequence[str] | frozenset[str]
) -> tuple[JWSHeader, dict[str, Any]]:
    """Verify the signature first, then decode the claims (RFC 7515 §5.2).

    Raises :class:`DisallowedAlgorithm` for ``none``, ``HS*`` or an ``alg`` outside
    ``allowed_algs``; :class:`KeyNotFound`; :class:`InvalidSignature`; :class:`MalformedToken`.
    """
    header, h64, p64, s64 = parse_header(token)
    alg = header.alg
    if alg not in allowed_algs or alg not in ALGORITHMS:
        raise DisallowedAlgorithm(f"alg {alg!r} is not allowed")
    key = keys.find(header.kid, alg)
    try:
        signing_input = f"{h64}.{p64}".encode("ascii")
    except UnicodeEncodeError as exc:
        raise MalformedToken("a compact JWS is ASCII") from exc
    key.verify(alg, signing_input, b64url_decode(s64))
    return header, decode_claims(p64)


def decode_claims(p64: str) -> dict[str, Any]:
    """The JWT claims of a payload segment whose signature was verified (one JSON object)."""
    try:
        claims = _loads(b64url_decode(p64).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise MalformedToken("JWT claims are not JSON") from exc
    if type(claims) is not dict:
        raise MalformedToken("JWT claims are not a JSON object")
    return claims
