"""The signed-in browser of the ``/account`` pages, and the guard every change passes.

:func:`signed_in` finds the session (a browser without one goes to ``/account/reauth``);
:func:`begin_change` checks a changing POST in order: the account ``csrf`` token (403),
then a step-up at the account's binding level at most five minutes old, or, when the
change only adds a factor, the recovery path (ASVS 5.0 7.5.1, NIST SP 800-63B-4 §6.1.2.1,
:mod:`stepauth.provider.account.binding`); only then is the account before the change
taken. :func:`record` audits and notifies the change
(:mod:`stepauth.provider.account.changes`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stepauth import audit
from stepauth.provider.account.binding import Authority, authority, snapshot
from stepauth.provider.account.changes import record_change
from stepauth.provider.account.fresh import (
    ACCOUNT_FORMS,
    reauth_url,
)
from stepauth.provider.account.render import render_account
from stepauth.provider.sessions import load_session
from stepauth.provider.state import ProviderState, get_state

if TYPE_CHECKING:
    from stepauth.store import Session, User

__all__ = ["AccountPage", "begin_change", "done", "record", "signed_in"]


class AccountPage:
    """The signed-in browser: state, session, user, its account cookie, and (for a change)
    the session's authority and the account before the change."""

    def __init__(self, state: ProviderState, session: Session, user: User, browser: str):
        self.state = state
        self.session = session
        self.user = user
        self.browser = browser
        self.authority: Authority | None = None
        self.before: dict[str, Any] | None = None

    def hold(self) -> dict[str, Any]:
        """The hold members of a factor added by this change (none: not on hold)."""
        return self.authority.hold(self.state) if self.authority is not None else {}

    def render(self, name: str, status_code: int = 200, **context: Any) -> Response:
        response = render_account(
            name,
            status_code,
            csrf=ACCOUNT_FORMS.csrf_token(self.state, self.browser),
            user=self.user,
            **context,
        )
        ACCOUNT_FORMS.set_browser_cookie(response, self.state, self.browser)
        return response


async def signed_in(request: Request) -> AccountPage | Response:
    state = get_state(request)
    loaded = await load_session(request, state)
    if loaded is None:
        return RedirectResponse(reauth_url(request.url.path), status_code=303)
    browser, _ = ACCOUNT_FORMS.browser_token(request)
    return AccountPage(state, loaded[0], loaded[1], browser)


async def begin_change(
    request: Request, *, adds: bool = False
) -> tuple[AccountPage | Response, dict[str, str]]:
    """A POST that changes factors: CSRF first, then a step-up at the binding level (or,
    when it only ``adds`` a factor, the recovery path)."""
    state = get_state(request)
    form = await ACCOUNT_FORMS.checked_form(state, request)
    page = await signed_in(request)
    if not isinstance(page, AccountPage):
        return page, form
    page.authority = await authority(state, page.session, page.user)
    if not page.authority.allows(adds=adds):
        return RedirectResponse(reauth_url("/account"), status_code=303), form
    page.before = await snapshot(state, page.user.id)
    return page, form


async def record(
    page: AccountPage,
    request: Request,
    action: str,
    kind: str,
    *,
    credential: str | None = None,
) -> None:
    """Audit and notify a change made on this page (and, after an added, removed or
    changed factor, offer this session to sign out the others)."""
    await record_change(
        page.state,
        user_id=page.user.id,
        action=action,
        kind=kind,
        client=audit.client_of(request),
        credential=credential,
        session=page.session,
        before=page.before,
    )


def done() -> Response:
    return RedirectResponse("/account", status_code=303)
