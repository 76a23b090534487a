"""Step 3: a pushed request (RFC 9126 §4) or a signed request object (RFC 9101 §6.3)
replaces the front-channel parameters.

The ``request_uri`` must belong to the client that presents it, checked *before* it is
consumed: otherwise anyone who saw another client's ``request_uri`` could burn it. It is
then consumed by one atomic store statement (single use, short expiry). Only the pushed
parameters count (§4: the AS "MUST only use the parameters contained in the pushed
request"). This step runs before the redirect_uri check because the pushed request carries
the redirect_uri.

A request object by value (``request``, :func:`load_request_object`) is verified by
:mod:`stepauth.provider.request_object` and only its parameters count (RFC 9101 §6.3);
the outer ones, ``client_id`` aside, are dropped. Its errors go back to the outer
redirect_uri when that is exactly one the client registered, else to an error page.

Any other ``request_uri`` (by reference, RFC 9101 §5.2) is not supported; that error is
raised by :func:`refuse_request_uri` once the redirect_uri is verified, so it goes back to
the client with ``state`` and ``iss`` (OIDC Core §3.1.2.6, §6.2).
"""

from __future__ import annotations

from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.errors import InvalidRequest, InvalidRequestObject, InvalidRequestUri
from stepauth.provider.request_object import verify_request_object

__all__ = ["PAR_PREFIX", "load_request_object", "load_request_uri", "refuse_request_uri"]

PAR_PREFIX = "urn:ietf:params:oauth:request_uri:"


async def load_request_uri(ctx: AuthorizationContext) -> None:
    request_uri = ctx.params.get("request_uri")
    if request_uri is None or not request_uri.startswith(PAR_PREFIX):
        return
    store = ctx.provider.store
    now = ctx.provider.clock()
    # RFC 9126 §4: the request_uri is bound to its client; a look before the single atomic
    # consume keeps another client from using it up (the binding never changes).
    pending = await store.get("par", request_uri, now=now)
    if pending is not None and pending.payload.get("client_id") != ctx.client_id:
        raise InvalidRequestUri("request_uri was pushed by another client")
    consumed = await store.consume("par", request_uri, now=now)
    if consumed.status != "ok" or consumed.payload is None:
        raise InvalidRequestUri("request_uri is unknown, expired or already used")
    if consumed.payload.get("client_id") != ctx.client_id:
        raise InvalidRequestUri("request_uri was pushed by another client")
    pushed = {str(k): str(v) for k, v in dict(consumed.payload.get("params") or {}).items()}
    pushed.pop("request_uri", None)
    if pushed.get("client_id", ctx.client_id) != ctx.client_id:
        raise InvalidRequestUri("request_uri was pushed by another client")
    pushed["client_id"] = str(ctx.client_id)
    ctx.params = pushed
    ctx.pushed = True


async def load_request_object(ctx: AuthorizationContext) -> None:
    """RFC 9101 §6.3: a signed request object by value; only its parameters are used."""
    request_object = ctx.params.get("request")
    if request_object is None:
        return
    assert ctx.client is not None
    assert ctx.client_id is not None
    try:
        params = await verify_request_object(
            ctx.provider,
            ctx.client,
            request_object,
            expected_client_id=ctx.client_id,
            now=ctx.provider.clock(),
        )
    except InvalidRequestObject:
        # OIDC Core §3.1.2.6: the error goes back when the outer redirect_uri is one the
        # client registered (an exact match: never an open redirect), else to a page.
        outer = ctx.params.get("redirect_uri")
        if outer is not None and outer in ctx.client.redirect_uris:
            ctx.redirect_uri, ctx.state = outer, ctx.params.get("state")
        raise
    params["client_id"] = ctx.client_id
    ctx.params = params


async def refuse_request_uri(ctx: AuthorizationContext) -> None:
    """A ``request_uri`` not made by our PAR endpoint (RFC 9101 §5.2) is not fetched."""
    if "request_uri" in ctx.params:
        raise InvalidRequest(
            "request_uri must come from the pushed authorization endpoint",
            error="request_uri_not_supported",
        )
