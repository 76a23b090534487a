"""Step 4: the client's security profile (:mod:`stepauth.provider.profiles`).

A fapi2 client's authorization requests must come through PAR (FAPI 2.0 Security Profile
§5.3.2.2 item 3): anything else — plain query parameters, a request object by value — is
``invalid_request``, answered with an error page since none of its parameters, the
redirect_uri included, is trusted.
"""

from __future__ import annotations

from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.profiles.fapi2 import require_pushed

__all__ = ["check_profile"]


async def check_profile(ctx: AuthorizationContext) -> None:
    assert ctx.client is not None
    require_pushed(ctx.client, pushed=ctx.pushed)
