"""Pushed Authorization Requests, ``POST /par`` (RFC 9126).

The client authenticates (§2.1) and pushes the authorization request parameters; the
Provider validates what it can right away (§2.1: "the AS MUST validate the pushed request
as it would an authorization request"), stores them under a fresh
``urn:ietf:params:oauth:request_uri:…`` with a short lifetime (``config.ttl.par``, §2.2),
and answers ``201 {request_uri, expires_in}``. The front channel consumes the
``request_uri`` once at ``/authorize``.

A signed request object (``request``, RFC 9126 §3) is verified against the authenticated
client (:mod:`stepauth.provider.request_object`) and its parameters are the pushed ones
(RFC 9101 §6.3); outer authorization parameters are ignored. A fapi2 client that
registered ``request_object_signing_alg`` must send one (:mod:`stepauth.provider.profiles`).

Checked early: no ``request_uri`` inside a pushed request (§2.1), the
``client_id`` is the authenticated client's, an exact registered ``redirect_uri``,
``response_type=code``, PKCE S256, ``authorization_details`` against the type registry
(RFC 9396 §5 — pushing details is how they are protected from tampering, RFC 9396 §12), and
``resource`` (RFC 8707 §2: an absolute URI the client may ask for, else ``invalid_target``).
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from stepauth.provider import jsonlimits
from stepauth.provider.authorize.claims import parse_claims
from stepauth.provider.client_auth import (
    CLIENT_AUTH_PARAMS,
    AuthenticatedClient,
    authenticate_client,
    single_params,
)
from stepauth.provider.dpop import bind_pushed_request, nonce_headers
from stepauth.provider.errors import (
    InvalidAuthorizationDetails,
    InvalidRequest,
    UnsupportedResponseType,
)
from stepauth.provider.profiles.fapi2 import require_request_object
from stepauth.provider.request_object import verify_request_object
from stepauth.provider.resource import requested_resource
from stepauth.provider.state import ProviderState, get_state
from stepauth.rar import InvalidAuthorizationDetails as InvalidDetails
from stepauth.rar import default_registry

__all__ = ["REQUEST_URI_PREFIX", "push_authorization_request", "routes"]

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"


def validate_pushed_params(
    state: ProviderState, client: AuthenticatedClient, params: dict[str, str]
) -> dict[str, str]:
    """The authorization parameters to store, or the first error found (RFC 9126 §2.1)."""
    if "request_uri" in params:
        raise InvalidRequest("request_uri must not be pushed (RFC 9126 §2.1)")
    if params.get("client_id", client.client_id) != client.client_id:
        raise InvalidRequest("client_id does not match the authenticated client")
    pushed = {k: v for k, v in params.items() if k not in CLIENT_AUTH_PARAMS}
    pushed["client_id"] = client.client_id
    redirect_uri = pushed.get("redirect_uri")
    if not redirect_uri or redirect_uri not in client.client.redirect_uris:
        raise InvalidRequest("redirect_uri is missing or not registered for this client")
    if pushed.get("response_type") != "code":
        raise UnsupportedResponseType("response_type must be code")
    if not pushed.get("code_challenge"):
        raise InvalidRequest("code_challenge is required (PKCE)")
    if pushed.get("code_challenge_method") != "S256":
        raise InvalidRequest("code_challenge_method must be S256")
    if "claims" in pushed:
        # checked now, so a malformed or oversized claims value is never stored
        parse_claims(pushed["claims"])
    if "authorization_details" in pushed:
        _validate_details(pushed["authorization_details"])
    requested_resource(state.config, client.client, pushed.get("resource"))
    return pushed


def _validate_details(raw: str) -> None:
    try:
        details: Any = jsonlimits.loads(raw)
    except ValueError as exc:
        raise InvalidAuthorizationDetails("authorization_details is not valid JSON") from exc
    try:
        default_registry.validate(details)
    except InvalidDetails as exc:
        raise InvalidAuthorizationDetails.from_rar(exc) from exc


async def authorization_params(
    state: ProviderState, client: AuthenticatedClient, params: dict[str, str]
) -> dict[str, str]:
    """The pushed authorization parameters: the form's, or its request object's (RFC 9126
    §3: all authorization parameters "MUST appear as claims of the JWT")."""
    require_request_object(client.client, params)
    request_object = params.get("request")
    if request_object is None:
        return params
    if params.get("client_id", client.client_id) != client.client_id:
        raise InvalidRequest("client_id does not match the authenticated client")
    inner = await verify_request_object(
        state,
        client.client,
        request_object,
        expected_client_id=client.client_id,
        now=state.clock(),
    )
    return {**inner, "client_id": client.client_id}


async def push_authorization_request(
    state: ProviderState, client: AuthenticatedClient, params: dict[str, str]
) -> tuple[str, int]:
    """Store a validated pushed request; returns ``(request_uri, expires_in)``."""
    pushed = validate_pushed_params(
        state, client, await authorization_params(state, client, params)
    )
    expires_in = int(state.config.ttl.par)
    request_uri = REQUEST_URI_PREFIX + secrets.token_urlsafe(32)
    await state.store.put(
        "par",
        request_uri,
        {"client_id": client.client_id, "params": pushed},
        expires_at=state.clock() + expires_in,
    )
    return request_uri, expires_in


async def par_endpoint(request: Request) -> JSONResponse:
    state = get_state(request)
    params = single_params(await request.form())
    # RFC 9449 §10.1: a DPoP proof here binds the request (and its code) to the proof's key.
    params = await bind_pushed_request(request, state, params)
    client = await authenticate_client(request, params, endpoint="/par")
    request_uri, expires_in = await push_authorization_request(state, client, params)
    return JSONResponse(
        {"request_uri": request_uri, "expires_in": expires_in},
        status_code=201,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache", **nonce_headers(state)},
    )


routes: list[BaseRoute] = [Route("/par", par_endpoint, methods=["POST"])]
