"""The authorization endpoint (OIDC Core §3.1.2), GET and POST, as one ordered table.

Each step is a small async function over one :class:`AuthorizationContext`; a step that
fails raises a :class:`~stepauth.provider.errors.ProviderError`. Errors raised once the
redirect_uri has been verified go back to the client (with ``state`` and ``iss``); before
that the user sees an error page (never an open redirect).

The PAR step (``request_uri``) runs right after the client check, because the pushed
request (RFC 9126 §4) is where redirect_uri, PKCE and everything else then come from; a
client's profile (FAPI 2.0: PAR only) is enforced next, then a signed request object by
value (RFC 9101 §6.3) takes the place of the parameters.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from stepauth.provider.authorize.acr_values import check_acr_values
from stepauth.provider.authorize.authorization_details import check_authorization_details
from stepauth.provider.authorize.claims import check_claims
from stepauth.provider.authorize.client import check_client
from stepauth.provider.authorize.conclude import conclude
from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.authorize.dpop_jkt import check_dpop_jkt
from stepauth.provider.authorize.id_token_hint import check_id_token_hint
from stepauth.provider.authorize.max_age import check_max_age
from stepauth.provider.authorize.parse import parse
from stepauth.provider.authorize.pkce import check_pkce
from stepauth.provider.authorize.profile import check_profile
from stepauth.provider.authorize.prompt import check_prompt
from stepauth.provider.authorize.redirect_uri import check_redirect_uri
from stepauth.provider.authorize.request_uri import (
    load_request_object,
    load_request_uri,
    refuse_request_uri,
)
from stepauth.provider.authorize.resource import check_resource
from stepauth.provider.authorize.response_type import check_response_type
from stepauth.provider.errors import ProviderError
from stepauth.provider.state import get_state

__all__ = ["STEPS", "authorize", "bind_redirect", "routes"]

Step = Callable[[AuthorizationContext], Awaitable[None]]

STEPS: tuple[Step, ...] = (
    parse,  # query (GET) or form (POST); no repeated parameters
    check_client,  # registered client_id
    load_request_uri,  # PAR: its client's, consumed once; adopt the pushed parameters
    check_profile,  # fapi2 clients: pushed requests only
    load_request_object,  # JAR by value: verified, used once; adopt its parameters
    check_redirect_uri,  # exact match; from here on errors redirect
    refuse_request_uri,  # a request_uri not from PAR: not supported (redirected)
    check_response_type,  # response_type=code; response_mode query | form_post; openid
    check_pkce,  # code_challenge with S256, every client
    check_dpop_jkt,  # RFC 9449 §10: the DPoP key that alone may redeem the code
    check_claims,  # claims parameter; essential acr; sub
    check_acr_values,  # known values in preference order, unknown ignored
    check_authorization_details,  # RFC 9396 registry; PAR-only clients
    check_resource,  # RFC 8707: an allowed resource, the access token's aud
    check_max_age,  # non-negative integer
    check_prompt,  # none | login; none alone
    check_id_token_hint,  # signed by us; its sub is the only acceptable user
)


def bind_redirect(exc: ProviderError, ctx: AuthorizationContext) -> ProviderError:
    """Let a redirectable error travel back to the verified redirect_uri."""
    if exc.redirectable and ctx.redirect_verified and ctx.redirect_uri is not None:
        exc.bind_redirect(ctx.redirect_uri, state=ctx.state, response_mode=ctx.response_mode)
    return exc


async def authorize(request: Request) -> Response:
    ctx = AuthorizationContext(http=request, provider=get_state(request))
    try:
        for step in STEPS:
            await step(ctx)
        return await conclude(ctx, request)
    except ProviderError as exc:
        raise bind_redirect(exc, ctx) from None


routes: list[BaseRoute] = [
    Route("/authorize", authorize, methods=["GET", "POST"], name="authorize"),
]
