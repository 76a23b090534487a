"""Step 11: ``prompt`` (OIDC Core §3.1.2.1).

``none`` with any other value is an error. Values we do not act on (``consent``,
``select_account``) are ignored (OIDC Core §3.1.2.1 (prompt): MAY ignore).
"""

from __future__ import annotations

from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.errors import InvalidRequest

__all__ = ["check_prompt"]


async def check_prompt(ctx: AuthorizationContext) -> None:
    values = list(dict.fromkeys(ctx.params.get("prompt", "").split()))
    if "none" in values and len(values) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other values")
    ctx.prompt = [v for v in values if v in ("none", "login")]
