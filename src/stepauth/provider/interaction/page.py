"""What an interaction page shows: whose page it is, the factors it offers, the reasons
and the transaction it asks about.

:func:`page_user` decides which user the page may name (never one named only by the
request), :func:`offered_factors` the factors that can supply what
:func:`stepauth.assurance.assess` reports missing, and :func:`render_page` the page itself
(the login policy's reasons in words, held factors, the authorization details from the
Provider's own copy). The endpoints that show it are :mod:`.routes`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from stepauth.provider import i18n
from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.authorize.login_decision import available_plugins, can_approve
from stepauth.provider.errors import AccessDenied
from stepauth.provider.factors.base import FactorPlugin, FormView, useful
from stepauth.provider.factors.hold import active_factors, hold_text
from stepauth.provider.i18n.formatting import summary_wording
from stepauth.provider.interaction.asking import step_up_sentence
from stepauth.provider.interaction.outcome import Refusal
from stepauth.provider.interaction.render import factor_forms, render
from stepauth.provider.login_policy import REASON_TEXT, LoginDecision
from stepauth.provider.records import Interaction
from stepauth.provider.state import ProviderState
from stepauth.rar import render_summary

if TYPE_CHECKING:
    from stepauth.store import Session, User

__all__ = [
    "details_of",
    "held_notices",
    "offered_factors",
    "page_user",
    "render_page",
    "signed_in_as",
]


def page_user(
    ctx: AuthorizationContext, loaded: tuple[Session, User] | None, decision: LoginDecision
) -> User | None:
    """The user this page may name and whose factors it may offer: the signed-in user,
    when the request asks for that user or for nobody in particular.

    A ``sub`` named by the request alone (``claims``, ``id_token_hint``: values any
    relying party may hold) is never looked up for the page: without that user's
    session the page, the passkey options (discoverable, empty ``allowCredentials``)
    and every error look the same for every subject, known or not, and the subject is
    enforced once a factor has identified the user (``_refuse_other_subject`` in :mod:`.routes`).
    """
    if loaded is None or "no_session" in decision.reasons:
        return None
    user = loaded[1]
    if ctx.expected_sub is not None and ctx.expected_sub != user.id:
        return None
    return user


def signed_in_as(loaded: tuple[Session, User] | None, user: User | None) -> bool:
    return loaded is not None and user is not None and loaded[1].id == user.id


async def offered_factors(
    ctx: AuthorizationContext, user: User | None, decision: LoginDecision, *, signed_in: bool
) -> list[FactorPlugin]:
    """Factors that can supply what is missing.

    Without a session of this user the first factor must identify them (password,
    discoverable passkey): a user named only by an ``id_token_hint`` or ``sub`` request
    is not signed in by a one-time code alone.
    """
    plugins = await available_plugins(ctx, user)
    if not signed_in:
        plugins = [p for p in plugins if p.identifies]
    elif "binding_required" in decision.reasons and await can_approve(ctx, user):
        # Only an approval over the details themselves meets the binding (PSD2 dynamic
        # linking): offer the factors that bind (a passkey, which also brings phr).
        return [p for p in plugins if getattr(p, "binds", False)]
    if not decision.missing:
        return plugins
    factors = await ctx.provider.store.list_factors(user.id) if user is not None else []
    helpful = useful(plugins, active_factors(factors, ctx.provider.clock()), decision.missing)
    if not helpful and not signed_in:
        return plugins  # the user must first say who they are
    return helpful


async def render_page(
    request: Request,
    uid: str,
    interaction: Interaction,
    ctx: AuthorizationContext,
    decision: LoginDecision,
    user: User | None,
    *,
    signed_in: bool,
    refusal: Refusal | None = None,
) -> Response:
    offered = await offered_factors(ctx, user, decision, signed_in=signed_in)
    if not offered:
        raise AccessDenied(i18n.N_("no sign-in method is available for this account"))
    view = FormView(
        login_hint=ctx.login_hint,
        user=user,
        interaction_id=uid,
        authorization_details=ctx.authorization_details,
    )
    locked = refusal is not None and refusal.locked and user is not None
    reasons = list(decision.reasons) + (["factor_locked"] if locked else [])
    shown = [{"code": r, "text": REASON_TEXT[r]} for r in reasons]
    if user is not None and signed_in:
        shown += await held_notices(ctx.provider, user.id)
    details = details_of(ctx)
    step_up = user is not None and "no_session" not in decision.reasons
    if step_up and shown:
        # the notice opens with one sentence: why the page asks and what it asks for
        sentence = step_up_sentence(shown[0]["code"], [p.kind for p in offered])
        shown[0] = {"code": shown[0]["code"], "text": sentence or shown[0]["text"]}
    client_name = getattr(ctx.client, "client_name", None) or ctx.client_id
    return render(
        "interaction.html",
        {
            "title": i18n.N_("Confirm it is you") if step_up else i18n.N_("Sign in"),
            "reasons": shown,
            "client_name": client_name,
            "page_brand": request.app.state.branding.for_client(ctx.client, client_name),
            "details": details,
            "error": refusal.message if refusal is not None else None,
            "csrf": interaction.csrf,
            "action": str(request.url_for("interaction", uid=uid)),
            "options_url": str(request.url_for("interaction_webauthn", uid=uid)),
            **factor_forms(offered, view),
        },
        status_code=refusal.status_code if refusal is not None else 200,
    )


async def held_notices(provider: ProviderState, user_id: str) -> list[dict[str, str]]:
    """One line per factor of the user on hold (``factor_on_hold``), in words."""
    now = provider.clock()
    texts = [hold_text(f, now) for f in await provider.store.list_factors(user_id)]
    return [{"code": "factor_on_hold", "text": t} for t in texts if t]


def details_of(ctx: AuthorizationContext) -> list[list[tuple[str, str]]]:
    if not ctx.authorization_details:
        return []
    wording = summary_wording()
    return [render_summary(d, wording=wording) for d in ctx.authorization_details]
