"""Step 3: a pushed authorization request (RFC 9126 §4) replaces the front-channel ones.

The ``request_uri`` must belong to the client that presents it, checked *before* it is
consumed: otherwise anyone who saw another client's ``request_uri`` could burn it. It is
then consumed by one atomic store statement (single use, short expiry). Only the pushed
parameters count (§4: the AS "MUST only use the parameters contained in the pushed
request"). This step runs before the redirect_uri check because the pushed request carries
the redirect_uri.

Request objects (``request``) and any other ``request_uri`` are not supported; that error
is raised by :func:`refuse_request_objects` once the redirect_uri is verified, so it goes
back to the client with ``state`` and ``iss`` (OIDC Core §3.1.2.6, §6.1, §6.2).
"""

from __future__ import annotations

from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.errors import InvalidRequest, InvalidRequestUri

__all__ = ["PAR_PREFIX", "load_request_uri", "refuse_request_objects"]

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


async def refuse_request_objects(ctx: AuthorizationContext) -> None:
    """OIDC Core §6: request objects are not supported; PAR is the way to protect a request."""
    if "request" in ctx.params:
        raise InvalidRequest(
            "request objects are not supported; use PAR", error="request_not_supported"
        )
    if "request_uri" in ctx.params:
        raise InvalidRequest(
            "request_uri must come from the pushed authorization endpoint",
            error="request_uri_not_supported",
        )
