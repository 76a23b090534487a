"""Step 5: ``response_type=code`` with ``response_mode`` query or form_post; ``openid`` scope.

An unsupported ``response_mode`` is answered without a redirect (OIDC Core §3.1.2.6): we would not
know how to deliver the error.
"""

from __future__ import annotations

from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.errors import InvalidRedirectUri, InvalidScope, UnsupportedResponseType

__all__ = ["RESPONSE_MODES", "check_response_type"]

RESPONSE_MODES = ("query", "form_post")


async def check_response_type(ctx: AuthorizationContext) -> None:
    mode = ctx.params.get("response_mode", "query")
    if mode not in RESPONSE_MODES:
        ctx.redirect_uri = None  # never deliver through an unknown mode
        raise InvalidRedirectUri("this response_mode is not supported")
    ctx.response_mode = mode
    response_type = ctx.params.get("response_type")
    if response_type != "code":
        raise UnsupportedResponseType("only response_type=code is supported")
    scope = ctx.params.get("scope", "")
    if "openid" not in scope.split():
        raise InvalidScope("the openid scope is required")
    ctx.scope = " ".join(dict.fromkeys(scope.split()))
    ctx.nonce = ctx.params.get("nonce")
    ctx.login_hint = ctx.params.get("login_hint")
    # OIDC Core §3.1.2.1: space-separated BCP 47 tags, most preferred first
    ctx.ui_locales = ctx.params.get("ui_locales", "").split()[:20]
