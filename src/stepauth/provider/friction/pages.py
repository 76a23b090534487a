"""Friction of the step-ups on the Provider's own pages (docs/friction.md).

``/account/reauth`` (action :data:`ACCOUNT`, before a change of sign-in methods) and
``/admin/reauth`` (action :data:`CONSOLE`, before a change on the operator console) ask a
signed-in user for a step-up without an authorization request or an interaction. They
leave the records an interaction leaves (:mod:`stepauth.audit.friction_records`), so
``stepauth friction report`` counts them like any step-up:

* a ``request`` record with ``result`` ``prompted`` when the page first asks (shown, or
  submitted without having been shown): the session's ``acr_before``, the factor kinds
  the page offers (``asked``) and ``expires_at``, an interaction's lifetime later;
* a ``factor`` record for each form verified or refused;
* a ``completed`` record when the session meets what the page asks for: ``acr_after``
  and the seconds since the prompt.

A prompt that expires without a completion is abandoned, or failed when factors were
refused in it, as an interaction is. One prompt lasts until it is completed or expires:
reloading the page, a refused factor or the first of two factors does not start another.
It is kept as an item of the store (:data:`PROMPT_KIND`) under a digest of the action,
the page's browser cookie and the user; the item holds the prompt's ``ix`` (random: no
record names the user or the browser) and its start. A sign-in on these pages (nobody
signed in yet) is not a step-up and is not recorded.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from stepauth.audit.friction_records import COMPLETED, FACTOR, PROMPTED, REQUEST, friction_record
from stepauth.provider.authorize.interaction_start import INTERACTION_TTL
from stepauth.provider.compare import sha256hex
from stepauth.provider.friction.recorder import factor_result
from stepauth.provider.interaction.outcome import acr_of

if TYPE_CHECKING:
    from stepauth.provider.interaction.outcome import Refusal
    from stepauth.provider.state import ProviderState
    from stepauth.store import Session, User

__all__ = ["ACCOUNT", "CONSOLE", "PROMPT_KIND", "PagePrompt", "page_prompt"]

#: The action of the ``/account/reauth`` step-up (the audit ``reason`` of its events).
ACCOUNT: Final = "account_change"
#: The action of the ``/admin/reauth`` step-up (the audit ``reason`` of its events).
CONSOLE: Final = "admin_change"
#: The store item of an open prompt.
PROMPT_KIND: Final = "friction_prompt"


@dataclass(frozen=True)
class PagePrompt:
    """The step-up prompt of ``action`` for one user in one browser."""

    state: ProviderState
    action: str
    key: str

    @classmethod
    def of(cls, state: ProviderState, action: str, browser: str, user_id: str) -> PagePrompt:
        """The prompt of the browser whose page cookie is ``browser``, for ``user_id``."""
        return cls(state, action, sha256hex("\0".join((action, browser, user_id))))

    async def _write(self, stage: str, now: float, **fields: Any) -> None:
        record = friction_record(stage, action=self.action, client_id=None, **fields)
        await self.state.store.append_audit(record, now=now)

    async def asked(self, session: Session, asked: Sequence[str]) -> None:
        """The page asks ``session`` for one of the factor kinds ``asked``: the prompt's
        record, unless this prompt is open already."""
        store, now = self.state.store, self.state.clock()
        if await store.get(PROMPT_KIND, self.key, now=now) is not None:
            return
        ix, expires_at = secrets.token_hex(16), now + INTERACTION_TTL
        opened = {"ix": ix, "at": now}
        if not await store.add(PROMPT_KIND, self.key, expires_at=expires_at, now=now, data=opened):
            return  # a concurrent request of the same browser opened it
        await self._write(
            REQUEST,
            now,
            result=PROMPTED,
            ix=ix,
            acr_before=acr_of(self.state, session.events, now),
            asked=list(asked),
            expires_at=expires_at,
        )

    async def tried(self, factor: str, refusal: Refusal | None) -> None:
        """A factor form of the open prompt was verified (no ``refusal``) or refused."""
        now = self.state.clock()
        item = await self.state.store.get(PROMPT_KIND, self.key, now=now)
        result = factor_result(refusal)
        if item is not None and result is not None:
            await self._write(FACTOR, now, ix=item.payload["ix"], factor=factor, result=result)

    async def completed(self, session: Session) -> None:
        """``session`` now meets what the page asks for: the open prompt is completed
        (once: the item is consumed), and the next step-up will be a new prompt."""
        store, now = self.state.store, self.state.clock()
        consumed = await store.consume(PROMPT_KIND, self.key, now=now)
        await store.delete(PROMPT_KIND, self.key)
        if not consumed.ok or consumed.payload is None:
            return
        await self._write(
            COMPLETED,
            now,
            ix=consumed.payload["ix"],
            acr_after=acr_of(self.state, session.events, now),
            seconds=max(0.0, now - float(consumed.payload["at"])),
        )


async def page_prompt(
    state: ProviderState,
    action: str,
    loaded: tuple[Session, User] | None,
    browser: str,
    asked: Sequence[str],
) -> PagePrompt | None:
    """The prompt of the page asking the signed-in ``loaded`` for one of ``asked``, its
    record written if it is new; ``None`` for a sign-in (nobody signed in: no step-up)."""
    if loaded is None:
        return None
    prompt = PagePrompt.of(state, action, browser, loaded[1].id)
    await prompt.asked(loaded[0], asked)
    return prompt
