"""``GET /account``: the user's factors with their kind, name, creation, last use and
hold, the way back to the app, and **Sign out other sessions** (ASVS 5.0 7.4.3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from stepauth import audit
from stepauth.provider.account.binding import authority
from stepauth.provider.account.changes import end_other_sessions, offers_sign_out
from stepauth.provider.account.fresh import ACCOUNT_FORMS
from stepauth.provider.account.signed_in import AccountPage, signed_in
from stepauth.provider.factors.hold import hold_text
from stepauth.provider.i18n import N_, gettext
from stepauth.provider.i18n.formatting import format_instant
from stepauth.provider.state import ProviderState, get_state

if TYPE_CHECKING:
    from stepauth.store import Factor

__all__ = ["account", "account_page", "sign_out_others"]

KIND_NAMES = {
    "webauthn": N_("Passkey"),
    "totp": N_("Authenticator app"),
    "recovery": N_("Recovery codes"),
    "oob": N_("Phone"),
    "password": N_("Password"),
}


def _when(value: float | None) -> str:
    return gettext("never") if value is None else format_instant(value)


def _kind_name(factor: Factor) -> str:
    if factor.kind == "webauthn" and factor.data.get("type") == "security-key":
        return N_("Security key")
    return KIND_NAMES.get(factor.kind, factor.kind)


def _way_back(state: ProviderState, client_id: str | None) -> tuple[str, str] | None:
    """``?return_to=<client_id>``: the name and home of a registered client (the origin of
    its first web redirect URI), so the page can lead back to the app; never a URL from
    the query (no open redirect)."""
    client = state.config.client(client_id) if client_id else None
    if client is None:
        return None
    for uri in client.redirect_uris:
        parts = urlsplit(uri)
        if parts.scheme in ("https", "http") and parts.netloc:
            return client.client_name or client.client_id, f"{parts.scheme}://{parts.netloc}/"
    return None


async def account_page(
    page: AccountPage,
    *,
    ended: int | None = None,
    error: str | None = None,
    query: Mapping[str, str] | None = None,
) -> Response:
    factors = await page.state.store.list_factors(page.user.id)
    now = page.state.clock()
    rows = [
        {
            "id": f.id,
            "kind": _kind_name(f),
            "label": f.label,
            "created": _when(f.created_at),
            "last_used": _when(f.last_used_at),
            "disabled": f.disabled,
            "hold": hold_text(f, now),
        }
        for f in factors
    ]
    fresh = (await authority(page.state, page.session, page.user)).full
    offer = await offers_sign_out(page.state, page.session)
    query = query or {}
    added = next((r for r in rows if r["id"] == query.get("added")), None)
    return page.render(
        "account.html",
        status_code=400 if error else 200,
        factors=rows,
        fresh=fresh,
        offer=offer,
        ended=ended,
        error=error,
        added=added,
        back=_way_back(page.state, query.get("return_to")),
    )


async def account(request: Request) -> Response:
    page = await signed_in(request)
    if not isinstance(page, AccountPage):
        return page
    return await account_page(page, query=request.query_params)


async def sign_out_others(request: Request) -> Response:
    """**Sign out other sessions**: CSRF and a session; no fresh step-up (ending
    sessions only takes access away)."""
    state = get_state(request)
    await ACCOUNT_FORMS.checked_form(state, request)
    page = await signed_in(request)
    if not isinstance(page, AccountPage):
        return page
    ended = await end_other_sessions(state, page.session, client=audit.client_of(request))
    return await account_page(page, ended=ended)
