"""Step 4: ``redirect_uri`` must equal one registered for the client, character for character.

RFC 6749 §3.1.2.3 / §10.6 and OIDC Core §3.1.2.1: exact string match, no prefix or
pattern. Until this step succeeds no error is ever redirected (open redirector, RFC 6749
§4.1.2.1); afterwards every redirectable error goes back to this URI with ``state``.
"""

from __future__ import annotations

from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.errors import InvalidRedirectUri

__all__ = ["check_redirect_uri"]


async def check_redirect_uri(ctx: AuthorizationContext) -> None:
    assert ctx.client is not None
    redirect_uri = ctx.params.get("redirect_uri")
    if redirect_uri is None:
        raise InvalidRedirectUri("redirect_uri is required")
    if redirect_uri not in ctx.client.redirect_uris:
        raise InvalidRedirectUri("redirect_uri is not registered for this client")
    ctx.state = ctx.params.get("state")
    ctx.redirect_uri = redirect_uri
