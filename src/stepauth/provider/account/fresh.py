"""Freshness and form binding for ``/account``.

**Fresh step-up (ASVS 5.0 7.5.1).** A change is allowed only when the session's latest
authentication event is at most :data:`FRESH_SECONDS` old. Otherwise the browser is sent
to ``/account/reauth`` (:mod:`stepauth.provider.account.reauth`), which asks for one of
the user's factors through the same factor plug-ins as the interaction pages, appends
the event and rotates the session id, then returns to the page. The Provider's own
pages never issue a code to themselves: no first-party client is needed.

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
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.requests import HTTPConnection
from starlette.responses import Response

from stepauth.keying import derive_key, secret_from_env
from stepauth.provider.errors import ProviderError
from stepauth.provider.state import ProviderState

__all__ = [
    "BROWSER_COOKIE",
    "FRESH_SECONDS",
    "Forbidden",
    "browser_token",
    "check_csrf",
    "csrf_token",
    "is_fresh",
    "latest_event_at",
    "reauth_url",
    "safe_next",
    "set_browser_cookie",
]

#: A change on /account needs a factor verified at most this long ago.
FRESH_SECONDS = 300
BROWSER_COOKIE = "stepauth_account"


class Forbidden(ProviderError):
    """A form without a valid ``csrf`` value — 403, never redirected."""

    error = "access_denied"
    status = 403
    redirectable = False


def latest_event_at(events: Sequence[Mapping[str, Any]]) -> float | None:
    times = [float(e["at"]) for e in events if isinstance(e.get("at"), int | float)]
    return max(times) if times else None


def is_fresh(events: Sequence[Mapping[str, Any]], *, now: float) -> bool:
    """Is the latest factor of the session at most :data:`FRESH_SECONDS` old?"""
    latest = latest_event_at(events)
    return latest is not None and 0 <= now - latest <= FRESH_SECONDS


def safe_next(value: str | None) -> str:
    """Only paths of the account page are return targets (no open redirect)."""
    if value and value.startswith("/account") and "//" not in value and "\\" not in value:
        return value
    return "/account"


def reauth_url(next_path: str = "/account") -> str:
    return "/account/reauth?" + urlencode({"next": safe_next(next_path)})


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
    if len(browser) < 32 or not hmac.compare_digest(csrf_token(state, browser), submitted):
        raise Forbidden("the form is not valid; reload the page and try again")


def set_browser_cookie(response: Response, state: ProviderState, value: str) -> None:
    response.set_cookie(
        BROWSER_COOKIE,
        value,
        httponly=True,
        secure=state.config.issuer.startswith("https://"),
        samesite="lax",
        path="/account",
    )
