"""Token introspection, ``POST /introspect`` (RFC 7662), with step-up members.

An active access token answers with the RFC 7662 §2.2 members plus ``acr``, ``amr`` and
``auth_time`` (RFC 9470 §6.2) and, when granted, ``authorization_details``
(RFC 9396 §9.2) and ``txn``; a DPoP-bound one ``token_type: DPoP`` and its ``cnf``
(RFC 9449 §6.2). Anything else — unknown, expired, revoked, malformed,
or a refresh token of another client — is just ``{"active": false}`` (§2.2: no reason given).

The caller is an authenticated *confidential* client (§2.1: "the endpoint MUST require
some form of authorization"; a public client proves nothing, and would turn the endpoint
into an oracle for stolen tokens): a client registered with ``none`` gets
``invalid_client``. Access tokens are introspectable by any confidential client (resource
servers register as clients); a refresh token only by the client it was issued to.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from stepauth.provider.client_auth import authenticate_client, form_params
from stepauth.provider.compare import sha256hex
from stepauth.provider.errors import InvalidClient, InvalidRequest, InvalidToken
from stepauth.provider.grant_record import Grant
from stepauth.provider.state import ProviderState, get_state
from stepauth.provider.token_minting import verify_access_token

__all__ = ["introspect", "routes"]

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
ACCESS_TOKEN_MEMBERS = (
    "scope",
    "client_id",
    "exp",
    "iat",
    "sub",
    "aud",
    "iss",
    "jti",
    "acr",
    "amr",
    "auth_time",
    "authorization_details",
    "txn",
)
INACTIVE: dict[str, Any] = {"active": False}


async def introspect(
    state: ProviderState, token: str, *, client_id: str, hint: str | None, now: float
) -> dict[str, Any]:
    """The RFC 7662 answer for ``token`` asked by ``client_id``."""
    order = (
        ("refresh_token", "access_token")
        if hint == "refresh_token"
        else ("access_token", "refresh_token")
    )
    for kind in order:
        answer = await (
            _access(state, token, now)
            if kind == "access_token"
            else _refresh(state, token, client_id=client_id, now=now)
        )
        if answer is not None:
            return answer
    return dict(INACTIVE)


async def _access(state: ProviderState, token: str, now: float) -> dict[str, Any] | None:
    if token.count(".") != 2:
        return None
    try:
        verified = await verify_access_token(state, token, now=now)
    except InvalidToken:
        return None
    # RFC 9449 §6.2: a DPoP-bound token says so, and names its key in cnf.jkt.
    bound = isinstance(verified.claims.get("cnf"), dict)
    body: dict[str, Any] = {"active": True, "token_type": "DPoP" if bound else "Bearer"}
    for name in ACCESS_TOKEN_MEMBERS:
        if name in verified.claims:
            body[name] = verified.claims[name]
    if bound:
        body["cnf"] = dict(verified.claims["cnf"])
    return body


async def _refresh(
    state: ProviderState, token: str, *, client_id: str, now: float
) -> dict[str, Any] | None:
    item = await state.store.get("refresh_token", sha256hex(token), now=now)
    if item is None or item.consumed_at is not None:
        # Absent, expired, revoked, or already rotated away: not active.
        return None
    grant = Grant.from_json(item.payload)
    if grant.client_id != client_id:
        return None
    body: dict[str, Any] = {
        "active": True,
        "token_type": "refresh_token",
        "client_id": grant.client_id,
        "sub": grant.sub,
        "scope": grant.scope,
        "iss": state.config.issuer,
    }
    if grant.expires_at is not None:
        body["exp"] = int(grant.expires_at)
    if grant.acr:
        body["acr"] = grant.acr
    if grant.amr:
        body["amr"] = list(grant.amr)
    if grant.auth_time is not None:
        body["auth_time"] = int(grant.auth_time)
    if grant.authorization_details:
        body["authorization_details"] = [dict(d) for d in grant.authorization_details]
        if grant.txn:
            body["txn"] = grant.txn
    return body


async def introspection_endpoint(request: Request) -> JSONResponse:
    state = get_state(request)
    params = await form_params(request)
    client = await authenticate_client(request, params, endpoint="/introspect")
    if client.method == "none":
        raise InvalidClient("introspection requires an authenticated confidential client")
    token = params.get("token")
    if not token:
        raise InvalidRequest("token is required")
    body = await introspect(
        state,
        token,
        client_id=client.client_id,
        hint=params.get("token_type_hint"),
        now=state.clock(),
    )
    return JSONResponse(body, headers=NO_STORE)


routes: list[BaseRoute] = [Route("/introspect", introspection_endpoint, methods=["POST"])]
