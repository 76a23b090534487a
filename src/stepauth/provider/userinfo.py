"""The UserInfo endpoint, ``GET``/``POST /userinfo`` (OIDC Core §5.3, RFC 6750).

The bearer access token must be one of ours: valid signature, ``typ: at+jwt`` (RFC 9068
§4), unexpired, not revoked, with scope ``openid``. The answer is ``sub`` plus the claims
of scope ``profile`` and of the ``userinfo`` member of the ``claims`` request (§5.5). Errors
carry ``WWW-Authenticate: Bearer error=…`` (RFC 6750 §3).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from stepauth.provider.client_auth import single_params
from stepauth.provider.errors import InsufficientScope, InvalidRequest, InvalidToken, ProviderError
from stepauth.provider.state import get_state
from stepauth.provider.token_minting import requested_claims, verify_access_token

__all__ = ["bearer_token", "routes", "userinfo_endpoint"]

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def bearer_token(request: Request) -> str:
    """The access token from the ``Authorization`` header or a form body (RFC 6750 §2.1-2.2)."""
    header = request.headers.get("authorization")
    from_body: str | None = None
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        from_body = single_params(await request.form()).get("access_token")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise InvalidRequest("Authorization must use the Bearer scheme")
        if from_body is not None:
            raise InvalidRequest("access token sent in more than one way")
        return value.strip()
    if from_body:
        return from_body
    raise InvalidToken("an access token is required")


def _challenge(exc: ProviderError) -> str:
    if exc.error == "invalid_token" and exc.description == "an access token is required":
        return 'Bearer realm="stepauth"'  # RFC 6750 §3.1: no error code without a token
    return f'Bearer realm="stepauth", error="{exc.error}"'


async def userinfo_endpoint(request: Request) -> JSONResponse:
    state = get_state(request)
    try:
        token = await bearer_token(request)
        verified = await verify_access_token(state, token, now=state.clock())
        scopes = frozenset(str(verified.claims.get("scope", "")).split())
        if "openid" not in scopes:
            raise InsufficientScope("the access token lacks scope openid")
    except (InvalidToken, InvalidRequest, InsufficientScope) as exc:
        exc.headers["WWW-Authenticate"] = _challenge(exc)
        raise
    sub = str(verified.claims["sub"])
    user = await state.store.get_user(sub)
    if user is None or user.disabled:
        raise InvalidToken(
            "the user of this token is no longer active",
            headers={"WWW-Authenticate": 'Bearer realm="stepauth", error="invalid_token"'},
        )
    member = verified.record.get("userinfo_claims")
    claims = requested_claims(member if isinstance(member, dict) else None, user, scopes=scopes)
    return JSONResponse({"sub": sub, **claims}, headers=NO_STORE)


routes: list[BaseRoute] = [Route("/userinfo", userinfo_endpoint, methods=["GET", "POST"])]
