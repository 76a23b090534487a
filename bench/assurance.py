"""Time the assurance core: evaluate() per request, assess() per session size.

Run: ``.venv/bin/python bench/assurance.py`` — prints a markdown section and writes it
to ``bench/results/assurance.md``. Best of N repeats (timeit) on the process CPU clock,
so the numbers are the least-disturbed runs on this machine, not averages, and time the
process spends descheduled by other jobs does not count.
"""

from __future__ import annotations

import os
import platform
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path

from stepauth.assurance import (
    AuthEvent,
    Requirement,
    assess,
    build_challenge,
    evaluate,
    parse_challenges,
)

NOW = 1_800_000_000.0
REPEAT = 7
RESULTS = Path(__file__).resolve().parent / "results" / "assurance.md"


def _session(size: int) -> list[AuthEvent]:
    """A realistic mix: passwords and codes, with one passkey step-up near the end."""
    kinds = [
        lambda at: AuthEvent(("pwd",), at, attrs={"factor": "password"}),
        lambda at: AuthEvent(("otp",), at, attrs={"factor": "totp", "time_step": 1}),
        lambda at: AuthEvent(("sms",), at, attrs={"factor": "oob"}),
    ]
    events = [kinds[i % len(kinds)](NOW - 600 * (size - i)) for i in range(size)]
    if size:
        events[-1] = AuthEvent(
            ("pop", "user", "pin"),
            NOW - 60,
            credential_id="c",
            attrs={"uv": True, "be": True, "bs": True, "factor": "webauthn"},
        )
    return events


def _best(func: Callable[[], object]) -> tuple[float, int]:
    # CPU time of this process: other jobs on a shared machine do not count against it.
    timer = timeit.Timer(func, timer=time.process_time)
    number, _ = timer.autorange()
    best = min(timer.repeat(repeat=REPEAT, number=number)) / number
    return best, number


def _fmt(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e3:.2f} ms"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def main() -> None:
    load = _load()
    phr = Requirement(("phr",), max_age=300)
    fresh = {"acr": "phrh", "auth_time": NOW - 30, "amr": ["hwk", "user", "pin", "mfa"]}
    low = {"acr": "urn:stepauth:acr:2fa", "auth_time": NOW - 30}
    stale = {"acr": "phr", "auth_time": NOW - 900}
    malformed = {"acr": "phr", "auth_time": True}
    header = build_challenge(
        error_description="A different authentication level is required",
        acr_values=["phr", "phrh"],
        max_age=300,
    )
    cases: list[tuple[str, Callable[[], object]]] = [
        ("reference: call a lambda building a 1-item dict", lambda: {"a": 1}),
        ("evaluate: phr max_age=300, token phrh (Satisfied)", lambda: evaluate(phr, fresh, NOW)),
        ("evaluate: token 2fa (StepUp acr_not_met)", lambda: evaluate(phr, low, NOW)),
        ("evaluate: stale auth_time (max_age_exceeded)", lambda: evaluate(phr, stale, NOW)),
        ("evaluate: auth_time=true (auth_time_invalid)", lambda: evaluate(phr, malformed, NOW)),
    ]
    for size in (1, 10, 100):
        events = _session(size)
        count = f"{size} event" + ("s" if size != 1 else "")
        cases.append(
            (
                f"assess: {count}, acr_values=phr max_age=300",
                lambda e=events: assess(e, ["phr"], 300, now=NOW),
            )
        )
        cases.append(
            (
                f"assess: {count}, stale 2fa → missing",
                lambda e=events: assess(e, ["urn:stepauth:acr:2fa"], 30, now=NOW),
            )
        )
        cases.append(
            (f"assess: {count}, no acr (highest level)", lambda e=events: assess(e, now=NOW))
        )
    cases.append(
        (
            "build_challenge (RFC 9470, acr_values + max_age)",
            lambda: build_challenge(
                error_description="A different authentication level is required",
                acr_values=["phr", "phrh"],
                max_age=300,
            ),
        )
    )
    cases.append(("parse_challenges (one Bearer challenge)", lambda: parse_challenges(header)))

    rows = []
    for name, func in cases:
        seconds, number = _best(func)
        rows.append(f"| {name} | {_fmt(seconds)} | {number} × {REPEAT} |")
        print(rows[-1], file=sys.stderr)

    lines = [
        "## Assurance core (`stepauth.assurance`)",
        "",
        "Command: `.venv/bin/python bench/assurance.py` — timeit with the process CPU "
        f"clock (`time.process_time`), best of {REPEAT} repeats, time per call.",
        "",
        f"Machine: {_cpu()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"load average {load} at start (the reference row shows the interpreter's "
        "speed for comparison).",
        "",
        "| operation | per call | loops × repeats |",
        "|---|---|---|",
        *rows,
        "",
    ]
    text = "\n".join(lines)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
