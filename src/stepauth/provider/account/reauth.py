"""``/account/reauth``: verify one fresh factor before a change on ``/account``.

The same factor plug-ins as the interaction pages, the same template, the same session
handling (:func:`stepauth.provider.sessions.record_event` appends the event and rotates
the session id). Without a session the page asks for a factor that identifies the user
(password, discoverable passkey), so it is also the sign-in of the account page.

* every form carries the account ``csrf`` token (403 otherwise);
* throttling and audit as on the interaction pages
  (:class:`stepauth.provider.interaction.outcome.Submission`): a failure shows
  :data:`stepauth.provider.throttle.GENERIC_FAILURE` whatever factor failed (PSD2 RTS
  Art. 4(3)(a)) and counts against the address; the plug-ins apply the per-user
  lockout; a success is audited as an attempt and as a step-up (acr before and
  after); a recovery code used here alerts the user out of band.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from stepauth import audit
from stepauth.errors import FactorError
from stepauth.provider.account.fresh import (
    browser_id,
    browser_token,
    check_csrf,
    csrf_token,
    safe_next,
    set_browser_cookie,
)
from stepauth.provider.factors.base import Attempt, FactorPlugin, FactorRejected, FormView
from stepauth.provider.factors.oob import notify
from stepauth.provider.interaction.outcome import Submission
from stepauth.provider.interaction.render import factor_forms, render
from stepauth.provider.sessions import load_session, record_event, set_session_cookie
from stepauth.provider.state import ProviderState, get_state
from stepauth.provider.throttle import GENERIC_FAILURE

if TYPE_CHECKING:
    from stepauth.store import Session, User

__all__ = ["reauth_page", "reauth_submit", "reauth_webauthn"]

CONFIRM_TEXT = "Please confirm it is you before changing how you sign in."


async def _offered(state: ProviderState, user: User | None) -> list[FactorPlugin]:
    if user is None:
        return [p for p in state.factors if p.identifies]
    factors = await state.store.list_factors(user.id)
    return state.factors.enrolled(user, factors)


async def _page(
    request: Request,
    state: ProviderState,
    user: User | None,
    browser: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    offered = await _offered(state, user)
    view = FormView(login_hint=None, user=user, interaction_id=browser_id(browser))
    next_path = safe_next(request.query_params.get("next"))
    response = render(
        "interaction.html",
        {
            "title": "Confirm it is you" if user is not None else "Sign in",
            "reasons": [{"code": "account_change", "text": CONFIRM_TEXT}],
            "client_name": None,
            "details": [],
            "error": error,
            "csrf": csrf_token(state, browser),
            "action": "/account/reauth?next=" + next_path,
            "options_url": "/account/reauth/webauthn",
            **factor_forms(offered, view),
        },
        status_code=status_code,
    )
    set_browser_cookie(response, state, browser)
    return response


async def reauth_page(request: Request) -> Response:
    state = get_state(request)
    loaded = await load_session(request, state)
    browser, _ = browser_token(request)
    return await _page(request, state, loaded[1] if loaded else None, browser)


async def reauth_webauthn(request: Request) -> Response:
    """Request options for the **Use passkey** button of this page (challenge kept
    server-side under this browser's id, single use, UV required)."""
    from stepauth.provider.factors.webauthn import begin_authentication

    state = get_state(request)
    try:
        body = await request.json()
    except ValueError:
        body = None
    check_csrf(state, request, str(body.get("csrf", "")) if isinstance(body, dict) else "")
    browser, _ = browser_token(request)
    loaded = await load_session(request, state)
    user = loaded[1] if loaded else None
    if not any(p.kind == "webauthn" for p in await _offered(state, user)):
        return JSONResponse({"error": "a passkey is not offered here"}, status_code=400)
    factors = await state.store.list_factors(user.id) if user is not None else []
    options = await begin_authentication(
        state,
        interaction_id=browser_id(browser),
        user=user,
        factors=factors,
        authorization_details=None,
        now=state.clock(),
    )
    return JSONResponse({"publicKey": options.public_key}, headers={"cache-control": "no-store"})


async def reauth_submit(request: Request) -> Response:
    state = get_state(request)
    form = {k: v for k, v in (await request.form()).multi_items() if isinstance(v, str)}
    check_csrf(state, request, form.get("csrf", ""))
    browser, _ = browser_token(request)
    loaded = await load_session(request, state)
    session: Session | None = loaded[0] if loaded else None
    user: User | None = loaded[1] if loaded else None
    kind = form.get("factor", "")
    submission = Submission(
        state=state,
        client=audit.client_of(request),
        factor=kind,
        now=state.clock(),
        reason="account_change",
    )
    refusal = await submission.throttled(user.id if user is not None else None)
    if refusal is not None:
        return await _page(
            request, state, user, browser, error=refusal.message, status_code=refusal.status_code
        )
    plugin = next((p for p in await _offered(state, user) if p.kind == kind), None)
    factors = await state.store.list_factors(user.id) if user is not None else []
    try:
        if plugin is None:
            raise FactorRejected(GENERIC_FAILURE)
        verified = await plugin.verify(
            Attempt(
                state=state,
                form=form,
                user=user,
                factors=factors,
                now=submission.now,
                interaction_id=browser_id(browser),
                context={"purpose": "account"},
            )
        )
        if user is not None and verified.user.id != user.id:
            raise FactorRejected(GENERIC_FAILURE)
    except FactorError as exc:
        refusal = await submission.refused(exc, user.id if user is not None else None)
        return await _page(
            request, state, user, browser, error=refusal.message, status_code=refusal.status_code
        )
    before = list(session.events) if session is not None else []
    new_session = await record_event(
        state, current=session, user_id=verified.user.id, event=verified.event.to_json()
    )
    await submission.verified(verified, before=before, after=list(new_session.events))
    if kind == "recovery":
        # issue 4 §3: using a recovery code alerts the user.
        await notify(
            state,
            verified.user.id,
            "A recovery code was used to confirm it is you. If this was not you, contact support.",
        )
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    set_session_cookie(response, state, new_session.id)
    set_browser_cookie(response, state, browser)
    return response
