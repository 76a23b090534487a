"""DPoP proofs (RFC 9449) at the Provider: checking a proof, issuing and checking nonces.

:func:`verify_proof` is RFC 9449 §4.3's list of checks, in its order, each failure an
:class:`~stepauth.provider.errors.InvalidDPoPProof` naming the step:

1. exactly one ``DPoP`` header (:func:`proof_header`), holding a compact JWS;
2. ``typ`` is ``dpop+jwt``; ``alg`` one of :data:`DPOP_ALGS` (asymmetric: ``none`` and
   the HMAC family are refused by the project's one JOSE verifier,
   :mod:`stepauth.sdk.jose`); ``jwk`` a public key with no private member;
3. the signature verifies with that ``jwk``;
4. ``htm`` is the request's method and ``htu`` the endpoint's URL as the Provider
   publishes it (``issuer`` + path: the same URL discovery advertises, whatever host a
   proxy forwarded), compared after RFC 3986 §6.2.2-6.2.3 normalisation, query and
   fragment ignored;
5. ``nonce``, when the Provider requires one (``[dpop] require_nonce``, §8): a missing,
   expired or forged nonce is :class:`~stepauth.provider.errors.UseDPoPNonce` with a fresh
   ``DPoP-Nonce`` header;
6. ``iat`` no older than ``[dpop] proof_max_age`` seconds and at most :data:`CLOCK_SKEW`
   seconds ahead (§11.1);
7. ``ath`` is the access token's hash when one is presented (§7);
8. ``jti`` is used once (§11.1): one insert-if-absent (:meth:`~stepauth.store.Store.add`)
   keyed by the key's thumbprint and the ``jti``, kept until the proof could no longer be
   accepted. With Redis configured the store keeps it there (kind ``dpop_jti`` is
   ephemeral), so every instance sharing that Redis sees the same set.

Nothing changes state before step 8, and step 8 runs only once every other check held.

Nonces are stateless: a nonce is the Provider's sealed (AES-256-GCM,
:meth:`~stepauth.provider.keys.KeyRing.seal`, key derived from the Provider secret) issue
time, bound to :data:`NONCE_CONTEXT`. Any instance holding the same secret opens it; it
is accepted for ``[dpop] nonce_lifetime`` seconds. A nonce may be used by several proofs
within its lifetime — replay is what ``jti`` stops; the nonce bounds how far ahead a
stolen signing capability can pre-compute proofs (§11.2).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from starlette.requests import HTTPConnection

from stepauth.encoding import b64url_encode
from stepauth.provider import jsonlimits
from stepauth.provider.compare import constant_time_equal, sha256hex
from stepauth.provider.errors import InvalidDPoPProof, InvalidRequest, UseDPoPNonce
from stepauth.sdk.errors import SDKError
from stepauth.sdk.jose import PublicKey, b64url_decode, decode_claims, header_of

if TYPE_CHECKING:
    from stepauth.provider.state import ProviderState

__all__ = [
    "CLOCK_SKEW",
    "DPOP_ALGS",
    "DPOP_TYP",
    "JTI_KIND",
    "NONCE_HEADER",
    "DPoPProof",
    "access_token_hash",
    "bind_pushed_request",
    "checked_jkt",
    "endpoint_url",
    "issue_nonce",
    "jwk_thumbprint",
    "nonce_headers",
    "proof_header",
    "verify_proof",
]

#: RFC 9449 §5.1 ``dpop_signing_alg_values_supported``: asymmetric algorithms the JOSE
#: layer verifies (RFC 7518 §3, RFC 8037; Ed25519 is EdDSA's fully-specified name, RFC 9864).
DPOP_ALGS = ("ES256", "RS256", "PS256", "EdDSA", "Ed25519")
DPOP_TYP = "dpop+jwt"
#: JWK members of a private key (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2): a proof's
#: ``jwk`` carrying one is refused (§4.3 step 7: "does not contain a private key").
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
#: Seconds a proof's ``iat`` (or a nonce's issue time) may lie in the future (clock skew).
CLOCK_SKEW = 5
#: Longest ``jti`` accepted (a random identifier; §4.2 suggests 96 bits or more).
MAX_JTI = 256
#: Store kind of the seen proofs (``jti`` per key).
JTI_KIND = "dpop_jti"
NONCE_HEADER = "DPoP-Nonce"
#: What a sealed nonce is bound to (AES-GCM associated data).
NONCE_CONTEXT = "stepauth dpop nonce v1"
#: RFC 7638 §3.2: the required members of each key type, in the thumbprint.
_THUMBPRINT_MEMBERS: Mapping[str, tuple[str, ...]] = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
}
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: A base64url SHA-256 digest: 43 characters (RFC 7638 §3.1 with SHA-256).
_JKT = re.compile(r"[A-Za-z0-9_-]{43}")


@dataclass(frozen=True, slots=True)
class DPoPProof:
    """A verified proof: its key's RFC 7638 thumbprint and its claims."""

    jkt: str
    jwk: Mapping[str, Any]
    claims: Mapping[str, Any]


def proof_header(request: HTTPConnection) -> str | None:
    """The one ``DPoP`` header of ``request``; ``None`` without one (RFC 9449 §4.3 step 1)."""
    values = request.headers.getlist("dpop")
    if len(values) > 1:
        raise InvalidDPoPProof("more than one DPoP header")
    if not values:
        return None
    return values[0]


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 §3: SHA-256 over the required members, sorted, without whitespace."""
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None or any(not isinstance(jwk.get(m), str) for m in members):
        raise InvalidDPoPProof("jwk is not an EC, RSA or OKP public key")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())


def checked_jkt(value: str) -> str:
    """A ``dpop_jkt`` parameter (RFC 9449 §10) that is a base64url SHA-256 thumbprint."""
    if not _JKT.fullmatch(value):
        raise InvalidRequest("dpop_jkt is not a base64url SHA-256 JWK thumbprint")
    return value


def access_token_hash(token: str) -> str:
    """RFC 9449 §4.2 ``ath``: base64url(SHA-256(ASCII access token))."""
    return b64url_encode(hashlib.sha256(token.encode("ascii", "replace")).digest())


def endpoint_url(state: ProviderState, path: str) -> str:
    """The URL of one of our endpoints as discovery publishes it (the issuer's base)."""
    return str(state.config.issuer).rstrip("/") + path


def _normalised(url: str) -> str | None:
    """RFC 3986 §6.2.2-6.2.3: lower-case scheme and host, default port and empty path
    dropped; query and fragment ignored (RFC 9449 §4.3 step 9)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not scheme or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


def issue_nonce(state: ProviderState, *, now: float) -> str:
    """A fresh nonce: the sealed issue time (see the module docstring)."""
    return state.keys.seal(str(int(now)), context=NONCE_CONTEXT)


def nonce_headers(state: ProviderState) -> dict[str, str]:
    """``DPoP-Nonce`` with a fresh nonce when nonces are required (RFC 9449 §8.2), else
    nothing."""
    if not state.config.dpop.require_nonce:
        return {}
    return {NONCE_HEADER: issue_nonce(state, now=state.clock())}


def _nonce_fresh(state: ProviderState, nonce: Any, *, now: float) -> bool:
    if not isinstance(nonce, str) or not nonce or len(nonce) > 512:
        return False
    opened = state.keys.unseal(nonce, context=NONCE_CONTEXT)
    if opened is None or not opened.isdigit():
        return False
    issued = int(opened)
    return now - state.config.dpop.nonce_lifetime <= issued <= now + CLOCK_SKEW


def _parts(proof: str) -> tuple[str, str, str]:
    parts = proof.split(".")
    if len(parts) != 3:
        raise InvalidDPoPProof("DPoP proof is not a compact JWS")
    return parts[0], parts[1], parts[2]


def _public_jwk(header: Mapping[str, Any]) -> Mapping[str, Any]:
    jwk = header.get("jwk")
    if not isinstance(jwk, Mapping):
        raise InvalidDPoPProof("DPoP proof header has no jwk")
    if PRIVATE_MEMBERS & set(jwk):
        raise InvalidDPoPProof("DPoP proof jwk contains private key members")
    return jwk


async def verify_proof(
    state: ProviderState,
    proof: str,
    *,
    expected_htm: str,
    expected_htu: str,
    now: float,
    access_token: str | None = None,
) -> DPoPProof:
    """RFC 9449 §4.3's checks of one proof, in order (see the module docstring)."""
    h64, p64, s64 = _parts(proof)
    try:
        # Header and claims bounded in size and nesting before any JSON library sees them.
        jsonlimits.loads(b64url_decode(h64))
        jsonlimits.loads(b64url_decode(p64))
        header = header_of(h64)
    except (ValueError, TypeError, SDKError) as exc:
        raise InvalidDPoPProof("DPoP proof is malformed") from exc
    if str(header.typ or "").lower() != DPOP_TYP:
        raise InvalidDPoPProof("DPoP proof typ must be dpop+jwt")
    if header.alg not in DPOP_ALGS:
        raise InvalidDPoPProof("DPoP proof alg is not an allowed asymmetric algorithm")
    jwk = _public_jwk(header.raw)
    try:
        key = PublicKey.from_jwk(jwk)
        key.verify(header.alg, f"{h64}.{p64}".encode("ascii"), b64url_decode(s64))
        claims = decode_claims(p64)
    except (SDKError, UnicodeEncodeError) as exc:
        raise InvalidDPoPProof("DPoP proof signature does not verify with its jwk") from exc
    jkt = jwk_thumbprint(jwk)
    if claims.get("htm") != expected_htm:
        raise InvalidDPoPProof("DPoP proof htm does not match the request method")
    htu = claims.get("htu")
    expected = _normalised(expected_htu)
    if not isinstance(htu, str) or expected is None or _normalised(htu) != expected:
        raise InvalidDPoPProof("DPoP proof htu does not match the endpoint URL")
    if state.config.dpop.require_nonce and not _nonce_fresh(state, claims.get("nonce"), now=now):
        raise UseDPoPNonce(
            "a fresh DPoP nonce is required",
            headers={NONCE_HEADER: issue_nonce(state, now=now)},
        )
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise InvalidDPoPProof("DPoP proof has no iat")
    max_age = state.config.dpop.proof_max_age
    if iat < now - max_age:
        raise InvalidDPoPProof("DPoP proof is too old")
    if iat > now + CLOCK_SKEW:
        raise InvalidDPoPProof("DPoP proof iat is in the future")
    if access_token is not None:
        ath = claims.get("ath")
        if not isinstance(ath, str) or not constant_time_equal(
            ath, access_token_hash(access_token)
        ):
            raise InvalidDPoPProof("DPoP proof ath does not match the access token")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI:
        raise InvalidDPoPProof("DPoP proof has no usable jti")
    added = await state.store.add(
        JTI_KIND,
        sha256hex(f"{jkt}\x00{jti}"),
        expires_at=float(iat) + max_age + CLOCK_SKEW,
        now=now,
    )
    if not added:
        raise InvalidDPoPProof("DPoP proof was already used")
    return DPoPProof(jkt=jkt, jwk=dict(jwk), claims=claims)


async def bind_pushed_request(
    request: HTTPConnection, state: ProviderState, params: Mapping[str, str]
) -> dict[str, str]:
    """RFC 9449 §10.1: a ``DPoP`` proof sent to the PAR endpoint binds the pushed request
    to its key, as ``dpop_jkt``; a ``dpop_jkt`` sent with it must name that key."""
    pushed = dict(params)
    if "dpop_jkt" in pushed:
        checked_jkt(pushed["dpop_jkt"])
    header = proof_header(request)
    if header is None:
        return pushed
    proof = await verify_proof(
        state,
        header,
        expected_htm="POST",
        expected_htu=endpoint_url(state, "/par"),
        now=state.clock(),
    )
    if pushed.get("dpop_jkt", proof.jkt) != proof.jkt:
        raise InvalidDPoPProof("dpop_jkt does not match the key of the DPoP proof")
    pushed["dpop_jkt"] = proof.jkt
    return pushed
