"""Friction records: what a step-up cost the user, one audit event per step.

Every record is an audit event (``Store.append_audit``) of kind :data:`EVENT`; its
``stage`` says which step it records. The interaction a step belongs to is named by
``ix``, a digest of the interaction id (never the id itself: with the browser cookie it
opens the prompt). The user is never named: the report counts, it does not follow people.

``request`` (``/authorize`` answered; one per authorization request)
    ``result`` :data:`PROMPTED` (an interaction ``ix`` asks the user; ``expires_at`` is
    when it ends unanswered, ``asked`` the factor kinds it can offer), :data:`SATISFIED`
    (the session answered: no prompt) or :data:`REFUSED_UNMEETABLE`
    (``unmet_authentication_requirements``); ``acr_before`` the session's level,
    ``acr_requested`` what was asked. A second request handed a pending interaction
    (identical bound requests share one prompt) carries that interaction's ``ix``.
    Requests the session answered are written in aggregate: one :data:`SATISFIED` record
    per action, client and UTC day counts ``count`` of them (its ``at`` the first; no
    ``acr_before`` or ``acr_requested``).
``factor`` (a factor form of interaction ``ix`` was verified or refused)
    ``factor`` the kind, ``result`` ``success``, ``failure`` or ``locked``.
``completed`` (interaction ``ix`` answered the request)
    ``acr_after`` the level reached, ``seconds`` from its start.
``refused`` (interaction ``ix`` ended with ``unmet_authentication_requirements``).
``app`` (reported by the relying party, ``POST /friction/events``)
    ``kind`` :data:`PROMPT_AVOIDED` (``reason`` :data:`AVOIDED_REASONS`, ``exemption``
    the PSD2 RTS exemption's name) or :data:`ACTION_EXECUTED` (after a step-up).

Every record names its ``action`` (:func:`action_of`) and ``client_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from stepauth.errors import StepAuthError

__all__ = [
    "ACTION_EXECUTED",
    "APP",
    "AVOIDED_REASONS",
    "COMPLETED",
    "EVENT",
    "FACTOR",
    "FRICTION_FIELDS",
    "PROMPTED",
    "PROMPT_AVOIDED",
    "REFUSED",
    "REFUSED_UNMEETABLE",
    "REQUEST",
    "SATISFIED",
    "SIGN_IN",
    "action_of",
    "friction_record",
]

EVENT = "friction"

REQUEST = "request"
FACTOR = "factor"
COMPLETED = "completed"
REFUSED = "refused"
APP = "app"
STAGES = (REQUEST, FACTOR, COMPLETED, REFUSED, APP)

PROMPTED = "prompted"
SATISFIED = "satisfied"
REFUSED_UNMEETABLE = "refused_unmeetable"

PROMPT_AVOIDED = "prompt_avoided"
ACTION_EXECUTED = "action_executed"
#: Why the app did not ask: its session was fresh enough, or an exemption applied.
AVOIDED_REASONS = ("fresh_session", "exemption")

#: The action of a request that names no transaction and no level: a plain sign-in.
SIGN_IN = "sign_in"

FRICTION_FIELDS = (
    "event",
    "stage",
    "result",
    "action",
    "client_id",
    "ix",
    "acr_before",
    "acr_requested",
    "acr_after",
    "asked",
    "factor",
    "seconds",
    "expires_at",
    "count",
    "kind",
    "reason",
    "exemption",
)
_MAX = 128


def action_of(
    *, authorization_details: Sequence[Mapping[str, Any]] | None, acr: Iterable[str]
) -> str:
    """The action a request is for: its RFC 9396 ``authorization_details`` type(s)
    (sorted, ``+``-joined), else the ``acr`` values it requested, else :data:`SIGN_IN`."""
    types = sorted({str(d.get("type")) for d in authorization_details or () if d.get("type")})
    if types:
        return "+".join(types)
    return " ".join(acr) or SIGN_IN


def _clean(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [str(v)[:_MAX] for v in value][:16]
    return str(value)[:_MAX]


def friction_record(stage: str, **fields: Any) -> dict[str, Any]:
    """The audit event of one friction ``stage``: named fields only, values bounded."""
    if stage not in STAGES:
        raise StepAuthError(f"unknown friction stage {stage!r}", error="invalid_friction_record")
    fields.update(event=EVENT, stage=stage)
    return {k: _clean(v) for k, v in fields.items() if k in FRICTION_FIELDS and v is not None}
