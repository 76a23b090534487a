"""The one sentence a step-up page opens with: why it asks, and what it asks for.

A step-up page (a signed-in user asked to confirm it is them) says both in one sentence,
``"This action needs a stronger sign-in: confirm it is you with your passkey."``, built
from the first reason of the login decision and the factors the page offers. Each
sentence and each way of answering is a whole catalogue message, so a translator can move
the way (``%(method)s``) where the language wants it.
"""

from __future__ import annotations

from collections.abc import Sequence

from stepauth.provider.i18n import N_, gettext

__all__ = ["ASKS", "METHODS", "step_up_sentence"]

#: Why the page asks, by reason of the login decision (the rest keep their own words).
ASKS = {
    "max_age": N_("Your last sign-in was a while ago: confirm it is you %(method)s."),
    "essential_acr": N_("This action needs a stronger sign-in: confirm it is you %(method)s."),
    "acr_not_met": N_("This action needs a stronger sign-in: confirm it is you %(method)s."),
    "prompt_login": N_("The application asked you to sign in again: confirm it is you %(method)s."),
    "binding_required": N_("To approve exactly these details, confirm it is you %(method)s."),
}
#: What the page asks for, by the one factor it offers.
METHODS = {
    "webauthn": N_("with your passkey"),
    "totp": N_("with a code from your authenticator app"),
    "oob": N_("with a code sent to your phone"),
    "password": N_("with your password"),
    "recovery": N_("with a recovery code"),
}
#: ... or when it offers more than one.
ANY_METHOD = N_("with one of the ways below")


def step_up_sentence(reason: str, offered: Sequence[str]) -> str | None:
    """The sentence for ``reason`` and the ``offered`` factor kinds, in the request's
    language; ``None`` for a reason with no step-up sentence (its own words stay)."""
    ask = ASKS.get(reason)
    if ask is None or not offered:
        return None
    method = METHODS.get(offered[0], ANY_METHOD) if len(set(offered)) == 1 else ANY_METHOD
    return gettext(ask) % {"method": gettext(method)}
