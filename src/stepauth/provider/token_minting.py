"""The Provider's own tokens: ID Token, JWT access token, refresh token.

* ID Token — OIDC Core §2 and §3.1.3.6: ``iss sub aud exp iat auth_time acr amr nonce sid``,
  signed (JWS, never ``alg: none``, OIDC Core §2) with the client's
  ``id_token_signed_response_alg`` (RS256 by default; ES256, EdDSA and its fully-specified
  name Ed25519 (RFC 9864 §2) on request).
* Access token — RFC 9068 JWT, header ``typ: at+jwt``, carrying ``acr``, ``amr`` and
  ``auth_time`` (RFC 9470 §5, §6.1; RFC 9068 §2.2.1) and the granted
  ``authorization_details`` with a ``txn`` id (RFC 9396 §9.1). Every access token's ``jti``
  is recorded in the store under its grant so that revocation (RFC 7009) and a replayed
  code (RFC 6749 §4.1.2) end it.
  A DPoP-bound access token carries ``cnf: {"jkt": …}``, the RFC 7638 thumbprint of the
  client's proof key (RFC 9449 §6.1).
* Refresh token — opaque, stored by its SHA-256 with its
  :class:`~stepauth.provider.grant_record.Grant` (its rotation is the token endpoint's).

The tokens' claims come from the :class:`~stepauth.provider.grant_record.Grant`, the
record of what the user authorised.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from stepauth.provider.compare import sha256hex
from stepauth.provider.errors import InvalidToken, ServerError
from stepauth.provider.grant_record import Grant, claims_member, requested_claims
from stepauth.sdk.errors import JWKSError, SDKError
from stepauth.sdk.jose import KeySet, Verifier, sign_compact

if TYPE_CHECKING:
    from stepauth.provider.config import ClientConfig
    from stepauth.provider.state import ProviderState
    from stepauth.store import User

__all__ = [
    "ACCESS_TOKEN_ALG",
    "ID_TOKEN_ALGS",
    "AccessToken",
    "VerifiedAccessToken",
    "issue_refresh_token",
    "mint_access_token",
    "mint_id_token",
    "verify_access_token",
    "verify_id_token_hint",
    "verify_own_jwt",
]

#: ID Token signing algorithms (RS256 is mandatory, OIDC Core §15.1).
ID_TOKEN_ALGS = ("RS256", "ES256", "EdDSA", "Ed25519")
#: Access tokens are read by resource servers we do not know; RS256 is the one every JOSE
#: library verifies (RFC 9068 §2.1 requires asymmetric signing and forbids ``none``).
ACCESS_TOKEN_ALG = "RS256"
ACCESS_TOKEN_TYP = "at+jwt"
#: The ``typ`` of our ID Tokens (RFC 7519 §5.1); never an access token's ``at+jwt``.
ID_TOKEN_TYP = "JWT"
#: Claims only our access tokens carry (RFC 9068 §2.2); an ID Token has none of them.
ACCESS_TOKEN_ONLY_CLAIMS = ("client_id", "scope", "jti")


async def _sign(
    state: ProviderState, header: dict[str, Any], claims: dict[str, Any], alg: str
) -> str:
    """RFC 7515 compact JWS with the active key for ``alg`` (:func:`sign_compact`)."""
    kid, key = await state.keys.signing_key(alg)
    private = key.private_key
    if not isinstance(private, RSAPrivateKey | EllipticCurvePrivateKey | Ed25519PrivateKey):
        raise ServerError(f"the {alg} signing key has no private part")  # pragma: no cover
    try:
        return sign_compact({"alg": alg, "kid": kid, **header}, claims, private)
    except ValueError as exc:  # pragma: no cover - the key ring pairs keys with their alg
        raise ServerError(f"cannot sign with the {alg} key") from exc


async def mint_id_token(
    state: ProviderState,
    grant: Grant,
    *,
    client: ClientConfig,
    now: float,
    nonce: str | None = None,
    user: User | None = None,
) -> str:
    """Sign an ID Token for ``grant`` (OIDC Core §2, §3.1.3.6).

    ``auth_time`` is always present (OIDC Core §2, §3.1.2.1: required whenever ``max_age`` was
    sent or ``acr`` requested; always including it never harms). ``nonce`` only when the
    authorization request carried one (OIDC Core §2) —
    a refreshed ID Token has none (OIDC Core §12.2).
    """
    alg = client.id_token_signed_response_alg or "RS256"
    if alg not in ID_TOKEN_ALGS:
        raise ServerError(f"unsupported id_token_signed_response_alg {alg!r}")
    iat = int(now)
    claims: dict[str, Any] = {
        "iss": state.config.issuer,
        "sub": grant.sub,
        "aud": grant.client_id,
        "exp": iat + int(state.config.ttl.id_token),
        "iat": iat,
    }
    if grant.auth_time is not None:
        claims["auth_time"] = int(grant.auth_time)
    if grant.acr:
        claims["acr"] = grant.acr
    if grant.amr:
        claims["amr"] = list(grant.amr)
    if nonce is not None:
        claims["nonce"] = nonce
    if grant.sid:
        claims["sid"] = grant.sid
    extra = requested_claims(claims_member(grant, "id_token"), user, scopes=frozenset())
    claims.update(extra)
    return await _sign(state, {"typ": ID_TOKEN_TYP}, claims, alg)


@dataclass(frozen=True)
class AccessToken:
    """A minted access token with what the token response needs."""

    value: str
    jti: str
    expires_in: int
    claims: Mapping[str, Any]


async def mint_access_token(
    state: ProviderState,
    grant: Grant,
    *,
    now: float,
    audience: str | None = None,
    jkt: str | None = None,
) -> AccessToken:
    """Sign an RFC 9068 access token and record its ``jti`` under the grant.

    ``aud`` is ``audience``, the RFC 8707 resource the token is for; without one, the
    issuer (a token only this Provider's UserInfo endpoint accepts). ``client_id`` is
    always present (RFC 9068 §2.2).

    ``acr``/``amr``/``auth_time`` are the grant's, fixed at authentication time and never
    changed by a renewal (RFC 9470 §6.1). ``authorization_details`` and ``txn`` are present
    only when details were granted (RFC 9396 §9.1). ``jkt`` (a verified DPoP proof key's
    thumbprint) binds the token to that key: ``cnf.jkt`` (RFC 9449 §6.1).
    """
    iat = int(now)
    ttl = int(state.config.ttl.access_token)
    jti = secrets.token_urlsafe(24)
    claims: dict[str, Any] = {
        "iss": state.config.issuer,
        "sub": grant.sub,
        "aud": audience or state.config.issuer,
        "client_id": grant.client_id,
        "exp": iat + ttl,
        "iat": iat,
        "jti": jti,
        "scope": grant.scope,
    }
    if grant.auth_time is not None:
        claims["auth_time"] = int(grant.auth_time)
    if grant.acr:
        claims["acr"] = grant.acr
    if grant.amr:
        claims["amr"] = list(grant.amr)
    if grant.authorization_details:
        claims["authorization_details"] = [dict(d) for d in grant.authorization_details]
        if grant.txn:
            claims["txn"] = grant.txn
    if jkt is not None:
        claims["cnf"] = {"jkt": jkt}
    value = await _sign(state, {"typ": ACCESS_TOKEN_TYP}, claims, ACCESS_TOKEN_ALG)
    record = {
        "client_id": grant.client_id,
        "sub": grant.sub,
        "scope": grant.scope,
        "userinfo_claims": claims_member(grant, "userinfo"),
    }
    if jkt is not None:
        record["jkt"] = jkt
    await state.store.put(
        "access_token",
        jti,
        record,
        expires_at=float(iat + ttl),
        grant_id=grant.grant_id,
        user_id=grant.sub,
        sid=grant.sid,
    )
    return AccessToken(value=value, jti=jti, expires_in=ttl, claims=claims)


async def issue_refresh_token(state: ProviderState, grant: Grant, *, now: float) -> str:
    """A new single-use refresh token for ``grant``.

    The grant's absolute end (``grant.expires_at``, set at the first issue) never moves:
    rotation renews the token, not the user's consent.
    """
    expires_at = grant.expires_at
    if expires_at is None:
        expires_at = now + float(state.config.ttl.refresh_token)
        grant = Grant.from_json({**grant.to_json(), "expires_at": expires_at})
    token = secrets.token_urlsafe(32)
    await state.store.put(
        "refresh_token",
        sha256hex(token),
        grant.to_json(),
        expires_at=expires_at,
        grant_id=grant.grant_id,
        user_id=grant.sub,
        sid=grant.sid,
    )
    return token


#: Parsed published key sets by their kids (a kid is the key's RFC 7638 thumbprint, so the
#: same kids mean the same keys); parsing a JWKS costs about a millisecond per request.
_KEYSETS: dict[tuple[str, ...], KeySet] = {}
#: Our own JWTs verify under our ID-token algorithms only (access tokens are RS256).
_OWN_JWT: Final = Verifier(ID_TOKEN_ALGS)


def _own_keys(state: ProviderState) -> KeySet:
    jwks = state.keys.public_jwks()
    kids = tuple(sorted(str(key.get("kid")) for key in jwks["keys"]))
    cached = _KEYSETS.get(kids)
    if cached is None:
        if len(_KEYSETS) > 16:
            _KEYSETS.clear()
        try:
            cached = _KEYSETS[kids] = KeySet.from_jwks(jwks, strict=True)
        except JWKSError as exc:  # pragma: no cover - the key ring publishes what it made
            raise ServerError("the published key set cannot be read") from exc
    return cached


def verify_own_jwt(
    state: ProviderState, token: str, *, expected_typ: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify the signature of a JWT this Provider issued; returns (header, claims).

    Only our published keys and our ID-token algorithms are accepted; ``iss`` must be ours.
    Time claims are the caller's business (an ``id_token_hint`` may have expired).
    """
    try:
        jws_header, claims = _OWN_JWT.verify(token, _own_keys(state))
    except SDKError as exc:
        raise InvalidToken("token signature or format is invalid") from exc
    header = dict(jws_header.raw)
    if expected_typ is not None:
        typ = str(header.get("typ", "")).lower()
        if typ not in {expected_typ, f"application/{expected_typ}"}:
            raise InvalidToken(f"token type is not {expected_typ}")
    if claims.get("iss") != state.config.issuer:
        raise InvalidToken("token was not issued by this provider")
    return header, claims


def verify_id_token_hint(state: ProviderState, token: str) -> dict[str, Any]:
    """The claims of an ID Token this Provider issued, used as a hint (OIDC Core §3.1.2.1,
    RP-Initiated Logout §2); its expiry is not checked.

    An access token is signed with the same keys, so the signature alone does not say
    which kind a JWT is: the header ``typ`` must be ``JWT`` (ours are ``at+jwt``), no
    access-token claim may be present, and ``aud`` must name a registered client.
    """
    _, claims = verify_own_jwt(state, token, expected_typ=ID_TOKEN_TYP.lower())
    if any(name in claims for name in ACCESS_TOKEN_ONLY_CLAIMS):
        raise InvalidToken("token is not an ID Token")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if not audiences or any(
        not isinstance(a, str) or state.config.client(a) is None for a in audiences
    ):
        raise InvalidToken("ID Token audience is not a registered client")
    return claims


@dataclass(frozen=True)
class VerifiedAccessToken:
    """A valid access token: its claims and the server-side record of its ``jti``."""

    claims: Mapping[str, Any]
    record: Mapping[str, Any]


async def verify_access_token(
    state: ProviderState, token: str, *, now: float
) -> VerifiedAccessToken:
    """An access token's claims if it is ours, unexpired and not revoked (RFC 9068 §4).

    Revocation: the ``jti`` record disappears when the token is revoked or its grant is
    (a replayed code, a reused refresh token), so a lookup miss fails closed.
    """
    _, claims = verify_own_jwt(state, token, expected_typ=ACCESS_TOKEN_TYP)
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool) or exp <= now:
        raise InvalidToken("access token expired")
    jti = claims.get("jti")
    if not isinstance(jti, str):
        raise InvalidToken("access token has no jti")
    record = await state.store.get("access_token", jti, now=now)
    if record is None:
        raise InvalidToken("access token is revoked or unknown")
    if record.payload.get("client_id") != claims.get("client_id"):
        raise InvalidToken("access token record does not match")
    return VerifiedAccessToken(claims=claims, record=dict(record.payload))
