"""The UserInfo endpoint, ``GET``/``POST /userinfo`` (OIDC Core §5.3, RFC 6750, RFC 9449 §7).

The access token must be one of ours: valid signature, ``typ: at+jwt`` (RFC 9068 §4),
unexpired, not revoked, with scope ``openid``. The answer is ``sub`` plus the claims of
scope ``profile`` and of the ``userinfo`` member of the ``claims`` request (§5.5).

A Bearer token (RFC 6750 §2.1-2.2) comes in the ``Authorization`` header or a form body;
errors carry ``WWW-Authenticate: Bearer error=…`` (RFC 6750 §3). A DPoP-bound token
(``cnf.jkt``, RFC 9449 §6.1) comes only as ``Authorization: DPoP <token>`` with a
``DPoP`` proof for this request (``htm`` its method, ``htu`` the published UserInfo URL,
``ath`` the token's hash) by the key the token is bound to (§7.1); the same token
presented as Bearer is refused with ``WWW-Authenticate: DPoP error="invalid_token"``
(§7.2: a bound token must not be accepted as a bearer token). DPoP errors are 401 with a
``DPoP`` challenge listing the accepted algorithms (§7.1), and ``use_dpop_nonce`` with a
fresh ``DPoP-Nonce`` when nonces are required (§9).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from stepauth.provider.client_auth import single_params
from stepauth.provider.compare import constant_time_equal
from stepauth.provider.dpop import DPOP_ALGS, endpoint_url, proof_header, verify_proof
from stepauth.provider.errors import (
    InsufficientScope,
    InvalidDPoPProof,
    InvalidRequest,
    InvalidToken,
    ProviderError,
    UseDPoPNonce,
)
from stepauth.provider.grant_record import requested_claims
from stepauth.provider.state import ProviderState, get_state
from stepauth.provider.token_minting import VerifiedAccessToken, verify_access_token

__all__ = ["presented_token", "routes", "userinfo_endpoint"]

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class DPoPChallenge(ProviderError):
    """A DPoP error at a protected resource: 401 with its ``error`` (RFC 9449 §7.1, §9)."""

    status: ClassVar[int] = 401
    redirectable: ClassVar[bool] = False


async def presented_token(request: Request) -> tuple[str, str]:
    """The scheme (``bearer`` or ``dpop``) and the access token of the request.

    Bearer: the ``Authorization`` header or a form body (RFC 6750 §2.1-2.2); DPoP: the
    header only (RFC 9449 §7.1).
    """
    header = request.headers.get("authorization")
    from_body: str | None = None
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        from_body = single_params(await request.form()).get("access_token")
    if header is not None:
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if scheme not in ("bearer", "dpop") or not value.strip():
            raise InvalidRequest("Authorization must use the Bearer or DPoP scheme")
        if from_body is not None:
            raise InvalidRequest("access token sent in more than one way")
        return scheme, value.strip()
    if from_body:
        return "bearer", from_body
    raise InvalidToken("an access token is required")


def _bound_key(verified: VerifiedAccessToken) -> str | None:
    cnf = verified.claims.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, Mapping) else None
    return jkt if isinstance(jkt, str) else None


async def _check_binding(
    request: Request, state: ProviderState, scheme: str, token: str, verified: VerifiedAccessToken
) -> None:
    """RFC 9449 §7: a bound token only with a proof by its key; an unbound one as Bearer."""
    jkt = _bound_key(verified)
    if scheme == "bearer":
        if jkt is not None:
            raise DPoPChallenge("a DPoP-bound token must be sent with DPoP", error="invalid_token")
        return
    if jkt is None:
        raise DPoPChallenge("the access token is not DPoP-bound", error="invalid_token")
    try:
        proof = proof_header(request)
        if proof is None:
            raise InvalidDPoPProof("a DPoP proof is required with a DPoP-bound token")
        verified_proof = await verify_proof(
            state,
            proof,
            expected_htm=request.method,
            expected_htu=endpoint_url(state, "/userinfo"),
            now=state.clock(),
            access_token=token,
        )
    except (InvalidDPoPProof, UseDPoPNonce) as exc:
        raise DPoPChallenge(exc.description, error=exc.error, headers=exc.headers) from None
    if not constant_time_equal(verified_proof.jkt, jkt):
        raise DPoPChallenge(
            "the DPoP proof key is not the one the token is bound to", error="invalid_dpop_proof"
        )


def _challenge(exc: ProviderError, scheme: str) -> str:
    if scheme == "dpop" or isinstance(exc, DPoPChallenge):
        return f'DPoP error="{exc.error}", algs="{" ".join(DPOP_ALGS)}"'
    if exc.error == "invalid_token" and exc.description == "an access token is required":
        return 'Bearer realm="stepauth"'  # RFC 6750 §3.1: no error code without a token
    return f'Bearer realm="stepauth", error="{exc.error}"'


async def userinfo_endpoint(request: Request) -> JSONResponse:
    state = get_state(request)
    scheme = "bearer"
    try:
        scheme, token = await presented_token(request)
        verified = await verify_access_token(state, token, now=state.clock())
        await _check_binding(request, state, scheme, token, verified)
        scopes = frozenset(str(verified.claims.get("scope", "")).split())
        if "openid" not in scopes:
            raise InsufficientScope("the access token lacks scope openid")
    except (InvalidToken, InvalidRequest, InsufficientScope, DPoPChallenge) as exc:
        exc.headers["WWW-Authenticate"] = _challenge(exc, scheme)
        raise
    sub = str(verified.claims["sub"])
    user = await state.store.get_user(sub)
    if user is None or user.disabled:
        raise InvalidToken(
            "the user of this token is no longer active",
            headers={"WWW-Authenticate": _challenge(InvalidToken(), scheme)},
        )
    member = verified.record.get("userinfo_claims")
    claims = requested_claims(member if isinstance(member, dict) else None, user, scopes=scopes)
    return JSONResponse({"sub": sub, **claims}, headers=NO_STORE)


routes: list[BaseRoute] = [Route("/userinfo", userinfo_endpoint, methods=["GET", "POST"])]
