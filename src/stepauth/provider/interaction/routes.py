"""The interaction pages: ``/interaction/{uid}`` asks for the missing factor, then resumes.

GET shows why the Provider is asking (the login policy's reasons, in words) and offers
only the factors that can supply what :func:`stepauth.assurance.assess` reports missing.
POST verifies one factor form:

1. the interaction exists and this browser started it (a SameSite cookie bound to it);
2. the ``csrf`` field equals the interaction's token (OIDC Core §3.1.2.3; RFC 6749 §10.12, §10.13,
   NIST SP 800-63B-4 §5.1, §5.1.1): else 403;
3. the chosen factor is one the page offered;
4. an address over the per-IP limit is refused (HTTP 429); otherwise the plug-in
   verifies the submission under its per-user lockout (errors never say whether a
   username exists nor which factor failed, PSD2 RTS Art. 4(3)(a)); every attempt is
   audited with the address, user agent, client, reasons, method, credential and
   result, and a success also as a step-up with the acr before and after
   (:class:`stepauth.provider.interaction.outcome.Submission`);
5. the event is appended and the session id ROTATED (session fixation, ASVS 3.2.1);
6. the login policy runs again: satisfied → the authorization resumes and the code is
   issued; otherwise the page asks for the next missing factor.

``POST /interaction/{uid}/webauthn`` (JSON ``{"csrf": …}``, same browser binding) returns
the ``PublicKeyCredentialRequestOptions`` for the **Use passkey** button and keeps the
challenge server-side (:func:`stepauth.provider.factors.webauthn.begin_authentication`).

Transaction binding (docs/transaction-binding.md): when the request carries
``authorization_details`` the page renders them from the Provider's own copy
(:func:`stepauth.rar.render_summary`), the passkey challenge is derived from them, and a
verified approval's ``txn`` is kept on the interaction
(:attr:`stepauth.provider.records.Interaction.txn`) so the binding is asked once per
transaction and the code carries it to the tokens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from stepauth import audit
from stepauth.errors import FactorError
from stepauth.provider import i18n, jsonlimits
from stepauth.provider.authorize import bind_redirect
from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.authorize.interaction_start import INTERACTION_COOKIE, INTERACTION_TTL
from stepauth.provider.authorize.issue_code import issue_code
from stepauth.provider.authorize.login_decision import available_plugins, can_approve, decide_login
from stepauth.provider.compare import constant_time_equal, sha256hex
from stepauth.provider.error_responses import provider_error_handler
from stepauth.provider.errors import (
    AccessDenied,
    InvalidRequest,
    ProviderError,
)
from stepauth.provider.factors.base import (
    Attempt,
    FactorPlugin,
    FactorRejected,
    FormView,
    Verified,
    useful,
)
from stepauth.provider.factors.hold import active_factors, hold_text
from stepauth.provider.factors.webauthn import begin_authentication
from stepauth.provider.friction import recorder as friction
from stepauth.provider.i18n.formatting import summary_wording
from stepauth.provider.interaction.outcome import Refusal, Submission, verify_factor
from stepauth.provider.interaction.render import factor_forms, render
from stepauth.provider.login_policy import REASON_TEXT, LoginDecision
from stepauth.provider.ops.metrics import step_up_abandoned, step_up_completed
from stepauth.provider.records import Interaction
from stepauth.provider.sessions import load_session, record_event, set_session_cookie
from stepauth.provider.state import ProviderState, get_state
from stepauth.provider.throttle import GENERIC_FAILURE
from stepauth.rar import render_summary

if TYPE_CHECKING:
    from stepauth.store import Session, User

__all__ = ["routes"]


class Forbidden(ProviderError):
    """A form post that is not bound to this interaction (CSRF) — 403, never redirected."""

    error = "access_denied"
    status = 403
    redirectable = False


async def _load(
    request: Request, provider: ProviderState
) -> tuple[str, Interaction, AuthorizationContext]:
    uid = request.path_params["uid"]
    item = await provider.store.get(Interaction.KIND, uid, now=provider.clock())
    if item is None:
        step_up_abandoned("expired")
        raise InvalidRequest(i18n.N_("this sign-in request has expired; return to the application"))
    interaction = Interaction.from_payload(item.payload)
    cookie = request.cookies.get(INTERACTION_COOKIE, "")
    if not constant_time_equal(interaction.browser, sha256hex(cookie)):
        raise Forbidden(i18n.N_("this sign-in request was started in another browser"))
    ctx = AuthorizationContext.from_request_json(
        dict(interaction.request), http=request, provider=provider
    )
    if ctx.client is None or ctx.redirect_uri not in ctx.client.redirect_uris:
        raise InvalidRequest(i18n.N_("the client of this sign-in request is no longer registered"))
    i18n.prefer(ctx.ui_locales, provider.config.ui)
    return uid, interaction, ctx


def _page_user(
    ctx: AuthorizationContext, loaded: tuple[Session, User] | None, decision: LoginDecision
) -> User | None:
    """The user this page may name and whose factors it may offer: the signed-in user,
    when the request asks for that user or for nobody in particular.

    A ``sub`` named by the request alone (``claims``, ``id_token_hint``: values any
    relying party may hold) is never looked up for the page: without that user's
    session the page, the passkey options (discoverable, empty ``allowCredentials``)
    and every error look the same for every subject, known or not, and the subject is
    enforced once a factor has identified the user (:func:`_refuse_other_subject`).
    """
    if loaded is None or "no_session" in decision.reasons:
        return None
    user = loaded[1]
    if ctx.expected_sub is not None and ctx.expected_sub != user.id:
        return None
    return user


def _refuse_other_subject(ctx: AuthorizationContext, verified: Verified) -> None:
    """OIDC Core §3.1.2.1 / §5.5.1: a token is issued for the requested ``sub`` only. A
    factor of anyone else is refused with the one generic message (RTS Art. 4(3)(a)),
    which never says that the factor itself was right."""
    if ctx.expected_sub is not None and verified.user.id != ctx.expected_sub:
        raise FactorRejected(GENERIC_FAILURE)


def _signed_in(loaded: tuple[Session, User] | None, user: User | None) -> bool:
    return loaded is not None and user is not None and loaded[1].id == user.id


async def _offered(
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


async def _page(
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
    offered = await _offered(ctx, user, decision, signed_in=signed_in)
    if not offered:
        raise AccessDenied("no sign-in method is available for this account")
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
    details = _details(ctx)
    step_up = user is not None and "no_session" not in decision.reasons
    return render(
        "interaction.html",
        {
            "title": i18n.N_("Confirm it is you") if step_up else i18n.N_("Sign in"),
            "reasons": shown,
            "client_name": getattr(ctx.client, "client_name", None) or ctx.client_id,
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


def _details(ctx: AuthorizationContext) -> list[list[tuple[str, str]]]:
    if not ctx.authorization_details:
        return []
    wording = summary_wording()
    return [render_summary(d, wording=wording) for d in ctx.authorization_details]


async def _finish(
    request: Request,
    uid: str,
    ctx: AuthorizationContext,
    session: Session,
    decision: LoginDecision,
    interaction: Interaction,
) -> Response:
    assert decision.assessment is not None
    provider = ctx.provider
    await provider.store.delete(Interaction.KIND, uid)
    txn = interaction.txn
    response = await issue_code(
        provider,
        ctx,
        decision.assessment,
        sub=session.user_id,
        session_id=session.id,
        sid=session.sid,
        request=request,
        txn=str(txn) if txn else None,
    )
    response.delete_cookie(INTERACTION_COOKIE, path=f"/interaction/{uid}")
    step_up_completed(acr_values=ctx.acr_values, essential_acr=ctx.essential_acr)
    await friction.completed(ctx, uid, interaction, decision)
    return response


async def show(request: Request) -> Response:
    provider = get_state(request)
    uid, interaction, ctx = await _load(request, provider)
    try:
        loaded = await load_session(request, provider)
        decision = await decide_login(
            ctx, loaded, before=interaction.before, approved=interaction.txn is not None
        )
        if decision.satisfied and loaded is not None:
            return await _finish(request, uid, ctx, loaded[0], decision, interaction)
        user = _page_user(ctx, loaded, decision)
        return await _page(
            request,
            uid,
            interaction,
            ctx,
            decision,
            user,
            signed_in=_signed_in(loaded, user),
        )
    except ProviderError as exc:
        raise bind_redirect(exc, ctx) from None


async def submit(request: Request) -> Response:
    provider = get_state(request)
    uid, interaction, ctx = await _load(request, provider)
    form = {k: v for k, v in (await request.form()).multi_items() if isinstance(v, str)}
    if not constant_time_equal(interaction.csrf, form.get("csrf", "")):
        raise Forbidden(i18n.N_("the form is not valid for this sign-in request"))
    before = interaction.before
    try:
        loaded = await load_session(request, provider)
        decision = await decide_login(
            ctx, loaded, before=before, approved=interaction.txn is not None
        )
        user = _page_user(ctx, loaded, decision)
        signed_in = _signed_in(loaded, user)
        offered = {p.kind: p for p in await _offered(ctx, user, decision, signed_in=signed_in)}
        plugin = offered.get(form.get("factor", ""))
        if plugin is None:
            raise InvalidRequest("that sign-in method is not offered here")
        submission = Submission(
            state=provider,
            client=audit.client_of(request),
            factor=plugin.kind,
            now=provider.clock(),
            reason=list(decision.reasons),
            client_id=ctx.client_id,
        )
        refusal = await submission.throttled(user.id if user is not None else None)
        if refusal is None:
            factors = await provider.store.list_factors(user.id) if user is not None else []
            attempt = Attempt(
                state=provider,
                form=form,
                user=user,
                factors=factors,
                now=submission.now,
                interaction_id=uid,
                context={
                    "authorization_details": ctx.authorization_details,
                    "nonce": ctx.nonce,
                },
                client_id=ctx.client_id,
                authorization_details=ctx.authorization_details,
                session_events=list(loaded[0].events) if signed_in and loaded else [],
            )
            try:
                verified = await verify_factor(plugin, attempt)
                _refuse_other_subject(ctx, verified)
            except FactorError as exc:
                # Only a FactorRejected message is written for users; any other verifier
                # error gets the generic text (never which step failed, RTS Art. 4(3)(a)).
                refusal = await submission.refused(exc, user.id if user is not None else None)
            await friction.factor_tried(ctx, uid, plugin.kind, refusal)
        if refusal is not None:
            return await _page(
                request,
                uid,
                interaction,
                ctx,
                decision,
                user,
                signed_in=signed_in,
                refusal=refusal,
            )
        current = loaded[0] if loaded is not None else None
        session = await record_event(
            provider,
            current=current,
            user_id=verified.user.id,
            event=verified.event.to_json(),
        )
        same_user = current is not None and current.user_id == verified.user.id
        await submission.verified(
            verified,
            before=list(current.events) if current is not None and same_user else [],
            after=list(session.events),
        )
        if verified.txn is not None:
            # The bound approval belongs to this interaction: asked once per transaction.
            interaction = interaction.with_txn(verified.txn)
            await provider.store.put(
                Interaction.KIND,
                uid,
                interaction.to_payload(),
                expires_at=interaction.created_at + INTERACTION_TTL,
            )
    except ProviderError as exc:
        raise bind_redirect(exc, ctx) from None
    # From here the browser holds a new session id whatever happens next.
    try:
        decision = await decide_login(
            ctx, (session, verified.user), before=before, approved=interaction.txn is not None
        )
        if decision.satisfied:
            response = await _finish(request, uid, ctx, session, decision, interaction)
        else:
            response = RedirectResponse(
                str(request.url_for("interaction", uid=uid)), status_code=303
            )
    except ProviderError as exc:
        await provider.store.delete("interaction", uid)
        step_up_abandoned("error")
        await friction.ended(ctx, uid, exc)
        response = await provider_error_handler(request, bind_redirect(exc, ctx))
    set_session_cookie(response, provider, session.id)
    return response


async def webauthn_options(request: Request) -> Response:
    """Options for the **Use passkey** button; the challenge stays on the server.

    WebAuthn L3 §13.5.3: the server keeps the challenge it issued.
    """
    provider = get_state(request)
    uid, interaction, ctx = await _load(request, provider)
    try:
        body = await jsonlimits.request_json(request)
    except ValueError:
        body = None
    csrf = body.get("csrf") if isinstance(body, dict) else None
    if not isinstance(csrf, str) or not constant_time_equal(interaction.csrf, csrf):
        raise Forbidden("the request is not valid for this sign-in request")
    loaded = await load_session(request, provider)
    decision = await decide_login(
        ctx, loaded, before=interaction.before, approved=interaction.txn is not None
    )
    user = _page_user(ctx, loaded, decision)
    offered = await _offered(ctx, user, decision, signed_in=_signed_in(loaded, user))
    if not any(p.kind == "webauthn" for p in offered):
        return JSONResponse({"error": "a passkey is not offered here"}, status_code=400)
    stored = await provider.store.list_factors(user.id) if user is not None else []
    factors = active_factors(stored, provider.clock())  # a held key approves nothing here
    options = await begin_authentication(
        provider,
        interaction_id=uid,
        user=user,
        factors=factors,
        authorization_details=ctx.authorization_details,
        now=provider.clock(),
    )
    return JSONResponse({"publicKey": options.public_key}, headers={"cache-control": "no-store"})


routes: list[BaseRoute] = [
    Route("/interaction/{uid}", show, methods=["GET"], name="interaction"),
    Route(
        "/interaction/{uid}/webauthn",
        webauthn_options,
        methods=["POST"],
        name="interaction_webauthn",
    ),
    Route("/interaction/{uid}", submit, methods=["POST"], name="interaction_submit"),
]
