"""Step 3: a pushed authorization request (RFC 9126 §4) replaces the front-channel ones.

The ``request_uri`` is consumed by one atomic store statement (single use, short
expiry) and must belong to the same client. Only the pushed parameters count (§4: the
AS "MUST only use the parameters contained in the pushed request"). This step runs
before the redirect_uri check because the pushed request carries the redirect_uri.
"""

from __future__ import annotations

from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.errors import InvalidRequest, InvalidRequestUri

__all__ = ["load_request_uri"]

PAR_PREFIX = "urn:ietf:params:oauth:request_uri:"


async def load_request_uri(ctx: AuthorizationContext) -> None:
    if "request" in ctx.params:
        raise InvalidRequest(
            "request objects are not supported; use PAR", error="request_not_supported"
        )
    request_uri = ctx.params.get("request_uri")
    if request_uri is None:
        return
    if not request_uri.startswith(PAR_PREFIX):
        raise InvalidRequestUri("request_uri must come from the pushed authorization endpoint")
    store = ctx.provider.store
    consumed = await store.consume("par", request_uri, now=ctx.provider.clock())
    if consumed.status != "ok" or consumed.payload is None:
        raise InvalidRequestUri(f"request_uri is {consumed.status}")
    if consumed.payload.get("client_id") != ctx.client_id:
        raise InvalidRequestUri("request_uri was pushed by another client")
    pushed = {str(k): str(v) for k, v in dict(consumed.payload.get("params") or {}).items()}
    pushed.pop("request_uri", None)
    if pushed.get("client_id", ctx.client_id) != ctx.client_id:
        raise InvalidRequestUri("request_uri was pushed by another client")
    pushed["client_id"] = str(ctx.client_id)
    ctx.params = pushed
    ctx.pushed = True
