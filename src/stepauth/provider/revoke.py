"""Token revocation, ``POST /revoke`` (RFC 7009).

The client authenticates (§2.1) and names a token. Revoking a refresh token revokes its
whole grant — every access token issued from it stops working (§2.1: "If the token passed
to the request is a refresh token ... the authorization server SHOULD also invalidate all
access tokens based on the same authorization grant"). Revoking an access token ends that
token.

§2.1: the server "verifies whether the token was issued to the client making the
revocation request. If this validation fails, the request is refused and the client is
informed of the error": a token of another client is answered ``invalid_request`` (400) and
stays active. Unknown, expired or malformed tokens are answered 200 (§2.2: "invalid tokens
do not cause an error").
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from stepauth.provider.client_auth import authenticate_client, form_params
from stepauth.provider.compare import sha256hex
from stepauth.provider.errors import InvalidRequest, InvalidToken
from stepauth.provider.grants import revoke_grant
from stepauth.provider.state import ProviderState, get_state
from stepauth.provider.token_minting import verify_own_jwt

__all__ = ["revoke", "routes"]

#: RFC 7009 §2.1: the token was not issued to the requesting client.
NOT_YOURS = "the token was not issued to this client"


async def revoke(state: ProviderState, token: str, *, client_id: str, now: float) -> bool:
    """Revoke ``token``; True when something was revoked, False for a token we do not know.

    Raises ``invalid_request`` (and revokes nothing) when ``client_id`` is not
    the client the token was issued to.
    """
    item = await state.store.get("refresh_token", sha256hex(token), now=now)
    if item is not None:
        if item.payload.get("client_id") != client_id:
            raise InvalidRequest(NOT_YOURS)
        grant_id = item.payload.get("grant_id")
        if grant_id:
            await revoke_grant(state, str(grant_id))
        await state.store.delete("refresh_token", sha256hex(token))
        return True
    if token.count(".") != 2:
        return False
    try:
        _, claims = verify_own_jwt(state, token, expected_typ="at+jwt")
    except InvalidToken:
        return False
    jti = claims.get("jti")
    if not isinstance(jti, str):
        return False
    if claims.get("client_id") != client_id:
        raise InvalidRequest(NOT_YOURS)
    await state.store.delete("access_token", jti)
    return True


async def revocation_endpoint(request: Request) -> Response:
    state = get_state(request)
    params = await form_params(request)
    client = await authenticate_client(request, params, endpoint="/revoke")
    token = params.get("token")
    if not token:
        raise InvalidRequest("token is required")
    await revoke(state, token, client_id=client.client_id, now=state.clock())
    return Response(status_code=200, headers={"Cache-Control": "no-store"})


routes: list[BaseRoute] = [Route("/revoke", revocation_endpoint, methods=["POST"])]
