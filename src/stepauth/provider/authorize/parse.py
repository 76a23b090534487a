"""Step 1: read the parameters from the query (GET) or the form body (POST).

OIDC Core §3.1.2.1: both GET and POST. RFC 6749 §3.1: a parameter sent
without a value is treated as omitted; a parameter sent twice is an error.
"""

from __future__ import annotations

from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.errors import InvalidRequest

__all__ = ["MAX_PARAMETER_LENGTH", "parse"]

#: Longer values are refused before any parsing (claims JSON, authorization_details).
MAX_PARAMETER_LENGTH = 16_384


async def parse(ctx: AuthorizationContext) -> None:
    assert ctx.http is not None
    if ctx.http.method == "POST":
        form = await ctx.http.form()
        items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    else:
        items = list(ctx.http.query_params.multi_items())
    params: dict[str, str] = {}
    for name, value in items:
        if value == "":
            continue
        if name in params:
            raise InvalidRequest("a parameter must not be repeated")
        if len(value) > MAX_PARAMETER_LENGTH:
            raise InvalidRequest("a parameter is too long")
        params[name] = value
    ctx.params = params
