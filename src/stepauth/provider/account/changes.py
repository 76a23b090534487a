"""Factor changes of ``/account``: each one audited and notified out of band.

ASVS 4.0.3 2.5.5 / 5.0 6.3.7: "notify when an authentication factor is changed";
ASVS 5.0 16.3.1: the change is in the audit log (never a secret: no TOTP seed, no code)
with what the account's factors and binding level were before and after
(:func:`stepauth.provider.account.binding.snapshot`). NIST SP 800-63B-4 §6.1.2.1: the
notice goes through the OOB outbox with a single-use, expiring "this wasn't me" link
(:mod:`stepauth.provider.account.not_me`) that disables the factor the change added and
ends every session of the user. A factor added on hold says so and until when. The
notice is in the language of the request that made the change
(:mod:`stepauth.provider.notices`).

ASVS 5.0 7.4.3: after a factor is added, removed or changed the account page offers **Sign out
other sessions** (:func:`offers_sign_out`, kept for :data:`OFFER_TTL` seconds under the
session's stable ``sid``); :func:`end_other_sessions` ends every other session of the
user in one store transaction, revoking the codes and tokens issued in them, and keeps
the current one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stepauth import audit
from stepauth.provider.account.binding import snapshot
from stepauth.provider.account.not_me import NOT_ME, issue_link
from stepauth.provider.factors.base import NOTICE_NAMES as NAMES
from stepauth.provider.factors.hold import hold_text
from stepauth.provider.i18n import N_, gettext
from stepauth.provider.notices import notify
from stepauth.provider.sessions import revoke_session
from stepauth.provider.state import ProviderState

if TYPE_CHECKING:
    from stepauth.store import Session

__all__ = ["NAMES", "OFFER_TTL", "end_other_sessions", "offers_sign_out", "record_change"]

#: How long after a factor change the account page offers to sign out other sessions.
OFFER_TTL = 3600
OFFER_KIND = "sign_out_offer"

#: The notice of each change, in words of their own for each language (the factor named
#: after the colon: no article or agreement to get wrong).
_NOTICES = {
    "add": N_("A sign-in method was added to your account: %(what)s."),
    "remove": N_("A sign-in method was removed from your account: %(what)s."),
    "rename": N_("A sign-in method on your account was renamed: %(what)s."),
    "change": N_("A sign-in method on your account was changed: %(what)s."),
}
_PASSWORD_CHANGED = N_("Your account password was changed.")
_RECOVERY_CREATED = N_(
    "New recovery codes were created for your account; the old ones stop working."
)
_OTHER_CHANGE = N_("A sign-in method on your account was changed.")
#: Changes after which other sessions may be signed out (ASVS 5.0 7.4.3).
_OFFERED_AFTER = ("add", "remove", "change")


async def record_change(
    state: ProviderState,
    *,
    user_id: str,
    action: str,
    kind: str,
    client: audit.Client,
    credential: str | None = None,
    session: Session | None = None,
    before: Mapping[str, Any] | None = None,
) -> None:
    """Audit the change (``before``: :func:`snapshot` taken before it) and tell the user
    about it with a "this wasn't me" link; after an added, removed or changed factor,
    offer ``session`` to sign out the user's other sessions."""
    now = state.clock()
    if session is not None and action in _OFFERED_AFTER:
        await state.store.put(
            OFFER_KIND,
            _offer_key(session),
            {"user_id": user_id},
            expires_at=now + OFFER_TTL,
            user_id=user_id,
        )
    await audit.factor_change(
        state.store,
        now=now,
        user_id=user_id,
        action=action,
        factor=kind,
        client=client,
        credential=credential,
        before=before,
        after=await snapshot(state, user_id),
    )
    name = NAMES.get(kind, "sign-in method")
    added = await state.store.get_factor(credential) if credential and action == "add" else None
    message = _notice(action, kind)
    held = hold_text(added, now) if added is not None else None
    if held:
        message += " " + held
    link = await issue_link(
        state.store,
        state.config,
        now=now,
        user_id=user_id,
        action=action,
        what=name,
        factor_id=added.id if added is not None else None,
    )
    footer = gettext(NOT_ME) % {"link": link}
    await notify(state, user_id, f"{message} {footer}")


def _notice(action: str, kind: str) -> str:
    """The first sentence of the notice of ``action`` on a factor of ``kind``, in the
    request's language (:mod:`stepauth.provider.notices`)."""
    if action == "add" and kind == "recovery":
        return gettext(_RECOVERY_CREATED)
    if action == "change" and kind == "password":
        return gettext(_PASSWORD_CHANGED)
    if action not in _NOTICES or kind not in NAMES:
        return gettext(_OTHER_CHANGE)
    return gettext(_NOTICES[action]) % {"what": gettext(NAMES[kind])}


def _offer_key(session: Session) -> str:
    return session.sid or session.id


async def offers_sign_out(state: ProviderState, session: Session) -> bool:
    """Whether a factor of this session's user changed in it within :data:`OFFER_TTL`."""
    item = await state.store.get(OFFER_KIND, _offer_key(session), now=state.clock())
    return item is not None and item.payload.get("user_id") == session.user_id


async def end_other_sessions(
    state: ProviderState, session: Session, *, client: audit.Client
) -> int:
    """End every session of the user but ``session`` (ASVS 5.0 7.4.3); audited."""
    sids = await state.store.end_user_sessions(session.user_id, except_session_id=session.id)
    for sid in sids:  # and for requests in flight: the ended record, then revoke again
        await revoke_session(state, sid)
    ended = len(sids)
    await state.store.delete(OFFER_KIND, _offer_key(session))
    await audit.sessions_ended(
        state.store, now=state.clock(), user_id=session.user_id, client=client, count=ended
    )
    return ended
