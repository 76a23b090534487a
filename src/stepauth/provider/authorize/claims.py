"""Step 7: the ``claims`` parameter (OIDC Core §5.5, §5.5.1, §5.5.1.1).

A JSON object whose ``id_token`` and ``userinfo`` members map claim names to ``null`` or
``{"essential": bool, "value": …, "values": […]}``. Other members are ignored (OIDC Core §5.5).
``acr`` requested as essential for the ID token with ``value`` or ``values`` must be met
or the request fails with ``unmet_authentication_requirements`` (OIDC Core §5.5.1.1); a voluntary
``acr`` request with values is treated like ``acr_values`` (OIDC Core §5.5.1.1). A ``sub`` value
names the only user a token may be issued for (OIDC Core §3.1.2.2, §5.5.1).
"""

from __future__ import annotations

from typing import Any

from stepauth.provider import jsonlimits
from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.errors import InvalidRequest

__all__ = ["check_claims", "parse_claims"]

MEMBERS = ("id_token", "userinfo")


def parse_claims(raw: str) -> dict[str, Any]:
    """Parse and check the shape of a ``claims`` value; raise ``invalid_request`` if malformed."""
    try:
        claims = jsonlimits.loads(raw)
    except ValueError as exc:
        raise InvalidRequest(f"claims is not valid JSON ({exc})") from None
    if not isinstance(claims, dict):
        raise InvalidRequest("claims must be a JSON object")
    for member in MEMBERS:
        requested = claims.get(member)
        if requested is None:
            continue
        if not isinstance(requested, dict):
            raise InvalidRequest(f"claims.{member} must be an object")
        for spec in requested.values():
            if spec is None:
                continue
            if not isinstance(spec, dict):
                raise InvalidRequest(f"each claims.{member} member must be null or an object")
            if not isinstance(spec.get("essential", False), bool):
                raise InvalidRequest(f"essential in claims.{member} must be a boolean")
            if "values" in spec and not isinstance(spec["values"], list):
                raise InvalidRequest(f"values in claims.{member} must be an array")
    return claims


def _values(spec: dict[str, Any], where: str) -> list[str]:
    values: list[Any] = []
    if "value" in spec:
        values.append(spec["value"])
    values.extend(spec.get("values", []))
    if not all(isinstance(v, str) and v for v in values):
        raise InvalidRequest(f"{where} values must be non-empty strings")
    return [str(v) for v in values]


async def check_claims(ctx: AuthorizationContext) -> None:
    raw = ctx.params.get("claims")
    if raw is None:
        return
    claims = parse_claims(raw)
    ctx.claims = claims
    id_token = claims.get("id_token") or {}
    acr = id_token.get("acr")
    if isinstance(acr, dict):
        values = _values(acr, "claims.id_token.acr")
        if acr.get("essential") is True and values:
            ctx.essential_acr = values
        elif values:
            ctx.params.setdefault("acr_values", " ".join(values))
    for member in MEMBERS:
        sub = (claims.get(member) or {}).get("sub")
        if isinstance(sub, dict) and "value" in sub:
            wanted = sub["value"]
            if not isinstance(wanted, str) or (ctx.expected_sub not in (None, wanted)):
                raise InvalidRequest("conflicting sub values requested")
            ctx.expected_sub = wanted
