"""Step 13: the login policy's decision for a request, and the errors it implies.

``prompt=none`` never shows a page (OpenID Connect Core 1.0 §3.1.2.1): reasons about who
is signed in (``no_session``, ``prompt_login``, ``max_age``, ``id_token_hint_mismatch``)
become ``login_required``; the rest ``interaction_required``. A requirement that no factor of
the user (or, before we know the user, no factor at all) can meet becomes
``unmet_authentication_requirements`` (OpenID Connect Core Error Code
unmet_authentication_requirements 1.0) instead of a page that cannot succeed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stepauth.assurance import AuthEvent
from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.errors import (
    InteractionRequired,
    LoginRequired,
    UnmetAuthenticationRequirements,
)
from stepauth.provider.factors.base import FactorPlugin, capability_of
from stepauth.provider.factors.hold import active_factors
from stepauth.provider.login_policy import LoginDecision, PolicyRequest, achievable, evaluate_login
from stepauth.store import Session, User

__all__ = [
    "LOGIN_REASONS",
    "available_plugins",
    "can_approve",
    "check_meetable",
    "decide_login",
    "policy_request",
]

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


async def check_meetable(
    ctx: AuthorizationContext, decision: LoginDecision, user: User | None
) -> None:
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


async def decide_login(
    ctx: AuthorizationContext,
    loaded: tuple[Session, User] | None,
    *,
    before: Sequence[Mapping[str, Any]] | None,
    approved: bool = False,
) -> LoginDecision:
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
    decision = evaluate_login(request)
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
