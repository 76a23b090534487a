"""Step: ``resource`` (RFC 8707 §2), the API the access token will be for.

An absolute URI without a fragment, one the client is registered for or the Provider's
``default_resource``; anything else is ``invalid_target``, sent back to the client. The
checked value travels with the code to the token endpoint (see
:mod:`stepauth.provider.resource`).
"""

from __future__ import annotations

from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.resource import requested_resource

__all__ = ["check_resource"]


async def check_resource(ctx: AuthorizationContext) -> None:
    assert ctx.client is not None
    ctx.resource = requested_resource(ctx.provider.config, ctx.client, ctx.params.get("resource"))
