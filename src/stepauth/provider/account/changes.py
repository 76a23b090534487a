"""Factor changes of ``/account``: each one audited and notified out of band.

ASVS 4.0.3 2.5.5 / 5.0 6.3.7: "notify when an authentication factor is changed";
ASVS 5.0 16.3.1: the change is in the audit log (never a secret: no TOTP seed, no code).
"""

from __future__ import annotations

from stepauth import audit
from stepauth.provider.factors.oob import notify
from stepauth.provider.state import ProviderState

__all__ = ["NAMES", "record_change"]

#: How a factor kind is named in notices ("A passkey was added to your account").
NAMES = {
    "passkey": "passkey",
    "security-key": "security key",
    "webauthn": "passkey",
    "totp": "authenticator app",
    "recovery": "set of recovery codes",
    "oob": "phone number",
    "password": "password",
}
_VERBS = {"add": "added to", "remove": "removed from", "rename": "renamed on"}


async def record_change(
    state: ProviderState,
    *,
    user_id: str,
    action: str,
    kind: str,
    client: audit.Client,
    credential: str | None = None,
) -> None:
    """Audit the change and tell the user about it."""
    now = state.clock()
    await audit.factor_change(
        state.store,
        now=now,
        user_id=user_id,
        action=action,
        factor=kind,
        client=client,
        credential=credential,
    )
    name = NAMES.get(kind, "sign-in method")
    article = "An" if name[0] in "aeiou" else "A"
    message = f"{article} {name} was {_VERBS.get(action, action)} your account."
    if action == "add" and kind == "recovery":
        message = "New recovery codes were created for your account; the old ones stop working."
    await notify(state, user_id, message + " If this was not you, contact support.")
