"""The friction report: per action and per day, how often users were asked and how it went.

Pure functions over friction records (:mod:`stepauth.audit.friction_records`, as the audit
log returns them: dicts with ``at``), so the numbers are testable without a Provider.
:func:`friction_report` counts, per action and UTC day of the authorization request:

``attempts``            authorization requests for the action, plus the prompts the app
                        reports it avoided (they never reached the Provider)
``prompts``             requests that opened an interaction (the user was asked)
``prompt_rate``         prompts / attempts
``completed``           prompts answered (the interaction issued a code)
``abandoned``           prompts whose interaction expired unanswered, no factor refused
``failed``              prompts whose interaction expired unanswered after refused factors
                        (a lockout or giving up)
``refused_unmeetable``  requests (or prompts) ended with ``unmet_authentication_requirements``
``pending``             prompts whose interaction is still open at ``now``: in no rate
``completion_rate``     completed / settled prompts (prompts − pending)
``abandonment_rate``    abandoned / settled prompts
``failures_by_factor``  refused factor forms (failures and lockouts) per factor kind
``median_seconds``, ``p90_seconds``
                        time to complete, from the start of the interaction; the p90 is
                        the nearest-rank percentile (the ⌈0.9·n⌉-th smallest)
``avoided_reuse``       requests a session already answered, requests handed a pending
                        identical prompt, and prompts the app avoided with a fresh session
``avoided_exemption``   prompts the app avoided with a PSD2 RTS exemption
``executed_after_step_up``
                        actions the app reports it executed after a step-up

"Abandoned" needs no background job: an interaction is abandoned when, at report time,
its ``expires_at`` has passed and no completion was recorded for it. Requests a session
answered arrive as aggregated records (``count`` requests each, on the day of their ``at``).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from stepauth.audit.friction_records import (
    ACTION_EXECUTED,
    APP,
    COMPLETED,
    EVENT,
    FACTOR,
    PROMPT_AVOIDED,
    PROMPTED,
    REFUSED,
    REFUSED_UNMEETABLE,
    REQUEST,
    SATISFIED,
)

__all__ = ["TOTAL", "ActionDay", "friction_report", "percentile", "report_json"]

#: The ``day`` of an action's row over the whole period.
TOTAL = "total"
_FAILED_RESULTS = frozenset({"failure", "locked"})


@dataclass
class ActionDay:
    """The friction of one action on one day (or over the period: ``day`` = :data:`TOTAL`)."""

    action: str
    day: str
    attempts: int = 0
    prompts: int = 0
    completed: int = 0
    abandoned: int = 0
    failed: int = 0
    refused_unmeetable: int = 0
    pending: int = 0
    avoided_reuse: int = 0
    avoided_exemption: int = 0
    executed_after_step_up: int = 0
    failures_by_factor: Counter[str] = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)

    @property
    def settled(self) -> int:
        return self.prompts - self.pending

    @property
    def prompt_rate(self) -> float | None:
        return _rate(self.prompts, self.attempts)

    @property
    def completion_rate(self) -> float | None:
        return _rate(self.completed, self.settled)

    @property
    def abandonment_rate(self) -> float | None:
        return _rate(self.abandoned, self.settled)

    @property
    def median_seconds(self) -> float | None:
        return float(statistics.median(self.seconds)) if self.seconds else None

    @property
    def p90_seconds(self) -> float | None:
        return percentile(self.seconds, 90)

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "day": self.day,
            "attempts": self.attempts,
            "prompts": self.prompts,
            "prompt_rate": self.prompt_rate,
            "completed": self.completed,
            "abandoned": self.abandoned,
            "failed": self.failed,
            "refused_unmeetable": self.refused_unmeetable,
            "pending": self.pending,
            "completion_rate": self.completion_rate,
            "abandonment_rate": self.abandonment_rate,
            "failures_by_factor": dict(sorted(self.failures_by_factor.items())),
            "median_seconds": self.median_seconds,
            "p90_seconds": self.p90_seconds,
            "avoided_reuse": self.avoided_reuse,
            "avoided_exemption": self.avoided_exemption,
            "executed_after_step_up": self.executed_after_step_up,
        }


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percentile(values: Iterable[float], p: float) -> float | None:
    """The nearest-rank ``p``-th percentile: the ⌈p/100·n⌉-th smallest value."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d")


class _Tally:
    """Rows by (action, day), each record counted in its day's row and the total."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], ActionDay] = {}

    def rows_of(self, action: str, at: float) -> tuple[ActionDay, ActionDay]:
        return self._row(action, _day(at)), self._row(action, TOTAL)

    def _row(self, action: str, day: str) -> ActionDay:
        row = self.rows.get((action, day))
        if row is None:
            row = self.rows[(action, day)] = ActionDay(action=action, day=day)
        return row


@dataclass
class _Interactions:
    """What happened in each interaction, by its ``ix``."""

    completed: dict[str, float] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)
    failures: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, records: Iterable[Mapping[str, Any]]) -> _Interactions:
        found = cls()
        for record in records:
            ix, stage = record.get("ix"), record.get("stage")
            if not isinstance(ix, str):
                continue
            if stage == COMPLETED:
                found.completed.setdefault(ix, float(record.get("seconds") or 0.0))
            elif stage == REFUSED:
                found.refused.add(ix)
            elif stage == FACTOR and record.get("result") in _FAILED_RESULTS:
                found.failures.setdefault(ix, []).append(str(record.get("factor") or "-"))
        return found


def _prompted(
    rows: tuple[ActionDay, ActionDay], ix: str, expires_at: float, seen: _Interactions, now: float
) -> None:
    failures = seen.failures.get(ix, [])
    for row in rows:
        row.prompts += 1
        row.failures_by_factor.update(failures)
        if ix in seen.completed:
            row.completed += 1
            row.seconds.append(seen.completed[ix])
        elif ix in seen.refused:
            row.refused_unmeetable += 1
        elif now < expires_at:
            row.pending += 1
        elif failures:
            row.failed += 1
        else:
            row.abandoned += 1


def _request(
    tally: _Tally, record: Mapping[str, Any], prompts: set[str], seen: _Interactions, now: float
) -> None:
    rows = tally.rows_of(str(record.get("action")), float(record["at"]))
    result, ix = record.get("result"), record.get("ix")
    if result == SATISFIED:  # requests the session answered, counted in aggregate
        count = int(record.get("count") or 1)
        for row in rows:
            row.attempts += count
            row.avoided_reuse += count
        return
    for row in rows:
        row.attempts += 1
    if result == PROMPTED and isinstance(ix, str) and ix not in prompts:
        prompts.add(ix)
        _prompted(rows, ix, float(record.get("expires_at") or 0.0), seen, now)
        return
    for row in rows:
        if result == REFUSED_UNMEETABLE:
            row.refused_unmeetable += 1
        elif result == PROMPTED:  # one prompt shared by two requests
            row.avoided_reuse += 1


def _app(tally: _Tally, record: Mapping[str, Any]) -> None:
    rows = tally.rows_of(str(record.get("action")), float(record["at"]))
    for row in rows:
        if record.get("kind") == PROMPT_AVOIDED:
            row.attempts += 1
            if record.get("reason") == "exemption":
                row.avoided_exemption += 1
            else:
                row.avoided_reuse += 1
        elif record.get("kind") == ACTION_EXECUTED:
            row.executed_after_step_up += 1


def friction_report(
    records: Iterable[Mapping[str, Any]], *, since: float, until: float, now: float
) -> list[ActionDay]:
    """The rows of requests and app reports with ``since <= at < until``, by action then
    day (each action's :data:`TOTAL` row first). ``records`` may run past ``until``: the
    outcome of an interaction started in the period is recorded up to its lifetime later.
    """
    friction = sorted(
        (r for r in records if r.get("event") == EVENT),
        key=lambda r: (float(r["at"]), int(r.get("seq") or 0)),
    )
    seen = _Interactions.of(friction)
    tally, prompts = _Tally(), set[str]()
    for record in friction:
        if float(record["at"]) < since and record.get("result") == PROMPTED:
            prompts.add(str(record.get("ix")))  # a prompt of the period before: not new
        if not since <= float(record["at"]) < until:
            continue
        if record.get("stage") == REQUEST:
            _request(tally, record, prompts, seen, now)
        elif record.get("stage") == APP:
            _app(tally, record)
    return sorted(tally.rows.values(), key=lambda r: (r.action, r.day != TOTAL, r.day))


def report_json(rows: Iterable[ActionDay], *, since: float, until: float) -> dict[str, Any]:
    """The report as JSON: per action, its ``total`` and its ``days``."""
    actions: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = actions.setdefault(row.action, {"action": row.action, "total": None, "days": []})
        if row.day == TOTAL:
            entry["total"] = row.to_json()
        else:
            entry["days"].append(row.to_json())
    return {
        "since": datetime.fromtimestamp(since, tz=UTC).isoformat(),
        "until": datetime.fromtimestamp(until, tz=UTC).isoformat(),
        "actions": list(actions.values()),
    }
