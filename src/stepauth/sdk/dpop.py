"""DPoP proofs (RFC 9449): the client's key, the proof it signs, and what both sides share.

A client holding a :class:`DPoPKey` (by default an in-memory EC P-256 key,
:class:`ECDPoPKey`; any object with the protocol's members plugs in, e.g. a key in an HSM)
signs one proof per HTTP request (RFC 9449 §4.2): header ``typ: dpop+jwt``, the ``alg`` and
the public ``jwk``; claims ``jti``, ``htm``, ``htu``, ``iat``, and on a protected-resource
request ``ath``, the hash of the access token (§4.2, §7.1), plus the server's ``nonce`` once
it gave one (§8, §9). :class:`DPoPSigner` keeps the nonces per origin and tells a
``use_dpop_nonce`` refusal - a token endpoint's ``400`` JSON error (§8) or a resource
server's ``401`` challenge (§9) - so the caller retries exactly once.

:func:`normalize_htu` and :func:`access_token_hash` are what the proof's creator and its
verifier (:mod:`stepauth.sdk.dpop_check`) must compute alike. Signing goes through the one
signer, :func:`stepauth.sdk.jose.sign_compact`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from stepauth.assurance import InvalidChallenge, parse_challenges
from stepauth.encoding import b64url_encode
from stepauth.sdk.jose import jwk_thumbprint, sign_compact

__all__ = [
    "DPOP_ALGS",
    "DPOP_TYP",
    "DPoPKey",
    "DPoPSigner",
    "ECDPoPKey",
    "access_token_hash",
    "make_proof",
    "normalize_htu",
    "thumbprint",
]

#: The JOSE ``typ`` of a proof (RFC 9449 §4.2).
DPOP_TYP: Final = "dpop+jwt"
#: The asymmetric algorithms a resource server accepts in proofs by default (RFC 9449 §4.2:
#: never ``none`` nor a MAC); announced in the challenge's ``algs`` (§7.1).
DPOP_ALGS: Final = ("ES256", "ES384", "PS256", "RS256", "EdDSA", "Ed25519")

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_UNRESERVED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _normalize_percent(path: str) -> str:
    # RFC 3986 §6.2.2.1-6.2.2.2: percent-encodings in upper case, unreserved ones decoded.
    out: list[str] = []
    i = 0
    while i < len(path):
        char = path[i]
        if char == "%" and _is_hex(path[i + 1 : i + 3]):
            decoded = unquote(path[i : i + 3])
            out.append(decoded if decoded in _UNRESERVED else path[i : i + 3].upper())
            i += 3
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _is_hex(pair: str) -> bool:
    return len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair)


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 §5.2.4 (applied by §6.2.2.3).
    output: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            if output:
                output.pop()
        elif segment != ".":
            output.append(segment)
    trailing = path.endswith(("/.", "/.."))
    return "/" + "/".join(output) + ("/" if trailing and output else "")


def normalize_htu(url: str) -> str:
    """``url`` without query and fragment, normalised as RFC 9449 §4.3 step 9 asks
    (RFC 3986 §6.2.2 syntax-based and §6.2.3 scheme-based normalisation): scheme and host in
    lower case, the default port dropped, an empty path as ``/``, percent-encodings
    normalised and dot segments removed. Raises :class:`ValueError` for a URL that is not
    an absolute ``http(s)`` URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError("htu must be an absolute http or https URL")
    host = parts.hostname.lower()  # userinfo is never part of the target
    if ":" in host:
        host = f"[{host}]"
    port = parts.port  # raises ValueError for a port that is not a number
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _remove_dot_segments(_normalize_percent(parts.path or "/"))
    return f"{scheme}://{netloc}{path}"


def access_token_hash(access_token: str) -> str:
    """``ath``: base64url(SHA-256(ASCII(access token))) (RFC 9449 §4.2)."""
    return b64url_encode(hashlib.sha256(access_token.encode("ascii")).digest())


@runtime_checkable
class DPoPKey(Protocol):
    """A key the application holds for DPoP: its ``alg``, its public JWK and a signer."""

    @property
    def alg(self) -> str:
        """The JWS ``alg`` the key signs with (an asymmetric one)."""
        ...

    @property
    def public_jwk(self) -> Mapping[str, str]:
        """The public JWK put into each proof's header (no private member, RFC 9449 §4.2)."""
        ...

    def sign(self, header: Mapping[str, Any], claims: Mapping[str, Any]) -> str:
        """A compact JWS of ``claims`` under ``header``."""
        ...


@dataclass(frozen=True)
class ECDPoPKey:
    """An EC P-256 key in memory (ES256), generated with ``cryptography`` by default."""

    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1()), repr=False
    )
    alg: str = "ES256"

    @property
    def public_jwk(self) -> Mapping[str, str]:
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url_encode(numbers.x.to_bytes(32, "big")),
            "y": b64url_encode(numbers.y.to_bytes(32, "big")),
        }

    def sign(self, header: Mapping[str, Any], claims: Mapping[str, Any]) -> str:
        return sign_compact(header, claims, self.private_key)


def thumbprint(key: DPoPKey) -> str:
    """The RFC 7638 thumbprint of the key: the ``jkt`` a bound token carries (§6.1)."""
    return jwk_thumbprint(key.public_jwk)


def make_proof(
    key: DPoPKey,
    *,
    method: str,
    url: str,
    access_token: str | None = None,
    nonce: str | None = None,
    now: float | None = None,
    jti: str | None = None,
) -> str:
    """One DPoP proof for ``method`` on ``url`` (RFC 9449 §4.2); ``access_token`` adds its
    ``ath`` (for protected-resource requests, §7.1), ``nonce`` the server's (§8, §9)."""
    header = {"typ": DPOP_TYP, "alg": key.alg, "jwk": dict(key.public_jwk)}
    claims: dict[str, Any] = {
        "jti": jti or secrets.token_urlsafe(16),
        "htm": method.upper(),
        "htu": normalize_htu(url),
        "iat": int(time.time() if now is None else now),
    }
    if access_token is not None:
        claims["ath"] = access_token_hash(access_token)
    if nonce is not None:
        claims["nonce"] = nonce
    return key.sign(header, claims)


def _origin(url: httpx.URL) -> str:
    port = url.port or _DEFAULT_PORTS.get(url.scheme, 0)
    return f"{url.scheme}://{url.host}:{port}"


def _wants_nonce(response: httpx.Response) -> bool:
    """Is ``response`` a ``use_dpop_nonce`` refusal (RFC 9449 §8: a ``400`` JSON error of
    the authorization server; §9: a resource server's ``401`` DPoP challenge)?"""
    if response.status_code == 400:
        try:
            data = json.loads(response.content)
        except ValueError:
            return False
        return isinstance(data, dict) and data.get("error") == "use_dpop_nonce"
    if response.status_code != 401:
        return False
    for value in response.headers.get_list("www-authenticate"):
        try:
            challenges = parse_challenges(value)
        except InvalidChallenge:
            continue
        if any(c.scheme.lower() == "dpop" and c.error == "use_dpop_nonce" for c in challenges):
            return True
    return False


class DPoPSigner:
    """Proofs for one client key, and the nonce each server gave (by origin, RFC 9449 §8).

    ``proof(request)`` signs a proof for an :class:`httpx.Request` with the origin's last
    nonce; ``remember(response)`` keeps the ``DPoP-Nonce`` a response carries;
    ``should_retry(response)`` is true when the server refused for want of a nonce and gave
    a new one - the caller sends a fresh proof once, never more (no loop).
    """

    def __init__(self, key: DPoPKey | None = None, *, clock: Callable[[], float] = time.time):
        self.key: DPoPKey = key if key is not None else ECDPoPKey()
        self.clock = clock
        self.jkt = thumbprint(self.key)
        self._nonces: dict[str, str] = {}

    def nonce_for(self, url: httpx.URL) -> str | None:
        return self._nonces.get(_origin(url))

    def proof(self, request: httpx.Request, *, access_token: str | None = None) -> str:
        """A proof for ``request`` (its method and URL), with ``ath`` for ``access_token``."""
        return make_proof(
            self.key,
            method=request.method,
            url=str(request.url),
            access_token=access_token,
            nonce=self.nonce_for(request.url),
            now=self.clock(),
        )

    def sign(self, request: httpx.Request, *, access_token: str | None = None) -> None:
        """Put a fresh proof into ``request`` (and ``Authorization: DPoP`` with a token)."""
        request.headers["DPoP"] = self.proof(request, access_token=access_token)
        if access_token is not None:
            request.headers["Authorization"] = f"DPoP {access_token}"

    def remember(self, response: httpx.Response) -> None:
        nonce = response.headers.get("dpop-nonce")
        if nonce:
            self._nonces[_origin(response.request.url)] = nonce

    def should_retry(self, response: httpx.Response) -> bool:
        """Remember the response's nonce; true for a ``use_dpop_nonce`` refusal with one."""
        self.remember(response)
        return bool(response.headers.get("dpop-nonce")) and _wants_nonce(response)
