"""An operator ends a factor's hold: ``stepauth users confirm-factor`` and ``/admin``.

:func:`confirm_factor` is the one implementation both use (NIST SP 800-63B-4 §4.2: the
operator confirmed out of band that the factor's owner added it; from then on it counts
at its full level, :mod:`stepauth.provider.factors.hold`). The change is written to the
audit log (``event=factor_change``, ``action=confirm``) and the user is told
(:func:`operator_notice`) with a "this wasn't me" link
(:mod:`stepauth.provider.account.not_me`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from stepauth.errors import StepAuthError
from stepauth.provider.account.not_me import NOT_ME, issue_link
from stepauth.provider.factors.hold import is_held, released
from stepauth.provider.i18n import N_, gettext
from stepauth.provider.i18n.catalogue import SOURCE_LOCALE
from stepauth.provider.i18n.current import in_locale
from stepauth.provider.notices import OutboxSender

if TYPE_CHECKING:
    from stepauth.provider.config import ProviderConfig
    from stepauth.store import Store, User

__all__ = [
    "ADDED_BY_OPERATOR",
    "REMOVED_BY_OPERATOR",
    "confirm_factor",
    "factor_change_audit",
    "operator_notice",
]

#: The notices of the operator's other changes (``stepauth users add-totp``, ``remove``).
ADDED_BY_OPERATOR = N_("An authenticator app was added to your account by an administrator.")
REMOVED_BY_OPERATOR = N_("A sign-in method was removed from your account by an administrator.")


async def operator_notice(
    store: Store,
    user: User,
    message: str,
    *,
    config: ProviderConfig | None = None,
    action: str = "",
    what: str = "",
    factor_id: str | None = None,
) -> None:
    """Tell the user of an operator's change; with ``config``, add the change's "this
    wasn't me" link (:func:`stepauth.provider.account.not_me.issue_link`).

    ``message`` is a msgid. No request of the user causes this notice (the operator's
    console or command line does, in the operator's language), so it is written in
    ``[ui] default_locale`` (:mod:`stepauth.provider.notices`); English without ``config``.
    """
    locale = config.ui.default_locale if config is not None else SOURCE_LOCALE
    with in_locale(locale):
        text = gettext(message)
    if config is not None:
        link = await issue_link(
            store,
            config,
            now=time.time(),
            user_id=user.id,
            action=action,
            what=what,
            factor_id=factor_id,
        )
        with in_locale(locale):
            footer = gettext(NOT_ME) % {"link": link}
        text = f"{text} {footer}"
    factors = await store.list_factors(user.id)
    oob = next((f for f in factors if f.kind == "oob" and not f.disabled), None)
    channel = str(oob.data.get("channel", "sms")) if oob is not None else "email"
    to = str(oob.data.get("to", user.username)) if oob is not None else user.username
    await OutboxSender().send(channel=channel, to=to, message=text)


async def factor_change_audit(
    store: Store,
    user: User,
    action: str,
    factor: str,
    credential: str,
    *,
    client_id: str = "stepauth-cli",
) -> None:
    """The ``event=factor_change`` audit event of an operator's change."""
    await store.append_audit(
        {
            "event": "factor_change",
            "result": "success",
            "action": action,
            "factor": factor,
            "user_id": user.id,
            "credential": credential,
            "client_id": client_id,
        },
        now=time.time(),
    )


async def confirm_factor(
    store: Store,
    user: User,
    factor_id: str,
    *,
    now: float | None = None,
    config: ProviderConfig | None = None,
    client_id: str = "stepauth-cli",
) -> str:
    """Take the hold off ``factor_id`` of ``user`` (audited, notified); its kind.

    Raises :class:`~stepauth.errors.StepAuthError` with ``error="unknown"`` when the
    user has no such factor and ``error="not_held"`` when it is not on hold at ``now``;
    nothing changes then."""
    factor = await store.get_factor(factor_id)
    if factor is None or factor.user_id != user.id:
        raise StepAuthError(f"{user.username} has no factor {factor_id}", error="unknown")
    if not is_held(factor, time.time() if now is None else now):
        raise StepAuthError(f"factor {factor_id} is not on hold", error="not_held")
    await store.update_factor(factor.id, data=released(factor.data))
    await factor_change_audit(store, user, "confirm", factor.kind, factor.id, client_id=client_id)
    await operator_notice(
        store,
        user,
        N_(
            "An administrator confirmed a sign-in method added to your account: "
            "it now works at its full strength."
        ),
        config=config,
        action="confirm",
        what="sign-in method",
        factor_id=factor.id,
    )
    return factor.kind
