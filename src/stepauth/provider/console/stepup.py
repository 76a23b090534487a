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

A signed-in user without the admin role gets the 403 of the rest of ``/admin``
(:class:`stepauth.provider.console.access.NotAnAdmin`) from the page, its form and its
passkey options alike, before a prompt is recorded or a factor verified: a step-up here
would open nothing for them, and their abandoned prompts would count as console friction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stepauth.provider.console.access import (
    CONSOLE_FORMS,
    check_admin,
    form_of,
    fresh_step_up,
    safe_next,
)
from stepauth.provider.factors.base import FactorPlugin
from stepauth.provider.friction.pages import CONSOLE
from stepauth.provider.interaction.outcome import Refusal
from stepauth.provider.sessions import load_session, set_session_cookie
from stepauth.provider.state import ProviderState, get_state
from stepauth.provider.stepup_pages import passkey_options, step_up_page, submit_step_up

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


async def _offered(state: ProviderState, loaded: tuple[Session, User] | None) -> list[FactorPlugin]:
    """The factors offered: those that identify for a sign-in, the strong ones to a signed-in
    admin; a signed-in non-admin is refused (:class:`NotAnAdmin`). The page, its form and
    its passkey options each ask this before recording a prompt or verifying a factor."""
    if loaded is None:
        return [p for p in state.factors if p.identifies]
    await check_admin(state, loaded[1])
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
    offered = await _offered(state, loaded)
    reason = request.query_params.get("reason", "")
    text = SIGN_IN_TEXT if user is None else REASONS.get(reason, CHANGE_TEXT)
    page = {
        "title": "Sign in" if user is None else "Confirm it is you",
        "reasons": [{"code": "admin_change" if user else "admin_sign_in", "text": text}],
        "error": error,
        "action": _action(request),
        "options_url": "/admin/reauth/webauthn",
        "recovery_link": None,
    }
    return await step_up_page(
        state,
        CONSOLE_FORMS,
        loaded,
        browser,
        offered,
        reason=CONSOLE,
        page=page,
        status_code=status_code,
    )


async def reauth_page(request: Request) -> Response:
    state = get_state(request)
    browser, _ = CONSOLE_FORMS.browser_token(request)
    return await _page(request, state, await load_session(request, state), browser)


async def reauth_webauthn(request: Request) -> Response:
    """Request options for **Use passkey** (challenge kept server-side, single use)."""
    return await passkey_options(request, CONSOLE_FORMS, _offered)


async def reauth_submit(request: Request) -> Response:
    state = get_state(request)
    form = await form_of(request)
    browser, _ = CONSOLE_FORMS.browser_token(request)
    loaded = await load_session(request, state)
    result, prompt = await submit_step_up(
        request,
        form,
        browser=browser,
        loaded=loaded,
        offered=await _offered(state, loaded),
        reason=CONSOLE,
        purpose="admin",
    )
    if isinstance(result, Refusal):
        return await _page(
            request, state, loaded, browser, error=result.message, status_code=result.status_code
        )
    if prompt is not None and fresh_step_up(state, result.session) is not None:
        await prompt.completed(result.session)
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    set_session_cookie(response, state, result.session.id)
    CONSOLE_FORMS.set_browser_cookie(response, state, browser)
    return response
