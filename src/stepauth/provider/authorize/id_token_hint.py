"""Step 12: ``id_token_hint`` must be an ID token we issued (OIDC Core §3.1.2.1, OIDC-09/12).

Its signature is checked against our own published keys and its ``iss`` must be us; an
expired hint is accepted (OIDC-12). Its ``sub`` becomes the only user a token may be
issued for (OIDC-11): the login policy re-authenticates that user or fails.
"""

from __future__ import annotations

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.errors import InvalidRequest

__all__ = ["check_id_token_hint", "hint_subject"]

ALGORITHMS = ["RS256", "ES256", "EdDSA"]


def hint_subject(token: str, *, jwks: dict[str, object], expected_issuer: str) -> str:
    """The ``sub`` of an ID token signed by one of ``jwks``; expiry is not checked."""
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidRequest("id_token_hint is not an ID token issued here") from exc
    claims = decoded.claims
    if claims.get("iss") != expected_issuer:
        raise InvalidRequest("id_token_hint was issued by someone else")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise InvalidRequest("id_token_hint has no sub")
    return sub


async def check_id_token_hint(ctx: AuthorizationContext) -> None:
    token = ctx.params.get("id_token_hint")
    if token is None:
        return
    sub = hint_subject(
        token,
        jwks=ctx.provider.keys.public_jwks(now=ctx.provider.clock()),
        expected_issuer=ctx.provider.config.issuer,
    )
    if ctx.expected_sub is not None and ctx.expected_sub != sub:
        raise InvalidRequest("id_token_hint and claims name different users")
    ctx.expected_sub = sub
