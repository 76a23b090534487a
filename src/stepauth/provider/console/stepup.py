"""``/admin/reauth``: the console's sign-in and its step-up before a change.

The ``/account`` re-authentication flow (:mod:`stepauth.provider.account.reauth`) with
the console's demand: without a session it offers the factors that identify (sign in);
with one, only what reaches ``phr``/``phrh`` — a passkey or a security key
(:data:`stepauth.provider.console.access.CHANGE_LEVELS`). The page says why it asks
(``?reason=`` names one of :data:`REASONS`, e.g. "Locking a user needs your passkey").
Throttling, audit (an attempt and a step-up with ``reason=admin_change``) and the
session id rotation are those of every factor form
(:func:`stepauth.provider.interaction.outcome.verify_step_up`); the step-up's friction
is recorded under the action ``admin_change`` (:mod:`stepauth.provider.friction.pages`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from stepauth import audit
from stepauth.provider import jsonlimits
from stepauth.provider.account.fresh import browser_id
from stepauth.provider.console.access import (
    browser_token,
    check_csrf,
    csrf_token,
    form_of,
    fresh_step_up,
    safe_next,
    set_browser_cookie,
)
from stepauth.provider.factors.base import FactorPlugin, FormView
from stepauth.provider.factors.hold import active_factors
from stepauth.provider.factors.webauthn import begin_authentication
from stepauth.provider.friction.pages import CONSOLE, page_prompt
from stepauth.provider.interaction.outcome import Refusal, Submission, verify_step_up
from stepauth.provider.interaction.render import factor_forms, render
from stepauth.provider.sessions import load_session, set_session_cookie
from stepauth.provider.state import ProviderState, get_state

if TYPE_CHECKING:
    from stepauth.store import Session, User

__all__ = ["REASONS", "reauth_page", "reauth_submit", "reauth_webauthn"]

#: Why the console asks for a passkey, by the ``reason`` of the change.
REASONS = {
    "lock": "Locking a user needs your passkey.",
    "unlock": "Unlocking a user needs your passkey.",
    "end_session": "Signing a user out needs your passkey.",
    "confirm_factor": "Confirming a sign-in method needs your passkey.",
    "rotate_keys": "Rotating the signing keys needs your passkey.",
}
CHANGE_TEXT = "Changes on the console need your passkey or security key."
SIGN_IN_TEXT = "Sign in to the operator console."
#: The factor plug-in that reaches ``phr``/``phrh``.
STRONG_KINDS = ("webauthn",)


def _offered(state: ProviderState, loaded: tuple[Session, User] | None) -> list[FactorPlugin]:
    if loaded is None:
        return [p for p in state.factors if p.identifies]
    return [p for p in state.factors if p.kind in STRONG_KINDS]


def _action(request: Request) -> str:
    query = {"next": safe_next(request.query_params.get("next"))}
    reason = request.query_params.get("reason", "")
    if reason in REASONS:
        query["reason"] = reason
    return "/admin/reauth?" + urlencode(query)


async def _page(
    request: Request,
    state: ProviderState,
    loaded: tuple[Session, User] | None,
    browser: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    user = loaded[1] if loaded is not None else None
    offered = _offered(state, loaded)
    await page_prompt(state, CONSOLE, loaded, browser, [p.kind for p in offered])
    reason = request.query_params.get("reason", "")
    text = SIGN_IN_TEXT if user is None else REASONS.get(reason, CHANGE_TEXT)
    response = render(
        "interaction.html",
        {
            "title": "Sign in" if user is None else "Confirm it is you",
            "reasons": [{"code": "admin_change" if user else "admin_sign_in", "text": text}],
            "client_name": None,
            "details": [],
            "error": error,
            "csrf": csrf_token(state, browser),
            "action": _action(request),
            "options_url": "/admin/reauth/webauthn",
            "recovery_link": None,
            **factor_forms(
                offered,
                FormView(login_hint=None, user=user, interaction_id=browser_id(browser)),
            ),
        },
        status_code=status_code,
    )
    set_browser_cookie(response, state, browser)
    return response


async def reauth_page(request: Request) -> Response:
    state = get_state(request)
    browser, _ = browser_token(request)
    return await _page(request, state, await load_session(request, state), browser)


async def reauth_webauthn(request: Request) -> Response:
    """Request options for **Use passkey** (challenge kept server-side, single use)."""
    state = get_state(request)
    try:
        body = await jsonlimits.request_json(request)
    except ValueError:
        body = None
    check_csrf(state, request, str(body.get("csrf", "")) if isinstance(body, dict) else "")
    browser, _ = browser_token(request)
    loaded = await load_session(request, state)
    user = loaded[1] if loaded else None
    if not any(p.kind == "webauthn" for p in _offered(state, loaded)):
        return JSONResponse({"error": "a passkey is not offered here"}, status_code=400)
    stored = await state.store.list_factors(user.id) if user is not None else []
    options = await begin_authentication(
        state,
        interaction_id=browser_id(browser),
        user=user,
        factors=active_factors(stored, state.clock()),
        authorization_details=None,
        now=state.clock(),
    )
    return JSONResponse({"publicKey": options.public_key}, headers={"cache-control": "no-store"})


async def reauth_submit(request: Request) -> Response:
    state = get_state(request)
    form = await form_of(request)
    browser, _ = browser_token(request)
    loaded = await load_session(request, state)
    kind = form.get("factor", "")
    submission = Submission(
        state=state,
        client=audit.client_of(request),
        factor=kind,
        now=state.clock(),
        reason="admin_change",
    )
    offered = _offered(state, loaded)
    prompt = await page_prompt(state, CONSOLE, loaded, browser, [p.kind for p in offered])
    result = await verify_step_up(
        submission,
        loaded,
        offered,
        form=form,
        interaction_id=browser_id(browser),
        purpose="admin",
    )
    if prompt is not None:
        await prompt.tried(kind, result if isinstance(result, Refusal) else None)
    if isinstance(result, Refusal):
        return await _page(
            request, state, loaded, browser, error=result.message, status_code=result.status_code
        )
    if prompt is not None and fresh_step_up(state, result.session) is not None:
        await prompt.completed(result.session)
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    set_session_cookie(response, state, result.session.id)
    set_browser_cookie(response, state, browser)
    return response
