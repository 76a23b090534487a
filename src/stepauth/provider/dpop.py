"""DPoP proofs (RFC 9449) at the Provider: checking a proof, issuing and checking nonces.

:func:`verify_proof` runs RFC 9449 §4.3's checks through the one implementation the SDK's
resource server uses too, :func:`stepauth.sdk.dpop_check.check_proof` (pure, no I/O), and
answers each failure with an :class:`~stepauth.provider.errors.InvalidDPoPProof` naming
the step:

1. exactly one ``DPoP`` header (:func:`proof_header`), holding a compact JWS whose header
   and claims are bounded in size (:mod:`stepauth.provider.jsonlimits`);
2. ``typ`` is ``dpop+jwt``; ``alg`` one of :data:`DPOP_ALGS` (asymmetric: ``none`` and
   the HMAC family are refused by the project's one JOSE verifier,
   :mod:`stepauth.sdk.jose`); ``jwk`` a public key with no private member, an RSA one of
   2048 bits or more (RFC 7518 §3.3);
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
   keyed by the key's RFC 7638 thumbprint and the ``jti``, kept until the proof could no
   longer be accepted. With Redis configured the store keeps it there (kind ``dpop_jti``
   is ephemeral), so every instance sharing that Redis sees the same set.

Nothing changes state before step 8, and step 8 runs only once every other check held.

Nonces are stateless: a nonce is the Provider's sealed (AES-256-GCM,
:meth:`~stepauth.provider.keys.KeyRing.seal`, key derived from the Provider secret) issue
time, bound to :data:`NONCE_CONTEXT`. Any instance holding the same secret opens it; it
is accepted for ``[dpop] nonce_lifetime`` seconds. A nonce may be used by several proofs
within its lifetime — replay is what ``jti`` stops; the nonce bounds how far ahead a
stolen signing capability can pre-compute proofs (§11.2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from starlette.requests import HTTPConnection

from stepauth.provider import jsonlimits
from stepauth.provider.compare import sha256hex
from stepauth.provider.errors import InvalidDPoPProof, InvalidRequest, UseDPoPNonce
from stepauth.sdk.dpop import DPOP_TYP
from stepauth.sdk.dpop_check import GOT, check_proof
from stepauth.sdk.errors import InvalidDPoPProof as SDKInvalidDPoPProof
from stepauth.sdk.errors import SDKError
from stepauth.sdk.errors import UseDPoPNonce as SDKUseDPoPNonce
from stepauth.sdk.jose import Verifier, b64url_decode

if TYPE_CHECKING:
    from stepauth.provider.state import ProviderState

__all__ = [
    "CLOCK_SKEW",
    "DPOP_ALGS",
    "DPOP_TYP",
    "JTI_KIND",
    "NONCE_HEADER",
    "DPoPProof",
    "bind_pushed_request",
    "checked_jkt",
    "endpoint_url",
    "issue_nonce",
    "nonce_headers",
    "proof_header",
    "verify_proof",
]

#: RFC 9449 §5.1 ``dpop_signing_alg_values_supported``: asymmetric algorithms the JOSE
#: layer verifies (RFC 7518 §3, RFC 8037; Ed25519 is EdDSA's fully-specified name, RFC 9864).
DPOP_ALGS: Final = ("ES256", "RS256", "PS256", "EdDSA", "Ed25519")
#: The one JWS verifier of proofs, for :data:`DPOP_ALGS` only (never ``none`` nor ``HS*``).
_VERIFIER: Final = Verifier(DPOP_ALGS)
#: Seconds a proof's ``iat`` (or a nonce's issue time) may lie in the future (clock skew).
CLOCK_SKEW: Final = 5
#: Store kind of the seen proofs (``jti`` per key).
JTI_KIND: Final = "dpop_jti"
NONCE_HEADER: Final = "DPoP-Nonce"
#: What a sealed nonce is bound to (AES-GCM associated data).
NONCE_CONTEXT: Final = "stepauth dpop nonce v1"
#: A base64url SHA-256 digest: 43 characters (RFC 7638 §3.1 with SHA-256).
_JKT: Final = re.compile(r"[A-Za-z0-9_-]{43}")


@dataclass(frozen=True, slots=True)
class DPoPProof:
    """A verified proof: its key's RFC 7638 thumbprint and its claims."""

    jkt: str
    jwk: Mapping[str, Any]
    claims: Mapping[str, Any]


def proof_header(request: HTTPConnection) -> str | None:
    """The one ``DPoP`` header of ``request``; ``None`` without one (RFC 9449 §4.3 step 1)."""
    # the raw ASGI header list (names are lowercase), as Headers.getlist reads it; a
    # request without the header builds nothing
    values = [value for name, value in request.scope["headers"] if name == b"dpop"]
    if not values:
        return None
    if len(values) > 1:
        raise InvalidDPoPProof("more than one DPoP header")
    return bytes(values[0]).decode("latin-1")


def checked_jkt(value: str) -> str:
    """A ``dpop_jkt`` parameter (RFC 9449 §10) that is a base64url SHA-256 thumbprint."""
    if not _JKT.fullmatch(value):
        raise InvalidRequest("dpop_jkt is not a base64url SHA-256 JWK thumbprint")
    return value


def endpoint_url(state: ProviderState, path: str) -> str:
    """The URL of one of our endpoints as discovery publishes it (the issuer's base)."""
    return str(state.config.issuer).rstrip("/") + path


def issue_nonce(state: ProviderState, *, now: float) -> str:
    """A fresh nonce: the sealed issue time (see the module docstring)."""
    return state.keys.seal(str(int(now)), context=NONCE_CONTEXT)


def nonce_headers(state: ProviderState) -> dict[str, str]:
    """``DPoP-Nonce`` with a fresh nonce when nonces are required (RFC 9449 §8.2), else
    nothing."""
    if not state.config.dpop.require_nonce:
        return {}
    return {NONCE_HEADER: issue_nonce(state, now=state.clock())}


@dataclass(frozen=True, slots=True)
class _SealedNonces:
    """The Provider's nonces as the shared check asks for them (RFC 9449 §8)."""

    state: ProviderState
    now: float

    def valid(self, nonce: object) -> bool:
        if not isinstance(nonce, str) or not nonce or len(nonce) > 512:
            return False
        opened = self.state.keys.unseal(nonce, context=NONCE_CONTEXT)
        if opened is None or not opened.isdigit():
            return False
        issued = int(opened)
        lifetime = self.state.config.dpop.nonce_lifetime
        return self.now - lifetime <= issued <= self.now + CLOCK_SKEW

    def issue(self) -> str:
        return issue_nonce(self.state, now=self.now)


def _bounded(proof: str) -> None:
    # Header and claims bounded in size and nesting before any JSON library sees them.
    parts = proof.split(".")
    if len(parts) != 3:
        raise InvalidDPoPProof("DPoP proof is not a compact JWS")
    try:
        jsonlimits.loads(b64url_decode(parts[0]))
        jsonlimits.loads(b64url_decode(parts[1]))
    except (ValueError, TypeError, SDKError) as exc:
        raise InvalidDPoPProof("DPoP proof is malformed") from exc


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
    _bounded(proof)
    nonces = _SealedNonces(state, now) if state.config.dpop.require_nonce else None
    try:
        checked = check_proof(
            proof,
            verifier=_VERIFIER,
            expected_htm=expected_htm,
            expected_htu=expected_htu,
            access_token=access_token,
            now=now,
            max_age=state.config.dpop.proof_max_age,
            leeway=CLOCK_SKEW,
            nonces=nonces,
        )
    except SDKUseDPoPNonce as exc:
        raise UseDPoPNonce(exc.description, headers={NONCE_HEADER: exc.nonce}) from exc
    except SDKInvalidDPoPProof as exc:
        # The step that failed, never the value the sender put in it.
        raise InvalidDPoPProof(f"DPoP proof: {exc.description.partition(GOT)[0]}") from exc
    except SDKError as exc:  # a non-ASCII access token: no ath can match it
        raise InvalidDPoPProof("DPoP proof ath does not match the access token") from exc
    # §11.1: the jti once per key, only after every other check held.
    added = await state.store.add(
        JTI_KIND,
        sha256hex(f"{checked.jkt}\x00{checked.jti}"),
        expires_at=checked.expires_at,
        now=now,
    )
    if not added:
        raise InvalidDPoPProof("DPoP proof was already used")
    return DPoPProof(jkt=checked.jkt, jwk=checked.jwk, claims=checked.claims)


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
