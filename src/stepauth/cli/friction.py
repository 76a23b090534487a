"""``stepauth friction report [--since DATE] [--until DATE] [--json]``.

Reads the friction records of the audit log (:mod:`stepauth.audit.friction_records`) and
prints, per action, one row per UTC day and the period's total
(:func:`stepauth.audit.friction.friction_report`; docs/friction.md says what each number
means). ``--json`` prints the same numbers as one JSON document.

``--since`` and ``--until`` take a date (``2026-12-01``, UTC) or an ISO 8601 time; a date
in ``--until`` includes that day. Default: the last 30 days up to now. A bad date is one
``stepauth: error:`` line (exit 2), as every bad input of the CLI.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from stepauth.audit.friction import TOTAL, ActionDay, friction_report, report_json
from stepauth.audit.friction_records import EVENT
from stepauth.cli import add_action, add_command_group, load_cli_config, with_store
from stepauth.errors import StepAuthError
from stepauth.provider.authorize.interaction_start import INTERACTION_TTL

__all__ = ["parse_time", "register", "render_table"]

_DEFAULT_DAYS = 30
_COLUMNS = (
    ("day", "day"),
    ("attempts", "attempts"),
    ("prompts", "prompts"),
    ("prompt%", "prompt_rate"),
    ("done", "completed"),
    ("abandoned", "abandoned"),
    ("failed", "failed"),
    ("unmet", "refused_unmeetable"),
    ("open", "pending"),
    ("done%", "completion_rate"),
    ("abandon%", "abandonment_rate"),
    ("median s", "median_seconds"),
    ("p90 s", "p90_seconds"),
    ("reuse", "avoided_reuse"),
    ("exempt", "avoided_exemption"),
    ("executed", "executed_after_step_up"),
)


def register(subparsers: Any) -> None:
    commands = add_command_group(subparsers, "friction", "how often and how hard users are asked")
    report = add_action(commands, "report", "per action and day: prompts, outcomes, times", _report)
    report.add_argument("--since", metavar="DATE", help="from this UTC date or time")
    report.add_argument("--until", metavar="DATE", help="up to this UTC date (included) or time")
    report.add_argument("--json", action="store_true", help="print JSON instead of a table")


def parse_time(value: str, *, option: str, end: bool = False) -> float:
    """Epoch seconds of ``value``: a date (its start; with ``end``, the next day's start)
    or an ISO 8601 time (UTC unless it says otherwise)."""
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return (day + timedelta(days=1 if end else 0)).timestamp()
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise StepAuthError(
            f"{option} must be a date (YYYY-MM-DD) or an ISO 8601 time, not {value!r}",
            error="usage",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _period(args: argparse.Namespace, now: float) -> tuple[float, float]:
    # ``until`` is exclusive: by default one second past now, so what happened now counts.
    until = parse_time(args.until, option="--until", end=True) if args.until else now + 1
    since = (
        parse_time(args.since, option="--since") if args.since else until - _DEFAULT_DAYS * 86_400
    )
    if since >= until:
        raise StepAuthError("--since must be before --until", error="usage")
    return since, until


def _cell(value: Any, name: str) -> str:
    if value is None:
        return "-"
    if name.endswith("_rate"):
        return f"{100 * value:.1f}"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def render_table(rows: Sequence[ActionDay]) -> str:
    """Per action: its name, one line per day and the total, then failures by factor."""
    out: list[str] = []
    actions: dict[str, list[ActionDay]] = {}
    for row in rows:
        actions.setdefault(row.action, []).append(row)
    for action, own in actions.items():
        table = [[title for title, _ in _COLUMNS]]
        ordered = [r for r in own if r.day != TOTAL] + [r for r in own if r.day == TOTAL]
        for row in ordered:
            table.append([_cell(getattr(row, name), name) for _, name in _COLUMNS])
        widths = [max(len(line[i]) for line in table) for i in range(len(_COLUMNS))]
        out.append(f"action: {action}")
        out.extend(
            "  "
            + "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
            for line in table
        )
        total = next((r for r in own if r.day == TOTAL), None)
        if total is not None and total.failures_by_factor:
            failures = ", ".join(f"{k} {v}" for k, v in sorted(total.failures_by_factor.items()))
            out.append(f"  failures by factor: {failures}")
        out.append("")
    return "\n".join(out).rstrip("\n") if out else "no friction records in this period"


def _report(args: argparse.Namespace) -> int:
    now = time.time()
    since, until = _period(args, now)
    config = load_cli_config(args)
    # Outcomes of interactions started before ``until`` are recorded up to their lifetime later.
    records = with_store(
        config,
        lambda store: store.audit_between(since=since, until=until + INTERACTION_TTL, event=EVENT),
    )
    rows = friction_report(records, since=since, until=until, now=now)
    if args.json:
        print(json.dumps(report_json(rows, since=since, until=until), indent=2))
    else:
        print(render_table(rows))
    return 0
