"""The interaction pages: ``/interaction/{uid}`` asks for the missing factor, then resumes.

GET shows why the Provider is asking (the login policy's reasons, in words) and offers
only the factors that can supply what :func:`stepauth.assurance.assess` reports missing
(the page itself is :mod:`stepauth.provider.interaction.page`).
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

from functools import partial
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from stepauth import audit
from stepauth.provider import i18n, jsonlimits
from stepauth.provider.authorize import bind_redirect
from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.authorize.interaction_start import INTERACTION_COOKIE, INTERACTION_TTL
from stepauth.provider.authorize.issue_code import issue_code
from stepauth.provider.authorize.login_decision import decide_login
from stepauth.provider.compare import constant_time_equal, sha256hex
from stepauth.provider.error_responses import provider_error_handler
from stepauth.provider.errors import (
    InvalidRequest,
    ProviderError,
)
from stepauth.provider.factors.base import (
    FactorRejected,
    Verified,
)
from stepauth.provider.factors.hold import active_factors
from stepauth.provider.factors.webauthn import begin_authentication
from stepauth.provider.friction import recorder as friction
from stepauth.provider.interaction.outcome import Refusal, Submission, verify_form
from stepauth.provider.interaction.page import (
    offered_factors,
    page_user,
    render_page,
    signed_in_as,
)
from stepauth.provider.login_policy import LoginDecision
from stepauth.provider.ops.metrics import step_up_abandoned, step_up_completed
from stepauth.provider.records import Interaction
from stepauth.provider.sessions import load_session, record_event, set_session_cookie
from stepauth.provider.state import ProviderState, get_state
from stepauth.provider.throttle import GENERIC_FAILURE

if TYPE_CHECKING:
    from stepauth.store import Session

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


def _refuse_other_subject(ctx: AuthorizationContext, verified: Verified) -> None:
    """OIDC Core §3.1.2.1 / §5.5.1: a token is issued for the requested ``sub`` only. A
    factor of anyone else is refused with the one generic message (RTS Art. 4(3)(a)),
    which never says that the factor itself was right."""
    if ctx.expected_sub is not None and verified.user.id != ctx.expected_sub:
        raise FactorRejected(GENERIC_FAILURE)


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
        session,
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
        user = page_user(ctx, loaded, decision)
        return await render_page(
            request,
            uid,
            interaction,
            ctx,
            decision,
            user,
            signed_in=signed_in_as(loaded, user),
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
        user = page_user(ctx, loaded, decision)
        signed_in = signed_in_as(loaded, user)
        offered = {
            p.kind: p for p in await offered_factors(ctx, user, decision, signed_in=signed_in)
        }
        plugin = offered.get(form.get("factor", ""))
        if plugin is None:
            raise InvalidRequest(i18n.N_("that sign-in method is not offered here"))
        submission = Submission(
            state=provider,
            client=audit.client_of(request),
            factor=plugin.kind,
            now=provider.clock(),
            reason=list(decision.reasons),
            client_id=ctx.client_id,
        )
        verified = await verify_form(
            submission,
            plugin,
            user,
            form,
            interaction_id=uid,
            context={"authorization_details": ctx.authorization_details, "nonce": ctx.nonce},
            check=partial(_refuse_other_subject, ctx),
            authorization_details=ctx.authorization_details,
            session_events=list(loaded[0].events) if signed_in and loaded else [],
        )
        refusal = verified if isinstance(verified, Refusal) else None
        await friction.factor_tried(ctx, uid, plugin.kind, refusal)
        if isinstance(verified, Refusal):
            return await render_page(
                request,
                uid,
                interaction,
                ctx,
                decision,
                user,
                signed_in=signed_in,
                refusal=verified,
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
    user = page_user(ctx, loaded, decision)
    offered = await offered_factors(ctx, user, decision, signed_in=signed_in_as(loaded, user))
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
