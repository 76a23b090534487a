"""``/account/not-me``: the "this wasn't me" link of a change notice.

Every change to authenticators or the password is notified out of band
(:func:`stepauth.provider.account.changes.record_change`) with a link holding a random
256-bit token (:func:`issue_link`). The store keeps only the token's SHA-256 (kind
:data:`NOT_ME_KIND`), tied to the user, the change and the factor it added, until
:func:`link_ttl` (at least as long as the hold of a new factor).

* ``GET /account/not-me?token=…`` only shows what the button will do: a mail scanner or
  link preview that fetches the link changes nothing;
* ``POST /account/not-me`` consumes the token in one atomic statement
  (``Store.consume``: a second use, an expired or unknown token is refused), then
  disables the factor the change added, ends every session of the user and revokes
  the codes and tokens issued in them (:func:`stepauth.provider.sessions.revoke_session`),
  and audits it. The token is the proof, so the form needs no session and no cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from stepauth import audit
from stepauth.provider.account.render import render_account
from stepauth.provider.i18n import N_, gettext
from stepauth.provider.sessions import revoke_session
from stepauth.provider.state import get_state

if TYPE_CHECKING:
    from stepauth.provider.config import ProviderConfig
    from stepauth.store import Store

__all__ = [
    "NOT_ME",
    "NOT_ME_KIND",
    "NOT_ME_TTL",
    "issue_link",
    "link_ttl",
    "not_me_page",
    "not_me_submit",
]

NOT_ME_KIND = "not_me"
#: A "this wasn't me" link works this long at least (and as long as a hold).
NOT_ME_TTL = 7 * 86400
PATH = "/account/not-me"
#: The ``action`` words a link names (:func:`stepauth.provider.account.changes.record_change`).
ACTIONS = (N_("add"), N_("remove"), N_("rename"), N_("change"))
#: The last sentence of a notice, with the link (:func:`issue_link`).
NOT_ME = N_("If this was not you: %(link)s")
_REFUSED = N_("This link has expired or was already used. Sign in and check your account.")


def _page(name: str, status_code: int = 200, **context: Any) -> Response:
    """A page of this link: never cached (the token is in its address)."""
    response = render_account(name, status_code, **context)
    response.headers["cache-control"] = "no-store"
    return response


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_ttl(config: ProviderConfig) -> int:
    return max(NOT_ME_TTL, config.account.binding_hold)


async def issue_link(
    store: Store,
    config: ProviderConfig,
    *,
    now: float,
    user_id: str,
    action: str,
    what: str,
    factor_id: str | None,
) -> str:
    """A single-use "this wasn't me" URL for one change (only its hash is stored);
    ``what`` names the factor in words ("passkey"); ``factor_id``: the factor the link
    disables (one that was added, or confirmed by an operator)."""
    token = secrets.token_urlsafe(32)
    await store.put(
        NOT_ME_KIND,
        _key(token),
        {"user_id": user_id, "action": action, "what": what, "factor_id": factor_id},
        expires_at=now + link_ttl(config),
        user_id=user_id,
    )
    return f"{config.issuer.rstrip('/')}{PATH}?token={token}"


async def not_me_page(request: Request) -> Response:
    state = get_state(request)
    token = request.query_params.get("token", "")
    item = await state.store.get(NOT_ME_KIND, _key(token), now=state.clock()) if token else None
    if item is None:
        return _page("not_me.html", 400, error=_REFUSED)
    what = str(item.payload.get("what", "sign-in method"))
    action = str(item.payload.get("action", ""))
    disables = bool(item.payload.get("factor_id"))
    return _page(
        "not_me.html",
        notice=gettext("This link is about a change to your account: %(what)s (%(action)s).")
        % {"what": gettext(what), "action": gettext(action)},
        token=token,
        disables=disables,
        what=what,
    )


async def not_me_submit(request: Request) -> Response:
    state = get_state(request)
    form = await request.form()
    token = form.get("token")
    if not isinstance(token, str) or not token:
        return _page("not_me.html", 400, error=_REFUSED)
    now = state.clock()
    consumed = await state.store.consume(NOT_ME_KIND, _key(token), now=now)
    payload = consumed.payload or {}
    user_id = payload.get("user_id")
    if consumed.status != "ok" or not isinstance(user_id, str):
        return _page("not_me.html", 400, error=_REFUSED)
    client = audit.client_of(request)
    what = str(payload.get("what", "sign-in method"))
    factor_id = payload.get("factor_id")
    disabled = False
    if isinstance(factor_id, str):
        factor = await state.store.get_factor(factor_id)
        if factor is not None and factor.user_id == user_id:
            await state.store.update_factor(factor.id, disabled=True)
            disabled = True
    sids = await state.store.end_user_sessions(user_id)
    for sid in sids:
        await revoke_session(state, sid)
    await audit.factor_change(
        state.store,
        now=now,
        user_id=user_id,
        action="not_me",
        factor=what,
        client=client,
        credential=factor_id if isinstance(factor_id, str) else None,
    )
    await audit.sessions_ended(
        state.store, now=now, user_id=user_id, client=client, count=len(sids)
    )
    return _page("not_me.html", done=True, disabled=disabled, what=what)
