"""Step 10: ``max_age``, a non-negative integer of seconds (OIDC Core §3.1.2.1).

``max_age=0`` is ``prompt=login`` (OIDC Core §3.1.2.1 (max_age)); see
``AuthorizationContext.prompt_login``.
"""

from __future__ import annotations

from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.errors import InvalidRequest

__all__ = ["check_max_age"]


async def check_max_age(ctx: AuthorizationContext) -> None:
    raw = ctx.params.get("max_age")
    if raw is None:
        return
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        raise InvalidRequest("max_age must be a non-negative integer")
    ctx.max_age = int(raw)
