"""Step 9: ``authorization_details`` (RFC 9396 §2, §5) checked against the type registry.

Unknown types or fields → ``invalid_authorization_details``. A client registered with
``require_par_for_authorization_details`` must push them (RFC 9396 §10, integrity of the
details: a front-channel URL can be altered by anyone who handles it).

An identical bound request reuses the one prompt: :mod:`stepauth.provider.authorize.prompt_reuse`.
"""

from __future__ import annotations

from typing import Any

from stepauth.provider import jsonlimits
from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.errors import InvalidAuthorizationDetails, InvalidRequest
from stepauth.rar import InvalidAuthorizationDetails as RarInvalid
from stepauth.rar import Registry, default_registry

__all__ = ["check_authorization_details"]


def _validate(details: Any) -> list[dict[str, Any]]:
    registry = default_registry if isinstance(default_registry, Registry) else default_registry()
    try:
        return [dict(d) for d in registry.validate(details)]
    except RarInvalid as exc:
        raise InvalidAuthorizationDetails.from_rar(exc) from None


async def check_authorization_details(ctx: AuthorizationContext) -> None:
    raw = ctx.params.get("authorization_details")
    if raw is None:
        return
    assert ctx.client is not None
    if not ctx.pushed and getattr(ctx.client, "require_par_for_authorization_details", False):
        raise InvalidRequest("this client must send authorization_details through PAR")
    try:
        details = jsonlimits.loads(raw)
    except ValueError as exc:
        raise InvalidAuthorizationDetails(
            f"authorization_details is not valid JSON ({exc})"
        ) from None
    if not isinstance(details, list) or not details:
        raise InvalidAuthorizationDetails("authorization_details must be a non-empty array")
    ctx.authorization_details = _validate(details)
