"""Compact JWS over a JWK Set (RFC 7515, RFC 7517, RFC 7518, RFC 8037): the package's one
verifier and one signer.

Verification (:class:`Verifier`, :func:`verify_compact`): parse the protected header, pick
the key by ``kid``, check that the ``alg`` is allowed *and* belongs to the key's type,
verify the signature with ``cryptography``, and only then decode the claims. What depends
only on the allow-list, the key set and the encoded header is worked out once per header;
the signature and the claims are checked on every call. The SDK (ID tokens, access tokens)
and the Provider (its own tokens, ``private_key_jwt`` client assertions, the FIDO MDS3
BLOB) verify through it.

Signing (:func:`sign_compact`): the Provider's ID tokens and access tokens.

Algorithms live in one registry (:data:`ALGORITHMS`, :mod:`stepauth.sdk.jwa`); ``none`` and
every ``HS*`` are absent from it on purpose: a verifier with a public key set must never
accept a MAC keyed with that public key (algorithm confusion, RFC 8725 §2.1 and §3.1). Keys
and key sets (:class:`PublicKey`, :class:`KeySet`, the RFC 7638 :func:`jwk_thumbprint`) are
:mod:`stepauth.sdk.jwk`'s, re-exported here.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from stepauth.encoding import b64url_decode as _decode
from stepauth.encoding import b64url_encode
from stepauth.sdk.errors import DisallowedAlgorithm, InvalidSignature, MalformedToken
from stepauth.sdk.jwa import ALGORITHMS, CURVES, Algorithm
from stepauth.sdk.jwk import KeySet, PublicKey, b64url_decode, jwk_thumbprint

__all__ = [
    "ALGORITHMS",
    "JWSHeader",
    "KeySet",
    "PrivateKey",
    "PublicKey",
    "Verifier",
    "b64url_decode",
    "b64url_encode",
    "decode_claims",
    "header_of",
    "jwk_thumbprint",
    "parse_header",
    "sign_compact",
    "verify_compact",
]


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
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
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


#: The C scanner of the strict decoder, called without the Python frame of ``raw_decode``.
_SCAN: Final[Callable[[str, int], tuple[Any, int]]] = _DECODER.scan_once  # type: ignore[attr-defined]
_PREPARED_MAX: Final = 64

_Prepared = tuple[PublicKey, Algorithm, JWSHeader]  # the key, its algorithm entry, the header


class Verifier:
    """Compact JWS verification for one allow-list of algorithms (RFC 7515 §5.2).

    Everything that depends only on the allow-list, the key set and the protected header
    is worked out once per encoded header and key set - the ``alg`` allow-list and
    registry, ``crit``, the key named by ``kid`` and its ``kty``/``alg`` match - and kept
    in a small bounded map; a new key set (rotation) starts it afresh. The signature and
    the claims are checked on every call: nothing about a token is ever remembered, only
    about its header.
    """

    __slots__ = ("_prepared", "algs")

    def __init__(self, allowed_algs: Iterable[str]) -> None:
        #: The allowed algorithms the registry knows (``none`` and ``HS*`` never are).
        self.algs = frozenset(a for a in allowed_algs if a in ALGORITHMS)
        # (key set, its entries by encoded header), replaced as one object so a thread never
        # pairs one key set with entries worked out from another.
        self._prepared: tuple[KeySet | None, dict[str, _Prepared]] = (None, {})

    def _prepare(self, h64: str, keys: KeySet) -> _Prepared:
        header = header_of(h64)
        alg = header.alg
        if alg not in self.algs:
            raise DisallowedAlgorithm(f"alg {alg!r} is not allowed")
        key = keys.find(header.kid, alg)
        entry = (key, key.check_alg(alg), header)
        known, by_header = self._prepared
        if known is keys and len(by_header) < _PREPARED_MAX:
            by_header[h64] = entry
        else:
            self._prepared = (keys, {h64: entry})
        return entry

    def verify(self, token: str, keys: KeySet) -> tuple[JWSHeader, dict[str, Any]]:
        """The header and claims of ``token`` once its signature holds.

        Raises :class:`DisallowedAlgorithm` for ``none``, ``HS*`` or an ``alg`` outside the
        allow-list; :class:`KeyNotFound`; :class:`InvalidSignature`; :class:`MalformedToken`.
        """
        if type(token) is not str:
            raise MalformedToken("token must be a string")
        parts = token.split(".")
        if len(parts) != 3:
            raise MalformedToken(
                "a compact JWS has three dot-separated parts (JWE is not accepted)"
            )
        h64, p64, s64 = parts
        known, by_header = self._prepared
        entry = by_header.get(h64) if known is keys else None
        if entry is None:
            entry = self._prepare(h64, keys)
        key, spec, header = entry
        try:
            signing_input = token[: len(h64) + len(p64) + 1].encode("ascii")
            signature = _decode(s64)
        except ValueError:
            if not token.isascii():
                raise MalformedToken("a compact JWS is ASCII") from None
            raise MalformedToken("invalid base64url segment") from None
        if spec.kind == "pkcs1":  # the common case without the frame of verify_spec
            try:
                key.key.verify(signature, signing_input, spec.padding, spec.hasher)
            except _CryptoInvalidSignature:
                raise InvalidSignature("signature verification failed") from None
        else:
            key.verify_spec(spec, signing_input, signature)
        # The common case inline (well-formed base64url holding one JSON object); anything
        # else takes decode_claims, which raises the precise error.
        try:
            text = _decode(p64).decode("utf-8")
            claims, end = _SCAN(text, 0)
        except (ValueError, RecursionError, StopIteration):
            return header, decode_claims(p64)
        if end != len(text) or type(claims) is not dict:
            return header, decode_claims(p64)
        return header, claims


@functools.lru_cache(maxsize=32)
def _verifier(allowed_algs: tuple[str, ...]) -> Verifier:
    return Verifier(allowed_algs)


def verify_compact(
    token: str, keys: KeySet, *, allowed_algs: Sequence[str] | frozenset[str]
) -> tuple[JWSHeader, dict[str, Any]]:
    """Verify the signature first, then decode the claims (RFC 7515 §5.2).

    :meth:`Verifier.verify` with a verifier kept per allow-list. Raises
    :class:`DisallowedAlgorithm` for ``none``, ``HS*`` or an ``alg`` outside
    ``allowed_algs``; :class:`KeyNotFound`; :class:`InvalidSignature`; :class:`MalformedToken`.
    """
    algs = tuple(sorted(allowed_algs)) if isinstance(allowed_algs, frozenset) else allowed_algs
    return _verifier(tuple(algs)).verify(token, keys)


#: A private key :func:`sign_compact` signs with.
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | Ed25519PrivateKey

_PRIVATE_TYPES: Final[Mapping[str, type]] = {
    "RSA": rsa.RSAPrivateKey,
    "EC": ec.EllipticCurvePrivateKey,
    "OKP": Ed25519PrivateKey,
}
_CURVE_NAMES: Final[Mapping[str, str]] = {curve.name: crv for crv, curve in CURVES.items()}


def _json_segment(value: Mapping[str, Any]) -> str:
    return b64url_encode(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def sign_compact(header: Mapping[str, Any], claims: Mapping[str, Any], key: PrivateKey) -> str:
    """A compact JWS (RFC 7515 §7.1) of ``claims`` under ``header``, whose ``alg`` must be one
    of :data:`ALGORITHMS` fit for ``key`` (RFC 7518 §3, RFC 8037 §3.1); ECDSA signatures are
    ``R || S`` of fixed size (RFC 7518 §3.4). Raises :class:`ValueError` otherwise."""
    alg = header.get("alg")
    spec = ALGORITHMS.get(alg) if isinstance(alg, str) else None
    if spec is None or not isinstance(key, _PRIVATE_TYPES[spec.kty]):
        raise ValueError(f"cannot sign alg {alg!r} with a {type(key).__name__}")
    signing_input = f"{_json_segment(header)}.{_json_segment(claims)}".encode("ascii")
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(signing_input, spec.padding, spec.hasher)
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        if _CURVE_NAMES.get(key.curve.name) != spec.crv:
            raise ValueError(f"alg {alg} needs a {spec.crv} key")
        r, s = decode_dss_signature(key.sign(signing_input, spec.padding))
        signature = r.to_bytes(spec.size, "big") + s.to_bytes(spec.size, "big")
    else:
        signature = key.sign(signing_input)
    return f"{signing_input.decode('ascii')}.{b64url_encode(signature)}"


def decode_claims(p64: str) -> dict[str, Any]:
    """The JWT claims of a payload segment whose signature was verified (one JSON object)."""
    try:
        claims = _loads(b64url_decode(p64).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise MalformedToken("JWT claims are not JSON") from exc
    if type(claims) is not dict:
        raise MalformedToken("JWT claims are not a JSON object")
    return claims
