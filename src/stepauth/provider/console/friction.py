"""``GET /admin/friction``: the friction report per action over the last days.

The numbers are :func:`stepauth.audit.friction.friction_report` over the friction records
of the period (docs/friction.md says what each one means): per action, a server-rendered
SVG chart of the prompt, completion and abandonment rates by day (no script: the CSP
allows none inline, and the chart needs none) and a table with the exact numbers —
prompts, completions, abandonments, median and p90 time to complete, prompts avoided
by exemptions and by reuse. ``?days=N`` (1 to 90, default 14) sets the period: the last
N UTC days, today included.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from stepauth.audit.friction import TOTAL, ActionDay, friction_report
from stepauth.audit.friction_records import EVENT
from stepauth.provider.authorize.interaction_start import INTERACTION_TTL
from stepauth.provider.console.access import Admin, admin_of
from stepauth.provider.console.render import percent, render_console

__all__ = ["CHART", "chart", "friction_page"]

DEFAULT_DAYS = 14
MAX_DAYS = 90
DAY = 86400
#: Chart geometry (SVG user units): width, height and the plot's margins.
CHART = {"width": 600, "height": 200, "left": 40, "right": 10, "top": 10, "bottom": 30}
SERIES = (
    ("prompt", "prompt_rate", "#1a5fd0"),
    ("completion", "completion_rate", "#1b7f3b"),
    ("abandonment", "abandonment_rate", "#a4000f"),
)


def _days(request: Request) -> int:
    raw = request.query_params.get("days", "")
    if not raw.isdigit():
        return DEFAULT_DAYS
    return min(max(int(raw), 1), MAX_DAYS)


def chart(days: Sequence[ActionDay]) -> dict[str, Any]:
    """The SVG of one action: a polyline per rate (0–100 %) over its days, with dots."""
    g = CHART
    plot_w = g["width"] - g["left"] - g["right"]
    plot_h = g["height"] - g["top"] - g["bottom"]
    step = plot_w / max(len(days) - 1, 1)

    def x(i: int) -> float:
        if len(days) == 1:  # one day: in the middle, not on the axis
            return round(g["left"] + plot_w / 2, 1)
        return round(g["left"] + i * step, 1)

    def y(rate: float) -> float:
        return round(g["top"] + plot_h * (1 - rate), 1)

    lines = []
    for name, attribute, colour in SERIES:
        points = [
            (x(i), y(rate))
            for i, day in enumerate(days)
            if (rate := getattr(day, attribute)) is not None and math.isfinite(rate)
        ]
        lines.append(
            {
                "name": name,
                "colour": colour,
                "points": " ".join(f"{px},{py}" for px, py in points),
                "dots": points,
            }
        )
    return {
        **g,
        "bottom_y": g["height"] - g["bottom"],
        "right_x": g["width"] - g["right"],
        "grid": [{"y": y(r), "label": f"{int(r * 100)} %"} for r in (0.0, 0.5, 1.0)],
        "labels": [{"x": x(i), "text": d.day[5:]} for i, d in enumerate(days)],
        "lines": lines,
    }


def _row(day: ActionDay) -> dict[str, Any]:
    return {
        "day": day.day,
        "attempts": day.attempts,
        "prompts": day.prompts,
        "prompt_rate": percent(day.prompt_rate),
        "completed": day.completed,
        "abandoned": day.abandoned,
        "failed": day.failed,
        "pending": day.pending,
        "completion_rate": percent(day.completion_rate),
        "abandonment_rate": percent(day.abandonment_rate),
        "median": "–" if day.median_seconds is None else f"{day.median_seconds:.1f} s",
        "p90": "–" if day.p90_seconds is None else f"{day.p90_seconds:.1f} s",
        "avoided_exemption": day.avoided_exemption,
        "avoided_reuse": day.avoided_reuse,
    }


async def friction_page(request: Request) -> Response:
    admin = await admin_of(request)
    if not isinstance(admin, Admin):
        return admin
    days = _days(request)
    now = admin.state.clock()
    # whole UTC days, today included (a request of this very second is in the period)
    until = (now // DAY + 1) * DAY
    since = until - days * DAY
    # Outcomes of interactions started before ``until`` are recorded up to their lifetime later.
    records = await admin.state.store.audit_between(
        since=since, until=until + INTERACTION_TTL, event=EVENT
    )
    actions: dict[str, dict[str, Any]] = {}
    for row in friction_report(records, since=since, until=until, now=now):
        entry = actions.setdefault(row.action, {"action": row.action, "total": None, "days": []})
        if row.day == TOTAL:
            entry["total"] = _row(row)
        else:
            entry["days"].append(row)
    for entry in actions.values():
        entry["chart"] = chart(entry["days"])
        entry["days"] = [_row(d) for d in entry["days"]]
    return render_console(admin, "friction.html", actions=list(actions.values()), days=days)
