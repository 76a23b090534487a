"""Who may use the operator console, and the proof a change needs.

* **Admin session.** ``/admin`` needs the Provider's own session (the ``stepauth_session``
  cookie, :func:`stepauth.provider.sessions.load_session`) of a user holding the
  :data:`ADMIN_ROLE` (``stepauth users grant-admin NAME``). No session: 303 to the
  console's sign-in page; a session of anyone else: 403 (:class:`NotAnAdmin`).
* **Fresh step-up for every change.** A POST that changes anything is allowed only when
  the session holds a step-up at ``phr`` or ``phrh`` (a passkey or a security key, i.e.
  phishing-resistant, NIST SP 800-63B-4 §3.2.5) at most :data:`FRESH_MAX_AGE` seconds
  old (ASVS 5.0 7.5.1: re-authenticate before sensitive changes). The ``acr`` and
  ``auth_time`` of that step-up are written into the audit event of the change.
* **CSRF** as on ``/account`` (:class:`stepauth.provider.csrf.FormBinding`,
  :data:`CONSOLE_FORMS`): a random
  browser cookie (``stepauth_admin``, HttpOnly, SameSite=Lax, ``Path=/admin``) and
  ``csrf`` = HMAC-SHA-256 under a key derived by HKDF from the Provider's secret with
  its own label, so an account token is never an admin token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stepauth import audit
from stepauth.assurance import Assessment, assess
from stepauth.provider.csrf import Forbidden, FormBinding
from stepauth.provider.i18n import N_
from stepauth.provider.sessions import load_session
from stepauth.provider.state import ProviderState, get_state

if TYPE_CHECKING:
    from stepauth.store import Session, User

__all__ = [
    "ADMIN_COOKIE",
    "ADMIN_ROLE",
    "CHANGE_LEVELS",
    "CONSOLE_FORMS",
    "FRESH_MAX_AGE",
    "Admin",
    "NotAnAdmin",
    "admin_of",
    "audit_change",
    "check_admin",
    "form_of",
    "fresh_step_up",
    "reauth_url",
    "safe_next",
]

#: The role that opens ``/admin``.
ADMIN_ROLE = "admin"
#: The levels a change accepts: a passkey or a security key (phishing-resistant).
CHANGE_LEVELS = ("phr", "phrh")
#: How old that step-up may be, in seconds (as for ``/account`` changes).
FRESH_MAX_AGE = 300
ADMIN_COOKIE = "stepauth_admin"


class NotAnAdmin(Forbidden):
    """A signed-in user without the admin role — 403."""


def safe_next(value: str | None) -> str:
    """Only console paths are return targets (no open redirect)."""
    if value and value.startswith("/admin") and "//" not in value and "\\" not in value:
        return value
    return "/admin"


def reauth_url(next_path: str = "/admin", *, reason: str | None = None) -> str:
    query = {"next": safe_next(next_path)}
    if reason:
        query["reason"] = reason
    return "/admin/reauth?" + urlencode(query)


#: The console's form binding: its own cookie, path and HKDF label.
CONSOLE_FORMS = FormBinding(ADMIN_COOKIE, b"stepauth admin csrf", "/admin")


async def form_of(request: Request) -> dict[str, str]:
    """The submitted form's text fields, after its ``csrf`` was checked."""
    return await CONSOLE_FORMS.checked_form(get_state(request), request)


def fresh_step_up(state: ProviderState, session: Session) -> Assessment | None:
    """The session's step-up at :data:`CHANGE_LEVELS` within :data:`FRESH_MAX_AGE`, or
    ``None`` (a change must ask for one first)."""
    result = assess(
        session.events,
        CHANGE_LEVELS,
        max_age=FRESH_MAX_AGE,
        now=state.clock(),
        ladder=state.ladder,
    )
    if not result.met or result.acr not in CHANGE_LEVELS or result.auth_time is None:
        return None
    return result


@dataclass
class Admin:
    """A signed-in admin on a console page: state, session, user and console cookie."""

    state: ProviderState
    session: Session
    user: User
    browser: str

    @property
    def csrf(self) -> str:
        return CONSOLE_FORMS.csrf_token(self.state, self.browser)


async def check_admin(state: ProviderState, user: User) -> None:
    """Raise :class:`NotAnAdmin` (403) unless ``user`` holds :data:`ADMIN_ROLE`."""
    if ADMIN_ROLE not in await state.store.user_roles(user.id):
        raise NotAnAdmin(N_("this page is for administrators"))  # also seen by non-admins


async def admin_of(request: Request) -> Admin | Response:
    """The signed-in admin, a 303 to sign in, or :class:`NotAnAdmin` (403)."""
    state = get_state(request)
    loaded = await load_session(request, state)
    if loaded is None:
        return RedirectResponse(reauth_url(request.url.path), status_code=303)
    session, user = loaded
    await check_admin(state, user)
    browser, _ = CONSOLE_FORMS.browser_token(request)
    return Admin(state, session, user, browser)


async def audit_change(
    request: Request,
    admin: Admin,
    stepup: Assessment,
    user_id: str | None,
    action: str,
    before: str,
    after: str,
) -> None:
    """Audit a change (``before`` and ``after``) with the admin and the acr and
    auth_time of the step-up that allowed it (:func:`fresh_step_up`)."""
    assert stepup.acr is not None
    assert stepup.auth_time is not None
    await audit.admin_action(
        admin.state.store,
        now=admin.state.clock(),
        admin_id=admin.user.id,
        stepup_acr=stepup.acr,
        stepup_auth_time=stepup.auth_time,
        user_id=user_id,
        action=action,
        client=audit.client_of(request),
        before=before,
        after=after,
    )
