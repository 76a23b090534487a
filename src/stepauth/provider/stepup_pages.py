"""What the Provider's own step-up pages share: ``/account/reauth``
(:mod:`stepauth.provider.account.reauth`) and ``/admin/reauth``
(:mod:`stepauth.provider.console.stepup`).

Each page binds its forms with its own :class:`stepauth.provider.csrf.FormBinding` and
offers its own factors; the rest is one code path:

* :func:`step_up_page`: the page itself (the interaction pages' template and factor
  forms), its prompt recorded as friction;
* :func:`passkey_options`: the options of the **Use passkey** button (challenge kept
  server-side under the browser's id, single use, UV required), only where a passkey is
  offered;
* :func:`submit_step_up`: one factor form, throttled, verified and audited by
  :func:`stepauth.provider.interaction.outcome.verify_step_up`, its friction recorded
  under the action named as the audit ``reason`` (:mod:`stepauth.provider.friction.pages`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from stepauth import audit
from stepauth.provider import jsonlimits
from stepauth.provider.factors.base import FormView
from stepauth.provider.factors.hold import active_factors
from stepauth.provider.factors.webauthn import begin_authentication
from stepauth.provider.friction.pages import PagePrompt, page_prompt
from stepauth.provider.interaction.outcome import Refusal, SteppedUp, Submission, verify_step_up
from stepauth.provider.interaction.render import factor_forms, render
from stepauth.provider.sessions import load_session
from stepauth.provider.state import ProviderState, get_state

if TYPE_CHECKING:
    from stepauth.provider.csrf import FormBinding
    from stepauth.provider.factors.base import FactorPlugin
    from stepauth.store import Session, User

__all__ = ["Offered", "browser_id", "passkey_options", "step_up_page", "submit_step_up"]

#: The factors a page offers to the session it has (``None``: nobody signed in).
Offered = Callable[[ProviderState, "tuple[Session, User] | None"], Awaitable[list["FactorPlugin"]]]


def browser_id(value: str) -> str:
    """A stable, non-secret id of the browser (keys the OOB and passkey challenges of the
    step-up pages)."""
    return "account-" + hashlib.sha256(value.encode()).hexdigest()[:32]


async def step_up_page(
    state: ProviderState,
    forms: FormBinding,
    loaded: tuple[Session, User] | None,
    browser: str,
    offered: Sequence[FactorPlugin],
    *,
    reason: str,
    page: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    """The step-up page offering ``offered`` to ``loaded`` (``None``: a sign-in), with
    ``page``'s ``title``, ``reasons``, ``error``, ``action``, ``options_url`` and
    ``recovery_link``; a signed-in user's prompt is recorded under ``reason``."""
    await page_prompt(state, reason, loaded, browser, [p.kind for p in offered])
    user = loaded[1] if loaded is not None else None
    view = FormView(login_hint=None, user=user, interaction_id=browser_id(browser))
    response = render(
        "interaction.html",
        {
            "client_name": None,
            "details": [],
            "csrf": forms.csrf_token(state, browser),
            **page,
            **factor_forms(offered, view),
        },
        status_code=status_code,
    )
    forms.set_browser_cookie(response, state, browser)
    return response


async def passkey_options(request: Request, forms: FormBinding, offered: Offered) -> Response:
    """Request options for **Use passkey** on a page whose forms ``forms`` binds."""
    state = get_state(request)
    try:
        body = await jsonlimits.request_json(request)
    except ValueError:
        body = None
    forms.check_csrf(state, request, str(body.get("csrf", "")) if isinstance(body, dict) else "")
    browser, _ = forms.browser_token(request)
    loaded = await load_session(request, state)
    user = loaded[1] if loaded else None
    if not any(p.kind == "webauthn" for p in await offered(state, loaded)):
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


async def submit_step_up(
    request: Request,
    form: Mapping[str, str],
    *,
    browser: str,
    loaded: tuple[Session, User] | None,
    offered: Sequence[FactorPlugin],
    reason: str,
    purpose: str,
) -> tuple[Refusal | SteppedUp, PagePrompt | None]:
    """Verify the submitted ``form`` (its ``factor`` one of ``offered``) for ``loaded``,
    audited with ``reason``; the outcome, and the friction prompt of a signed-in user
    (the page completes it once the session meets what the page asks for)."""
    state = get_state(request)
    kind = form.get("factor", "")
    submission = Submission(
        state=state, client=audit.client_of(request), factor=kind, now=state.clock(), reason=reason
    )
    prompt = await page_prompt(state, reason, loaded, browser, [p.kind for p in offered])
    result = await verify_step_up(
        submission, loaded, offered, form=form, interaction_id=browser_id(browser), purpose=purpose
    )
    if prompt is not None:
        await prompt.tried(kind, result if isinstance(result, Refusal) else None)
    return result, prompt
