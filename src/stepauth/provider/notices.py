"""Messages to users outside the browser: the Provider's sender and account notices.

Senders are pluggable (:class:`Sender`, ``ProviderState.sender``); :class:`OutboxSender`
is the development sender and the default: it appends one JSON line per message to a
local outbox file that the operator reads with ``stepauth outbox``. OOB codes
(:mod:`stepauth.provider.factors.oob`) and account notices (:func:`notify`: a factor added
or removed, a sign-in block) go out through it.

**Language.** A message is written in the language of the request that causes it (the
current locale, :func:`stepauth.provider.i18n.current_locale`: ``ui_locales``, then
``Accept-Language``, then ``[ui] default_locale``), so the code sent from a German sign-in
page and the notice of a factor added on a German account page are German, and the
reader gets the same words as on the page. Each message is one catalogue entry (a
plural one where it counts minutes or attempts), never English pieces joined together;
what it carries as data (a code, a link, a factor's own label, an instant formatted by
:mod:`stepauth.provider.i18n.formatting`) is not translated. The Provider keeps no
language per user: a notice that no request of the user causes (an operator's change,
:func:`stepauth.provider.factors.confirm.operator_notice`) is written in
``[ui] default_locale``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from stepauth.provider.state import ProviderState

__all__ = ["DEFAULT_OUTBOX", "OutboxSender", "Sender", "notify", "read_outbox"]

#: The development outbox (override with ``STEPAUTH_OUTBOX``).
DEFAULT_OUTBOX = "stepauth-outbox.jsonl"


class Sender(Protocol):
    """Delivers a message on a channel (``"sms"`` or ``"email"``) to an address."""

    async def send(self, *, channel: str, to: str, message: str) -> None: ...


class OutboxSender:
    """Development sender: one JSON line per message in a local file (mode 0600)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = path

    @property
    def path(self) -> Path:
        """The given path, else ``$STEPAUTH_OUTBOX`` (read at each send), else
        :data:`DEFAULT_OUTBOX`."""
        return Path(self._path or os.environ.get("STEPAUTH_OUTBOX", DEFAULT_OUTBOX))

    async def send(self, *, channel: str, to: str, message: str) -> None:
        line = json.dumps({"at": time.time(), "channel": channel, "to": to, "message": message})
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(line + "\n")


def read_outbox(path: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """The outbox messages, oldest first (malformed lines are skipped)."""
    outbox = Path(path or os.environ.get("STEPAUTH_OUTBOX", DEFAULT_OUTBOX))
    if not outbox.exists():
        return []
    messages = []
    for line in outbox.read_text(encoding="utf-8").splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            messages.append(item)
    return messages


async def notify(state: ProviderState, user_id: str, message: str) -> None:
    """Send an account notice to the user (ASVS 5.0 6.3.7 / 4.0.3 2.5.5).

    ``message`` is already in the request's language (module docstring). Goes to the
    address of the user's first OOB factor, else by email to the username.
    """
    user = await state.store.get_user(user_id)
    if user is None:
        return
    factors = await state.store.list_factors(user_id)
    oob = next((f for f in factors if f.kind == "oob" and not f.disabled), None)
    channel = str(oob.data.get("channel", "sms")) if oob is not None else "email"
    to = str(oob.data.get("to", user.username)) if oob is not None else user.username
    await state.sender.send(channel=channel, to=to, message=message)
