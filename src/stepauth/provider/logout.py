"""RP-Initiated Logout 1.0, ``GET``/``POST /logout`` (``end_session_endpoint``).

* ``id_token_hint`` (§2) must be an ID Token this Provider signed (expired hints are fine:
  they only identify); its ``aud`` names the client, and ``client_id``, when also sent,
  must agree.
* ``post_logout_redirect_uri`` is followed only when it exactly matches one of the client's
  registered ``post_logout_redirect_uris`` (§3; an unregistered one is never a redirect —
  no open redirector). ``state`` is passed back unchanged.
* With a valid hint for the signed-in user the session ends at once. Otherwise (no hint, or
  a hint naming someone else) the user confirms on a page whose form carries a single-use
  CSRF token (``csrf``) kept in the store, so a cross-site request can never end a session
  (§2: "the OP SHOULD ask the End-User whether to log out"). The token's record names the
  session by its ``sid`` only, never by its id (the cookie value stays out of the store);
  the confirmation ends the session of the browser that posts it, when its ``sid`` is the
  one the form was made for.
* Ending the session deletes it from the store, clears the cookie, and revokes every code,
  access token and refresh token issued in it (all tagged with the session's ``sid``; one
  store statement), so a refresh after logout is ``invalid_grant`` and introspection
  answers ``active: false``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from stepauth.provider.authorize.context import find_client
from stepauth.provider.client_auth import single_params
from stepauth.provider.errors import InvalidRequest, InvalidToken
from stepauth.provider.i18n import N_
from stepauth.provider.interaction.render import render
from stepauth.provider.sessions import (
    clear_session_cookie,
    load_session,
    revoke_session,
    sid_for,
)
from stepauth.provider.state import ProviderState, get_state
from stepauth.provider.token_minting import verify_id_token_hint

__all__ = ["routes"]

CONFIRM_TTL = 600
LOGOUT_KIND = "logout_confirmation"
#: What the error page says of a sign-out form that cannot be used (a user's words, in
#: the catalogue; the other errors here are the client developer's and stay English).
_FORM_EXPIRED = N_("the sign-out form expired or was already used")


def _hint_claims(state: ProviderState, hint: str | None) -> dict[str, Any] | None:
    if not hint:
        return None
    try:
        claims = verify_id_token_hint(state, hint)
    except InvalidToken as exc:
        raise InvalidRequest("id_token_hint is not an ID Token of this provider") from exc
    return claims


def _hint_client(claims: Mapping[str, Any]) -> str | None:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return aud
    azp = claims.get("azp")
    if isinstance(azp, str):
        return azp
    if isinstance(aud, list) and len(aud) == 1 and isinstance(aud[0], str):
        return aud[0]
    return None


def _redirect_target(
    state: ProviderState, params: Mapping[str, str], hint: Mapping[str, Any] | None
) -> str | None:
    """The verified post-logout redirect with ``state`` added, or ``None`` (§3)."""
    client_id = params.get("client_id")
    if hint is not None:
        hinted = _hint_client(hint)
        if client_id is not None and client_id != hinted:
            raise InvalidRequest("client_id does not match the id_token_hint audience")
        client_id = hinted
    uri = params.get("post_logout_redirect_uri")
    if uri is None:
        return None
    client = find_client(state, client_id) if client_id else None
    if client is None:
        raise InvalidRequest("post_logout_redirect_uri needs id_token_hint or client_id")
    registered = getattr(client, "post_logout_redirect_uris", None) or []
    if uri not in registered:
        raise InvalidRequest("post_logout_redirect_uri is not registered for this client")
    if "state" in params:
        parts = urlsplit(uri)
        query = [*parse_qsl(parts.query, keep_blank_values=True), ("state", params["state"])]
        uri = urlunsplit(parts._replace(query=urlencode(query)))
    return uri


def _page(csrf: str | None = None) -> HTMLResponse:
    """The confirmation form (with its ``csrf``) or, without one, the signed-out page: in
    the request's language and the Provider's branding, like every hosted page."""
    page = render("logout.html", {"csrf": csrf})
    page.headers["Cache-Control"] = "no-store"
    return page


async def _end_session(state: ProviderState, session_id: str, sid: str | None) -> None:
    """Revoke what the session issued, then delete it (revoking first: a failure leaves
    the user signed in with nothing usable rather than signed out with live tokens)."""
    await revoke_session(state, sid or sid_for(session_id))
    await state.store.delete_session(session_id)


def _done(state: ProviderState, target: str | None) -> Response:
    response: Response = (
        RedirectResponse(target, status_code=303) if target is not None else _page()
    )
    clear_session_cookie(response, state)
    return response


async def logout_endpoint(request: Request) -> Response:
    state = get_state(request)
    if request.method == "POST":
        params = single_params(await request.form())
        if "csrf" in params:
            return await _confirmed(request, state, params)
    else:
        params = dict(request.query_params)
    hint = _hint_claims(state, params.get("id_token_hint"))
    target = _redirect_target(state, params, hint)
    current = await load_session(request, state)
    if current is None:
        return _done(state, target)
    session, user = current
    if hint is not None and hint.get("sub") == user.id:
        await _end_session(state, session.id, session.sid)
        return _done(state, target)
    # No hint (or one naming another user): ask the user, with a single-use CSRF token.
    csrf = secrets.token_urlsafe(32)
    await state.store.put(
        LOGOUT_KIND,
        csrf,
        {"sid": session.sid or sid_for(session.id), "target": target},
        expires_at=state.clock() + CONFIRM_TTL,
        user_id=user.id,
    )
    return _page(csrf)


async def _confirmed(request: Request, state: ProviderState, params: Mapping[str, str]) -> Response:
    consumed = await state.store.consume(LOGOUT_KIND, params["csrf"], now=state.clock())
    if consumed.status != "ok" or consumed.payload is None:
        raise InvalidRequest(_FORM_EXPIRED)
    sid = consumed.payload.get("sid")
    if not isinstance(sid, str) or not sid:
        raise InvalidRequest(_FORM_EXPIRED)
    current = await load_session(request, state)
    if current is not None and (current[0].sid or sid_for(current[0].id)) != sid:
        raise InvalidRequest(N_("the sign-out form belongs to another session"))
    if current is not None:
        await _end_session(state, current[0].id, sid)
    else:  # no live session in this browser any more: what it issued ends all the same
        await revoke_session(state, sid)
    target = consumed.payload.get("target")
    return _done(state, target if isinstance(target, str) else None)


routes: list[BaseRoute] = [Route("/logout", logout_endpoint, methods=["GET", "POST"])]
