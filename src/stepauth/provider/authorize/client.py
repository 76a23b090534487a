"""Step 2: the client must be registered. An unknown client never gets a redirect."""

from __future__ import annotations

from stepauth.provider.authorize.context import AuthorizationContext, find_client
from stepauth.provider.errors import InvalidClient, InvalidRequest

__all__ = ["check_client"]


async def check_client(ctx: AuthorizationContext) -> None:
    client_id = ctx.params.get("client_id")
    if not client_id:
        raise InvalidRequest("client_id is required")
    client = find_client(ctx.provider, client_id)
    if client is None:
        raise InvalidClient("unknown client_id")
    ctx.client = client
    ctx.client_id = client_id
