"""Return targets and form binding for ``/account``.

**Step-up at the binding level (ASVS 5.0 7.5.1, NIST SP 800-63B-4 §6.1.2.1).** A change
is allowed only when the session holds a step-up at the account's binding level at most
five minutes old (:mod:`stepauth.provider.account.binding`). Otherwise the browser is
sent to ``/account/reauth`` (:mod:`stepauth.provider.account.reauth`), which asks for
exactly the missing factors through the same factor plug-ins as the interaction pages,
appends the events and rotates the session id, then returns to the page. The
Provider's own pages never issue a code to themselves: no first-party client is needed.

**CSRF** (:class:`stepauth.provider.csrf.FormBinding`, :data:`ACCOUNT_FORMS`). Each
browser gets a random ``stepauth_account`` cookie (HttpOnly, SameSite=Lax,
``Path=/account``); every form carries ``csrf`` = HMAC-SHA-256(k, cookie) with ``k``
derived by HKDF from the Provider's secret (``secrets.key_env``) under the label
``stepauth account csrf``. A cross-site page can neither read the cookie nor compute the
MAC, and a cookie planted by a sibling host is useless without the key.
"""

from __future__ import annotations

from urllib.parse import urlencode

from stepauth.provider.csrf import Forbidden, FormBinding

__all__ = [
    "ACCOUNT_FORMS",
    "BROWSER_COOKIE",
    "Forbidden",
    "reauth_url",
    "safe_next",
]

BROWSER_COOKIE = "stepauth_account"


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


ACCOUNT_FORMS = FormBinding(BROWSER_COOKIE, b"stepauth account csrf", "/account")
