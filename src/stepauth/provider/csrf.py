"""Form binding of the Provider's own pages: a browser cookie and a MAC of it in each form.

Each browser gets a random cookie (HttpOnly, SameSite=Lax, limited to its pages' path);
every form carries ``csrf`` = HMAC-SHA-256(k, cookie) with ``k`` derived by HKDF
(RFC 5869) from the Provider's secret (``secrets.key_env``) under the pages' own label. A
cross-site page can neither read the cookie nor compute the MAC, a cookie planted by a
sibling host is useless without the key, and a token of one set of pages is never one
of another (another label, another key).

:data:`stepauth.provider.account.fresh.ACCOUNT_FORMS` binds ``/account``,
:data:`stepauth.provider.console.access.CONSOLE_FORMS` binds ``/admin``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from stepauth.keying import derive_key, secret_from_env
from stepauth.provider.compare import constant_time_equal
from stepauth.provider.errors import ProviderError
from stepauth.provider.i18n import N_
from stepauth.provider.state import ProviderState

__all__ = ["MIN_BROWSER_TOKEN", "Forbidden", "FormBinding"]

#: The shortest browser cookie accepted: what :func:`secrets.token_urlsafe` gives 32 bytes.
MIN_BROWSER_TOKEN = 32


class Forbidden(ProviderError):
    """A form without a valid ``csrf`` value — 403, never redirected."""

    error = "access_denied"
    status = 403
    redirectable = False


@dataclass(frozen=True)
class FormBinding:
    """The browser cookie ``cookie`` (sent only below ``path``) and the ``csrf`` tokens
    MACed under the key HKDF derives with ``label``."""

    cookie: str
    label: bytes
    path: str

    def _key(self, state: ProviderState) -> bytes:
        key_env = state.config.secrets.key_env
        return derive_key(secret_from_env(key_env), self.label, key_env=key_env)

    def browser_token(self, request: HTTPConnection) -> tuple[str, bool]:
        """This browser's cookie value, and whether it is new (must be set)."""
        value = request.cookies.get(self.cookie, "")
        if len(value) >= MIN_BROWSER_TOKEN:
            return value, False
        return secrets.token_urlsafe(32), True

    def csrf_token(self, state: ProviderState, browser: str) -> str:
        return hmac.new(self._key(state), browser.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, state: ProviderState, request: HTTPConnection, submitted: str) -> None:
        """Raise :class:`Forbidden` unless ``submitted`` is this browser's token."""
        browser = request.cookies.get(self.cookie, "")
        if len(browser) < MIN_BROWSER_TOKEN or not constant_time_equal(
            self.csrf_token(state, browser), submitted
        ):
            raise Forbidden(N_("the form is not valid; reload the page and try again"))

    async def checked_form(self, state: ProviderState, request: Request) -> dict[str, str]:
        """The submitted form's text fields, after its ``csrf`` was checked."""
        form = {k: v for k, v in (await request.form()).multi_items() if isinstance(v, str)}
        self.check_csrf(state, request, form.get("csrf", ""))
        return form

    def set_browser_cookie(self, response: Response, state: ProviderState, value: str) -> None:
        response.set_cookie(
            self.cookie,
            value,
            httponly=True,
            secure=state.config.issuer.startswith("https://"),
            samesite="lax",
            path=self.path,
        )
