"""Report what only the app sees of a step-up: ``FrictionReporter``.

The Provider records every prompt it shows (docs/friction.md); it never sees a prompt the
app did not need — its session was fresh enough, or the policy granted a PSD2 RTS
exemption (:meth:`stepauth.policy.Policy.decide`: ``Decision.exempt``) — nor whether the
action ran after the step-up. The app reports those through a :class:`FrictionReporter`
of its choice:

* :class:`CallbackReporter` hands the events to a function of the app (a log, a queue);
* :class:`HttpReporter` posts them to the Provider's ``POST /friction/events``,
  authenticated as the client (``client_secret_basic``, RFC 6749 §2.3.1), where they are
  stored with the Provider's records and counted by ``stepauth friction report``.

Name the action as the Provider does: the ``authorization_details`` type of the request
(``payment_initiation``), else the ``acr`` it asks for, so both halves land in one row.
"""

from __future__ import annotations

import base64
import inspect
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol, runtime_checkable
from urllib.parse import quote

import httpx

from stepauth.sdk._io import Flow, run_async, run_sync
from stepauth.sdk.errors import SDKError

__all__ = [
    "CallbackReporter",
    "FrictionEvent",
    "FrictionReportFailed",
    "FrictionReporter",
    "HttpReporter",
    "action_executed",
    "prompt_avoided",
]

#: The Provider's endpoint, relative to its issuer.
EVENTS_PATH: Final = "/friction/events"
#: Most events in one request (the Provider refuses more).
BATCH: Final = 100
AvoidedReason = Literal["fresh_session", "exemption"]
AVOIDED_REASONS: Final = ("fresh_session", "exemption")


class FrictionReportFailed(SDKError):
    """The Provider did not accept the events (``status``: its HTTP status, 0 = no answer)."""

    error = "friction_report_failed"

    def __init__(self, description: str, *, status: int) -> None:
        super().__init__(description)
        self.status = status


@dataclass(frozen=True)
class FrictionEvent:
    """One app-side outcome: ``type`` ``prompt_avoided`` or ``action_executed``."""

    type: Literal["prompt_avoided", "action_executed"]
    action: str
    reason: AvoidedReason | None = None
    exemption: str | None = None

    def to_json(self) -> dict[str, str]:
        body = {"type": self.type, "action": self.action}
        if self.reason is not None:
            body["reason"] = self.reason
        if self.exemption is not None:
            body["exemption"] = self.exemption
        return body


def prompt_avoided(
    action: str, *, reason: AvoidedReason, exemption: str | None = None
) -> FrictionEvent:
    """The app answered ``action`` without a prompt: ``fresh_session`` or ``exemption``
    (``exemption``: its name, e.g. ``low_value``)."""
    if reason not in AVOIDED_REASONS:
        raise SDKError(f"reason must be one of {list(AVOIDED_REASONS)}")
    if exemption is not None and reason != "exemption":
        raise SDKError("an exemption name goes with reason='exemption' only")
    return FrictionEvent("prompt_avoided", action, reason=reason, exemption=exemption)


def action_executed(action: str) -> FrictionEvent:
    """The app executed ``action`` after the step-up it asked for."""
    return FrictionEvent("action_executed", action)


@runtime_checkable
class FrictionReporter(Protocol):
    """Where the app's friction events go."""

    async def report(self, events: Sequence[FrictionEvent]) -> None: ...


class CallbackReporter:
    """Hands each batch of events to ``callback`` (a plain or a coroutine function)."""

    def __init__(self, callback: Callable[[Sequence[FrictionEvent]], Any]) -> None:
        self.callback = callback

    async def report(self, events: Sequence[FrictionEvent]) -> None:
        result = self.callback(list(events))
        if inspect.isawaitable(result):
            await result


def _basic(client_id: str, secret: str) -> str:
    # RFC 6749 §2.3.1: both parts form-urlencoded before Base64.
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


class HttpReporter:
    """Posts events to the Provider's ``POST /friction/events`` as a confidential client.

    ``report`` takes an :class:`httpx.AsyncClient`, ``report_sync`` an
    :class:`httpx.Client` (one code path, :mod:`stepauth.sdk._io`); each batch is at most
    :data:`BATCH` events. A refusal raises :class:`FrictionReportFailed`.
    """

    def __init__(
        self,
        issuer: str,
        *,
        client_id: str,
        client_secret: str,
        http: httpx.AsyncClient | None = None,
        http_sync: httpx.Client | None = None,
    ) -> None:
        self.endpoint = issuer.rstrip("/") + EVENTS_PATH
        self.client_id = client_id
        self._authorization = _basic(client_id, client_secret)
        self.http = http
        self.http_sync = http_sync

    def _flow(self, events: Sequence[FrictionEvent]) -> Flow[None]:
        for start in range(0, len(events), BATCH):
            body = {"events": [e.to_json() for e in events[start : start + BATCH]]}
            response = yield httpx.Request(
                "POST",
                self.endpoint,
                content=json.dumps(body).encode(),
                headers={
                    "Authorization": self._authorization,
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                },
            )
            if response is None:
                raise FrictionReportFailed("the Provider did not answer", status=0)
            if response.status_code != 202:
                raise FrictionReportFailed(
                    f"the Provider refused the events ({response.status_code})",
                    status=response.status_code,
                )

    async def report(self, events: Sequence[FrictionEvent]) -> None:
        if not events:
            return
        if self.http is not None:
            await run_async(self._flow(events), self.http)
            return
        async with httpx.AsyncClient() as http:
            await run_async(self._flow(events), http)

    def report_sync(self, events: Sequence[FrictionEvent]) -> None:
        if not events:
            return
        if self.http_sync is not None:
            run_sync(self._flow(events), self.http_sync)
            return
        with httpx.Client() as http:
            run_sync(self._flow(events), http)
