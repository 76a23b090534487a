"""Steps 13–14: run the login policy, then answer with a code or start an interaction.

The decision and the errors of ``prompt=none`` are
:mod:`stepauth.provider.authorize.login_decision`;
an interaction starts in :mod:`stepauth.provider.authorize.interaction_start`, or, for a bound
request of a signed-in user, reuses the prompt of an identical request
(:mod:`stepauth.provider.authorize.prompt_reuse`). Each answer, and each request refused as
unmeetable, is recorded for the friction report (:mod:`stepauth.provider.friction.recorder`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.authorize.interaction_start import start_interaction
from stepauth.provider.authorize.issue_code import issue_code
from stepauth.provider.authorize.login_decision import decide_login
from stepauth.provider.authorize.prompt_reuse import bound_interaction
from stepauth.provider.friction import recorder as friction
from stepauth.provider.login_policy import LoginDecision
from stepauth.provider.ops.logs import note_client
from stepauth.provider.ops.metrics import step_up_started
from stepauth.provider.sessions import load_session
from stepauth.store import Session, User

__all__ = ["conclude"]


async def conclude(ctx: AuthorizationContext, request: Request) -> Response:
    """Answer from the session when the policy allows it, else hand over to an interaction."""
    note_client(ctx.client_id)
    loaded = await load_session(request, ctx.provider)
    async with friction.refusals(ctx, loaded):
        decision = await decide_login(ctx, loaded, before=None)
    response = await _answer(ctx, request, loaded, decision)
    await friction.answered(ctx, loaded, decision, response)
    return response


async def _answer(
    ctx: AuthorizationContext,
    request: Request,
    loaded: tuple[Session, User] | None,
    decision: LoginDecision,
) -> Response:
    """A code from the session, or the prompt that asks for what is missing."""
    if decision.satisfied and loaded is not None and decision.assessment is not None:
        return await issue_code(ctx.provider, ctx, decision.assessment, loaded[0], request=request)
    step_up_started(decision.reasons, acr_values=ctx.acr_values, essential_acr=ctx.essential_acr)
    if ctx.authorization_details and loaded is not None:
        # identical bound requests share one prompt
        return await bound_interaction(ctx, request, loaded, decision)
    return await start_interaction(ctx, request, loaded[0] if loaded is not None else None)
