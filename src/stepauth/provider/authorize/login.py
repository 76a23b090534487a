"""Steps 13–14: run the login policy, then answer with a code or start an interaction.

``prompt=none`` never shows a page (OIDC-07/14): reasons about who is signed in
(``no_session``, ``prompt_login``, ``max_age``, ``id_token_hint_mismatch``) become
``login_required``; the rest ``interaction_required``. A requirement that no factor of
the user (or, before we know the user, no factor at all) can meet becomes
``unmet_authentication_requirements`` (OIDC-18) instead of a page that cannot succeed.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stepauth.assurance import AuthEvent
from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.authorize.respond import issue_code, sha256hex
from stepauth.provider.errors import (
    InteractionRequired,
    LoginRequired,
    UnmetAuthenticationRequirements,
)
from stepauth.provider.factors.base import FactorPlugin, capability_of
from stepauth.provider.factors.hold import active_factors
from stepauth.provider.login_policy import Decision, PolicyRequest, achievable, evaluate
from stepauth.provider.ops.logs import note_client
from stepauth.provider.ops.metrics import step_up_started
from stepauth.provider.records import Interaction
from stepauth.provider.sessions import load_session

if TYPE_CHECKING:
    from stepauth.store import Session, User

__all__ = [
    "INTERACTION_COOKIE",
    "INTERACTION_TTL",
    "LOGIN_REASONS",
    "available_plugins",
    "can_approve",
    "decide",
    "login",
    "policy_request",
]

INTERACTION_TTL = 600
INTERACTION_COOKIE = "stepauth_interaction"
LOGIN_REASONS = frozenset({"no_session", "prompt_login", "max_age", "id_token_hint_mismatch"})
ACR_REASONS = frozenset({"acr_not_met", "essential_acr"})


def policy_request(
    ctx: AuthorizationContext,
    session: Session | None,
    *,
    before: Sequence[Mapping[str, Any]] | None,
    approval_required: bool = False,
    approved: bool = False,
) -> PolicyRequest:
    provider = ctx.provider
    events = [AuthEvent.from_json(e) for e in session.events] if session is not None else []
    enforce = getattr(ctx.client, "acr_values", "required") != "voluntary"
    return PolicyRequest(
        events=events,
        session_sub=session.user_id if session is not None else None,
        now=provider.clock(),
        ladder=provider.ladder,
        prompt_login=ctx.prompt_login,
        max_age=ctx.max_age,
        acr_values=tuple(ctx.acr_values),
        enforce_acr_values=enforce,
        essential_acr=tuple(ctx.essential_acr),
        expected_sub=ctx.expected_sub,
        binding=ctx.authorization_details is not None,
        before=[AuthEvent.from_json(e) for e in before] if before is not None else None,
        approval_required=approval_required,
        approved=approved,
    )


async def can_approve(ctx: AuthorizationContext, user: User | None) -> bool:
    """Can ``user`` approve this request's ``authorization_details`` with a factor that
    binds them (a plug-in with ``binds = True``, i.e. an enrolled passkey)?"""
    if not ctx.authorization_details or user is None:
        return False
    return any(getattr(p, "binds", False) for p in await available_plugins(ctx, user))


async def available_plugins(ctx: AuthorizationContext, user: User | None) -> list[FactorPlugin]:
    """The user's enrolled factor kinds; before we know the user, those that identify.
    A factor on hold (:mod:`stepauth.provider.factors.hold`) is not offered for a step-up:
    it counts at most at the level the user already had when it was bound."""
    registry = ctx.provider.factors
    if user is None:
        return [p for p in registry if p.identifies]
    factors = await ctx.provider.store.list_factors(user.id)
    return registry.enrolled(user, active_factors(factors, ctx.provider.clock()))


async def check_meetable(ctx: AuthorizationContext, decision: Decision, user: User | None) -> None:
    """Fail with ``unmet_authentication_requirements`` when no available factor can help."""
    if user is not None and "binding_unavailable" in decision.reasons:
        raise UnmetAuthenticationRequirements(
            "approving these authorization_details needs a passkey, and this user has none"
        )
    if not ACR_REASONS & set(decision.reasons):
        return
    if user is None:
        capabilities = [p.capability for p in ctx.provider.factors]
    else:
        stored = await ctx.provider.store.list_factors(user.id)
        factors = active_factors(stored, ctx.provider.clock())
        capabilities = [
            capability_of(p, factors) for p in ctx.provider.factors.enrolled(user, factors)
        ]
    if not any(achievable(need, capabilities) for need in decision.missing):
        raise UnmetAuthenticationRequirements(
            "the requested authentication level cannot be met for this user"
        )


async def decide(
    ctx: AuthorizationContext,
    loaded: tuple[Session, User] | None,
    *,
    before: Sequence[Mapping[str, Any]] | None,
    approved: bool = False,
) -> Decision:
    """The policy's decision for ``loaded`` (session, user); raises the prompt=none and
    unmet errors. ``approved``: the interaction holds a bound approval of its details."""
    session, user = loaded if loaded is not None else (None, None)
    request = policy_request(
        ctx,
        session,
        before=before,
        approval_required=await can_approve(ctx, user),
        approved=approved,
    )
    decision = evaluate(request)
    if decision.satisfied:
        return decision
    if "none" in ctx.prompt:
        if LOGIN_REASONS & set(decision.reasons):
            raise LoginRequired("the user must sign in (prompt=none)")
        await check_meetable(ctx, decision, user)
        raise InteractionRequired("the request needs the user's interaction (prompt=none)")
    known = user
    if "id_token_hint_mismatch" in decision.reasons:
        known = None  # the session's user is not the one being asked for
    await check_meetable(ctx, decision, known)
    return decision


async def start_interaction(
    ctx: AuthorizationContext, request: Request, session: Session | None
) -> Response:
    provider = ctx.provider
    now = provider.clock()
    uid = secrets.token_urlsafe(24)
    browser = secrets.token_urlsafe(32)
    interaction = Interaction(
        request=ctx.request_json(),
        created_at=now,
        # the session's events now: prompt=login and bound requests need events beyond these
        before=list(session.events) if session is not None else [],
        csrf=secrets.token_urlsafe(32),
        browser=sha256hex(browser),
    )
    await provider.store.put(
        Interaction.KIND, uid, interaction.to_payload(), expires_at=now + INTERACTION_TTL
    )
    response = RedirectResponse(str(request.url_for("interaction", uid=uid)), status_code=303)
    # Binds the interaction to this browser: a login form posted from another site
    # (login CSRF) lacks this SameSite cookie, and a leaked interaction URL is useless.
    response.set_cookie(
        INTERACTION_COOKIE,
        browser,
        max_age=INTERACTION_TTL,
        path=f"/interaction/{uid}",
        httponly=True,
        secure=provider.config.issuer.startswith("https://"),
        samesite="lax",
    )
    return response


async def login(ctx: AuthorizationContext, request: Request) -> Response:
    """Answer from the session when the policy allows it, else hand over to an interaction."""
    note_client(ctx.client_id)
    loaded = await load_session(request, ctx.provider)
    decision = await decide(ctx, loaded, before=None)
    if decision.satisfied and loaded is not None and decision.assessment is not None:
        session = loaded[0]
        return await issue_code(
            ctx.provider,
            ctx,
            decision.assessment,
            sub=session.user_id,
            session_id=session.id,
            sid=session.sid,
            request=request,
        )
    step_up_started(decision.reasons, acr_values=ctx.acr_values, essential_acr=ctx.essential_acr)
    if ctx.authorization_details and loaded is not None:
        from stepauth.provider.authorize.authorization_details import bound_interaction

        # identical bound requests share one prompt (issue 6 item 3)
        return await bound_interaction(ctx, request, loaded, decision)
    return await start_interaction(ctx, request, loaded[0] if loaded is not None else None)
