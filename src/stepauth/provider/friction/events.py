"""``POST /friction/events``: outcomes only the relying party sees, stored as audit records.

A relying party reports what never reaches the Provider (:mod:`stepauth.sdk.friction`):
a prompt it avoided (its session was fresh enough, or a PSD2 RTS exemption applied) and an
action it executed after a step-up. The body is JSON::

    {"events": [{"type": "prompt_avoided", "action": "payment_initiation",
                 "reason": "exemption", "exemption": "low_value"},
                {"type": "action_executed", "action": "payment_initiation"}]}

Checks, in order, each failing closed before anything is stored:

1. the body is at most :data:`MAX_BODY` bytes (reading stops there: 413) and JSON nested
   at most :data:`MAX_DEPTH` levels (RFC 8259 §9 limits: 400);
2. the client authenticates as at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2:
   HTTP Basic, or ``client_secret`` / ``client_assertion`` members of the body), and is
   confidential: a public client proves nothing, so anyone could write in its name (401
   ``invalid_client``);
3. the body has exactly the members above, 1 to :data:`MAX_EVENTS` events, each with
   known members and values (400 ``invalid_request``).

The events are stored under the authenticated ``client_id`` and the Provider's clock:
a client never writes in another's name, nor in the past.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from stepauth.audit.friction_records import (
    ACTION_EXECUTED,
    APP,
    AVOIDED_REASONS,
    PROMPT_AVOIDED,
    friction_record,
)
from stepauth.provider import jsonlimits
from stepauth.provider.client_auth import CLIENT_AUTH_PARAMS, authenticate_client
from stepauth.provider.errors import InvalidClient, InvalidRequest
from stepauth.provider.state import get_state

__all__ = ["MAX_BODY", "MAX_DEPTH", "MAX_EVENTS", "PATH", "PayloadTooLarge", "routes"]

PATH: Final = "/friction/events"
#: A hundred events of short strings fit with room to spare.
MAX_BODY: Final = 32 * 1024
#: ``{"events": [{…}]}``: an object, its array, each event's object.
MAX_DEPTH: Final = 3
MAX_EVENTS: Final = 100
_MAX_TEXT: Final = 128
_TOP: Final = frozenset({"events", "client_id"} | CLIENT_AUTH_PARAMS)
_EVENT_MEMBERS: Final = {
    PROMPT_AVOIDED: frozenset({"type", "action", "reason", "exemption"}),
    ACTION_EXECUTED: frozenset({"type", "action"}),
}


class PayloadTooLarge(InvalidRequest):
    """A body over :data:`MAX_BODY` bytes (RFC 9110 §15.5.14)."""

    status = 413


async def _body(request: Request) -> Any:
    """Check 1: the bounded JSON body."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise PayloadTooLarge(f"the body is larger than {MAX_BODY} bytes")
    try:
        return jsonlimits.loads(bytes(body), max_depth=MAX_DEPTH, max_bytes=MAX_BODY)
    except ValueError as exc:  # malformed, or nested too deep (JsonLimitExceeded)
        raise InvalidRequest(f"the body is not a JSON object of events: {exc}") from None


def _auth_params(body: Any) -> dict[str, str]:
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    params = {k: v for k, v in body.items() if k in _TOP and k != "events"}
    if not all(isinstance(v, str) for v in params.values()):
        raise InvalidRequest("client authentication members must be strings")
    return params


def _text(event: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = event.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_TEXT:
        raise InvalidRequest(f"{name} must be a non-empty string of at most {_MAX_TEXT} chars")
    if not value.isprintable():
        raise InvalidRequest(f"{name} must be printable text")
    return value


def _event(event: Any) -> dict[str, Any]:
    """Check 3 for one event: its record fields."""
    if not isinstance(event, dict):
        raise InvalidRequest("each event must be a JSON object")
    kind = event.get("type")
    members = _EVENT_MEMBERS.get(kind) if isinstance(kind, str) else None
    if members is None:
        raise InvalidRequest(f"type must be one of {sorted(_EVENT_MEMBERS)}")
    unknown = set(event) - members
    if unknown:
        raise InvalidRequest(f"unknown event members: {sorted(unknown)}")
    fields: dict[str, Any] = {"kind": kind, "action": _text(event, "action")}
    if kind == PROMPT_AVOIDED:
        reason = event.get("reason")
        if reason not in AVOIDED_REASONS:
            raise InvalidRequest(f"reason must be one of {list(AVOIDED_REASONS)}")
        exemption = _text(event, "exemption", required=False)
        if exemption is not None and reason != "exemption":
            raise InvalidRequest("exemption names the exemption of reason 'exemption' only")
        fields.update(reason=reason, exemption=exemption)
    return fields


def _events(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Check 3: the body's members and its events."""
    unknown = set(body) - _TOP
    if unknown:
        raise InvalidRequest(f"unknown members: {sorted(unknown)}")
    events = body.get("events")
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
        raise InvalidRequest(f"events must be a list of 1 to {MAX_EVENTS} events")
    return [_event(e) for e in events]


async def friction_events(request: Request) -> Response:
    state = get_state(request)
    body = await _body(request)
    client = await authenticate_client(request, _auth_params(body), endpoint=PATH)
    if client.method == "none":
        raise InvalidClient("reporting friction requires an authenticated confidential client")
    events = _events(body)
    now = state.clock()
    for fields in events:
        record = friction_record(APP, client_id=client.client_id, **fields)
        await state.store.append_audit(record, now=now)
    return JSONResponse(
        {"recorded": len(events)}, status_code=202, headers={"cache-control": "no-store"}
    )


routes: list[BaseRoute] = [Route(PATH, friction_events, methods=["POST"], name="friction_events")]
