"""Return targets and form binding for ``/account``.

**Step-up at the binding level (ASVS 5.0 7.5.1, NIST SP 800-63B-4 §6.1.2.1).** A change
is allowed only when the session holds a step-up at the account's binding level at most
five minutes old (:mod:`stepauth.provider.account.binding`). Otherwise the browser is
sent to ``/account/reauth`` (:mod:`stepauth.provider.account.reauth`), which asks for
exactly the missing factors through the same factor plug-ins as the interaction pages,
appends the events and rotates the session id, then returns to the page. The
Provider's own pages never issue a code to themselves: no first-party client is needed.

**CSRF.** Each browser gets a random ``stepauth_account`` cookie (HttpOnly,
SameSite=Lax, ``Path=/account``); every form carries ``csrf`` =
HMAC-SHA-256(k, cookie) with ``k`` derived by HKDF from the Provider's secret
(``secrets.key_env``). A cross-site page can neither read the cookie nor compute the
MAC, and a cookie planted by a sibling host is useless without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlencode

from starlette.requests import HTTPConnection
from starlette.responses import Response

from stepauth.keying import derive_key, secret_from_env
from stepauth.provider.compare import constant_time_equal
from stepauth.provider.errors import ProviderError
from stepauth.provider.i18n import N_
from stepauth.provider.state import ProviderState

__all__ = [
    "BROWSER_COOKIE",
    "Forbidden",
    "browser_token",
    "check_csrf",
    "csrf_token",
    "reauth_url",
    "safe_next",
    "set_browser_cookie",
]

BROWSER_COOKIE = "stepauth_account"


class Forbidden(ProviderError):
    """A form without a valid ``csrf`` value — 403, never redirected."""

    error = "access_denied"
    status = 403
    redirectable = False


def safe_next(value: str | None) -> str:
    """Only paths of the account page are return targets (no open redirect)."""
    if value and value.startswith("/account") and "//" not in value and "\\" not in value:
        return value
    return "/account"


def reauth_url(next_path: str = "/account", *, recovery: bool = False) -> str:
    """The step-up page; ``recovery``: its recovery-code variant (adding only)."""
    query = {"next": safe_next(next_path)}
    if recovery:
        query["mode"] = "recovery"
    return "/account/reauth?" + urlencode(query)


def _key(state: ProviderState) -> bytes:
    key_env = state.config.secrets.key_env
    return derive_key(secret_from_env(key_env), b"stepauth account csrf", key_env=key_env)


def browser_token(request: HTTPConnection) -> tuple[str, bool]:
    """This browser's account cookie value, and whether it is new (must be set)."""
    value = request.cookies.get(BROWSER_COOKIE, "")
    if len(value) >= 32:
        return value, False
    return secrets.token_urlsafe(32), True


def browser_id(value: str) -> str:
    """A stable, non-secret id of the browser (keys OOB challenges of the reauth page)."""
    return "account-" + hashlib.sha256(value.encode()).hexdigest()[:32]


def csrf_token(state: ProviderState, browser: str) -> str:
    return hmac.new(_key(state), browser.encode(), hashlib.sha256).hexdigest()


def check_csrf(state: ProviderState, request: HTTPConnection, submitted: str) -> None:
    """Raise :class:`Forbidden` unless ``submitted`` is this browser's token."""
    browser = request.cookies.get(BROWSER_COOKIE, "")
    if len(browser) < 32 or not constant_time_equal(csrf_token(state, browser), submitted):
        raise Forbidden(N_("the form is not valid; reload the page and try again"))


def set_browser_cookie(response: Response, state: ProviderState, value: str) -> None:
    response.set_cookie(
        BROWSER_COOKIE,
        value,
        httponly=True,
        secure=state.config.issuer.startswith("https://"),
        samesite="lax",
        path="/account",
    )
