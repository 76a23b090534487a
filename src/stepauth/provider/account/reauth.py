"""``/account/reauth``: the step-up at the binding level before a change on ``/account``.

The same factor plug-ins as the interaction pages, the same template, the same session
handling (:func:`stepauth.provider.sessions.record_event` appends the event and rotates
the session id). Without a session the page asks for a factor that identifies the user
(password, discoverable passkey), so it is also the sign-in of the account page.

With a session it offers exactly what is missing for the account's binding level
(NIST SP 800-63B-4 §6.1.2.1, :mod:`stepauth.provider.account.binding`): the ``Need``
values of :func:`stepauth.assurance.binding_step_up` filtered with
:func:`stepauth.provider.factors.base.useful`, as the sign-in page does with the login
policy's. A passkey account is asked for a passkey, never for its password. Its
``?mode=recovery`` variant (linked when the account has recovery codes) asks for a
recovery code and the password: enough to *add* a replacement, which goes on hold.

* every form carries the account ``csrf`` token (403 otherwise);
* throttling and audit as on the interaction pages
  (:func:`stepauth.provider.interaction.outcome.verify_step_up`): a failure shows
  :data:`stepauth.provider.throttle.GENERIC_FAILURE` whatever factor failed (PSD2 RTS
  Art. 4(3)(a)) and counts against the address; the plug-ins apply the per-user
  lockout; a success is audited as an attempt and as a step-up (acr before and
  after); a recovery code used here alerts the user out of band;
* friction: the step-up of a signed-in user is recorded under the action
  ``account_change`` (:mod:`stepauth.provider.friction.pages`), complete once the
  session holds the binding level (or, on the recovery variant, both halves).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stepauth.assurance import recovery_step_up
from stepauth.provider.account.binding import authority, binding_factors
from stepauth.provider.account.fresh import (
    ACCOUNT_FORMS,
    reauth_url,
    safe_next,
)
from stepauth.provider.factors.base import FactorPlugin, useful
from stepauth.provider.factors.hold import active_factors
from stepauth.provider.friction.pages import ACCOUNT
from stepauth.provider.i18n import N_, gettext
from stepauth.provider.interaction.outcome import Refusal
from stepauth.provider.interaction.page import held_notices
from stepauth.provider.notices import notify
from stepauth.provider.sessions import load_session, set_session_cookie
from stepauth.provider.state import ProviderState, get_state
from stepauth.provider.stepup_pages import passkey_options, step_up_page, submit_step_up

if TYPE_CHECKING:
    from stepauth.store import Session, User

__all__ = ["reauth_page", "reauth_submit", "reauth_webauthn"]

CONFIRM_TEXT = N_(
    "Please confirm it is you before changing how you sign in, with your strongest way to sign in."
)
RECOVERY_TEXT = N_(
    "Lost your strongest way to sign in? Your password and a recovery code let you add a "
    "replacement. It stays on hold for a while, and we tell you about it."
)
RECOVERY_KINDS = ("recovery", "password")


def _recovery(request: Request) -> bool:
    return request.query_params.get("mode") == "recovery"


async def _offered(
    state: ProviderState,
    loaded: tuple[Session, User] | None,
    *,
    recovery: bool = False,
) -> list[FactorPlugin]:
    """Without a session, the factors that identify; on the recovery variant, a recovery
    code and the password; else what is missing for the binding level."""
    if loaded is None:
        return [p for p in state.factors if p.identifies]
    session, user = loaded
    factors = await state.store.list_factors(user.id)
    if recovery:
        enrolled = state.factors.enrolled(user, active_factors(factors, state.clock()))
        return [p for p in enrolled if p.kind in RECOVERY_KINDS]
    plugins, active = binding_factors(state, user, factors)
    needs = (await authority(state, session, user)).missing
    return (useful(plugins, active, needs) if needs else None) or plugins


async def _recovery_link(state: ProviderState, user: User, next_path: str) -> str | None:
    """The recovery variant's address, when the user has recovery codes."""
    factors = await state.store.list_factors(user.id)
    if not any(f.kind == "recovery" and not f.disabled for f in factors):
        return None
    return reauth_url(next_path, recovery=True)


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
    recovery = _recovery(request) and user is not None
    offered = await _offered(state, loaded, recovery=recovery)
    next_path = safe_next(request.query_params.get("next"))
    reasons = [{"code": "account_change", "text": RECOVERY_TEXT if recovery else CONFIRM_TEXT}]
    recovery_link = None
    if user is not None:
        reasons += await held_notices(state, user.id)
        if not recovery:
            recovery_link = await _recovery_link(state, user, next_path)
    page = {
        "title": N_("Confirm it is you") if user is not None else N_("Sign in"),
        "reasons": reasons,
        "error": error,
        # the return path quoted: a "&" or "#" in it stays part of it, not another parameter
        "action": "/account/reauth?next="
        + quote(next_path, safe="/")
        + ("&mode=recovery" if recovery else ""),
        "options_url": "/account/reauth/webauthn",
        "recovery_link": recovery_link,
    }
    return await step_up_page(
        state,
        ACCOUNT_FORMS,
        loaded,
        browser,
        offered,
        reason=ACCOUNT,
        page=page,
        status_code=status_code,
    )


async def reauth_page(request: Request) -> Response:
    state = get_state(request)
    loaded = await load_session(request, state)
    browser, _ = ACCOUNT_FORMS.browser_token(request)
    return await _page(request, state, loaded, browser)


async def reauth_webauthn(request: Request) -> Response:
    """Request options for the **Use passkey** button of this page."""
    return await passkey_options(request, ACCOUNT_FORMS, _offered)


async def reauth_submit(request: Request) -> Response:
    state = get_state(request)
    form = await ACCOUNT_FORMS.checked_form(state, request)
    browser, _ = ACCOUNT_FORMS.browser_token(request)
    loaded = await load_session(request, state)
    user: User | None = loaded[1] if loaded else None
    recovery = _recovery(request) and user is not None
    result, prompt = await submit_step_up(
        request,
        form,
        browser=browser,
        loaded=loaded,
        offered=await _offered(state, loaded, recovery=recovery),
        reason=ACCOUNT,
        purpose="account",
    )
    if isinstance(result, Refusal):
        return await _page(
            request, state, loaded, browser, error=result.message, status_code=result.status_code
        )
    verified, new_session = result.verified, result.session
    if form.get("factor") == "recovery":
        # A recovery code used here alerts the user (ASVS 5.0 6.3.7).
        await notify(
            state,
            verified.user.id,
            gettext(
                "A recovery code was used to confirm it is you. "
                "If this was not you, contact support."
            ),
        )
    next_path = safe_next(request.query_params.get("next"))
    if recovery:
        met = recovery_step_up(new_session.events, now=state.clock(), ladder=state.ladder)
        done = met is not None
        if not done:
            next_path = reauth_url(next_path, recovery=True)  # the other half is still to come
    else:
        done = user is not None and (await authority(state, new_session, user)).full
    if prompt is not None and done:
        await prompt.completed(new_session)
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(response, state, new_session.id)
    ACCOUNT_FORMS.set_browser_cookie(response, state, browser)
    return response
