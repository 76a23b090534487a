"""Step 12: ``id_token_hint`` must be an ID token we issued (OIDC Core §3.1.2.1, §3.1.2.2).

Its signature is checked against our own published keys, its ``iss`` must be us and it
must be an ID Token — not an access token, which is signed by the same keys (see
:func:`~stepauth.provider.token_minting.verify_id_token_hint`); an expired hint is accepted
(OIDC Core §3.1.2.2). Its ``sub`` becomes the only user a token may be issued for: the login policy
re-authenticates that user or fails.
"""

from __future__ import annotations

from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.errors import InvalidRequest, InvalidToken
from stepauth.provider.token_minting import verify_id_token_hint

__all__ = ["check_id_token_hint"]


async def check_id_token_hint(ctx: AuthorizationContext) -> None:
    token = ctx.params.get("id_token_hint")
    if token is None:
        return
    try:
        claims = verify_id_token_hint(ctx.provider, token)
    except InvalidToken as exc:
        raise InvalidRequest("id_token_hint is not an ID token issued here") from exc
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise InvalidRequest("id_token_hint has no sub")
    if ctx.expected_sub is not None and ctx.expected_sub != sub:
        raise InvalidRequest("id_token_hint and claims name different users")
    ctx.expected_sub = sub
