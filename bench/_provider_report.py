"""The provider benchmark's results: one :class:`Outcome` per server and flow variant, and
the markdown section (``bench/results/provider.md``) that :func:`render` makes of them."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BEARER", "DPOP", "FRICTION_GOAL", "NO_FRICTION", "Outcome", "friction_cost", "render"]

BEARER = "bearer"
DPOP = "dpop"
#: The stepauth server that records no friction telemetry (``bench._friction_off``).
NO_FRICTION = "stepauth (friction off)"
#: The most server CPU per flow friction telemetry may add (a fraction).
FRICTION_GOAL = 0.05


@dataclass
class Outcome:
    """The measured rounds of one flow variant (bearer or DPoP) against one server."""

    server: str
    variant: str = BEARER
    rounds: list[dict[str, Any]] = field(default_factory=list)
    rss_start_kib: int | None = None
    rss_end_kib: int | None = None
    blocked: str | None = None

    @property
    def name(self) -> str:
        return self.server if self.variant == BEARER else f"{self.server} + DPoP"

    @property
    def flows(self) -> int:
        return sum(int(r["flows"]) for r in self.rounds)

    @property
    def errors(self) -> int:
        return sum(int(r["errors"]) for r in self.rounds)

    @property
    def flows_per_second(self) -> float | None:
        seconds = sum(float(r["seconds"]) for r in self.rounds)
        return self.flows / seconds if seconds else None

    @property
    def cpu_ms_per_flow(self) -> float | None:
        """Server CPU time per measured flow: robust to other load on the machine."""
        cpu = sum(float(r["server_cpu_seconds"]) for r in self.rounds)
        return 1000 * cpu / self.flows if self.flows else None

    @property
    def driver_ms_per_flow(self) -> float | None:
        """The load driver's own CPU time per measured flow (the same work for every server)."""
        cpu = sum(float(r.get("driver_cpu_seconds", 0.0)) for r in self.rounds)
        return 1000 * cpu / self.flows if self.flows else None

    def round_rates(self) -> list[float]:
        return [float(r["flows_per_second"]) for r in self.rounds]

    def latency(self, key: str) -> float | None:
        values = [r["latency_ms"][key] for r in self.rounds if r["latency_ms"][key] is not None]
        return statistics.median(values) if values else None


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _find(outcomes: Sequence[Outcome], server: str, variant: str) -> Outcome | None:
    return next((o for o in outcomes if o.server == server and o.variant == variant), None)


def _comparison(ours: Outcome, theirs: Outcome, *, with_rss: bool) -> str | None:
    """stepauth against oidc-provider for one variant: totals, the goal, round by round."""
    if not (ours.flows_per_second and theirs.flows_per_second and ours.rss_end_kib):
        return None
    speed = ours.flows_per_second / theirs.flows_per_second
    cpu = (ours.cpu_ms_per_flow or 0) / (theirs.cpu_ms_per_flow or 1)
    memory = ours.rss_end_kib / (theirs.rss_end_kib or 1)
    pairs = list(zip(ours.round_rates(), theirs.round_rates(), strict=False))
    won = sum(1 for a, b in pairs if a >= b)
    ratios = [a / b for a, b in pairs if b]
    met = speed >= 1 and cpu < 1 and (memory <= 1 or not with_rss)
    rss = f", RSS ×{memory:.2f}" if with_rss else ""
    goal = "RSS ≤ ×1.00" if with_rss else "RSS as in the bearer row: the same process"
    return (
        f"{ours.name} / {theirs.name}: throughput ×{speed:.2f}, server CPU per flow "
        f"×{cpu:.2f}{rss}. Goal for the run (throughput ≥ ×1.00, server CPU per flow "
        f"< ×1.00, {goal}): {'met' if met else 'not met'}. Round by round (each next to the "
        f"other server's): stepauth at least as fast in {won} of {len(pairs)}, throughput "
        f"ratios ×{min(ratios, default=0):.2f}–×{max(ratios, default=0):.2f} "
        f"(median ×{statistics.median(ratios or [0]):.2f})."
    )


def _dpop_cost(outcomes: Sequence[Outcome]) -> str | None:
    """What DPoP adds to a flow on each server: its CPU per flow minus the bearer row's."""
    parts = []
    for bearer in (o for o in outcomes if o.variant == BEARER):
        dpop = next((o for o in outcomes if o.server == bearer.server and o.variant == DPOP), None)
        if dpop and dpop.cpu_ms_per_flow and bearer.cpu_ms_per_flow:
            extra = dpop.cpu_ms_per_flow - bearer.cpu_ms_per_flow
            parts.append(
                f"{bearer.server} {extra:+.2f} ms ({100 * extra / bearer.cpu_ms_per_flow:+.0f} %)"
            )
    if not parts:
        return None
    return (
        "Server CPU per flow that DPoP adds (DPoP row − bearer row; the proof check, the "
        "`jti` record, the `dpop_jkt` check and `cnf.jkt` in the token): " + ", ".join(parts) + "."
    )


def friction_cost(outcomes: Sequence[Outcome]) -> str | None:
    """What friction telemetry adds to a flow: the ``stepauth`` row against the
    :data:`NO_FRICTION` row of the same variant (the same flows in the same rounds)."""
    parts = []
    for variant in (BEARER, DPOP):
        on, off = _find(outcomes, "stepauth", variant), _find(outcomes, NO_FRICTION, variant)
        if not (on and off and on.cpu_ms_per_flow and off.cpu_ms_per_flow):
            continue
        extra = on.cpu_ms_per_flow / off.cpu_ms_per_flow - 1
        pairs = zip(on.rounds, off.rounds, strict=False)
        ratios = [
            (a["server_cpu_seconds"] / a["flows"]) / (b["server_cpu_seconds"] / b["flows"])
            for a, b in pairs
            if b["server_cpu_seconds"] and a["flows"] and b["flows"]
        ]
        rounds = (
            f", round by round ×{min(ratios):.2f}–×{max(ratios):.2f} "
            f"(median ×{statistics.median(ratios):.2f})"
            if ratios
            else ""
        )
        met = "met" if extra <= FRICTION_GOAL else "not met"
        parts.append(
            f"{on.name} / {off.name}: server CPU per flow "
            f"{on.cpu_ms_per_flow - off.cpu_ms_per_flow:+.2f} ms ({100 * extra:+.1f} %){rounds}; "
            f"goal ≤ +{100 * FRICTION_GOAL:.0f} %: {met}."
        )
    if not parts:
        return None
    head = "Friction telemetry (the same server with the recorder replaced by no-ops): "
    return head + " ".join(parts)


def render(
    outcomes: list[Outcome],
    *,
    flows: dict[str, int],
    rounds: int,
    concurrency: int,
    warmup: int,
    load_start: float,
    command: str | None = None,
) -> str:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    counts = f"{flows[BEARER]:,} measured bearer flows" if BEARER in flows else ""
    if DPOP in flows:
        counts += (" and " if counts else "") + f"{flows[DPOP]:,} measured DPoP flows"
    lines = [
        "## Provider: full code flows (stepauth vs node oidc-provider)",
        "",
        *([f"Command: `{command}`", ""] if command else []),
        f"{counts} per server in {rounds} rounds that alternate between the "
        "servers in ABBA order (both up for the whole run; each round runs the bearer flows "
        "of both servers, then the DPoP flows of both, and the next round the same list "
        f"backwards; {warmup} warm-up flows of each kind first), "
        f"{concurrency} concurrent "
        "keep-alive connections, one server process each, loopback. A flow is GET /authorize "
        "with an existing session (PKCE S256, state, nonce) → 302/303 with a code → POST /token "
        "(client_secret_basic + code_verifier) → ID token (RS256) and JWT access token (RS256); "
        "the driver checks state, nonce and `token_type` on every flow. "
        "A DPoP flow (RFC 9449; `+ DPoP` rows) is the same flow by a second client registered "
        "with `dpop_bound_access_tokens` on both servers: the driver holds one ES256 key per "
        "worker (one per concurrent connection, made before the measured flows), sends its "
        "thumbprint as `dpop_jkt` at /authorize and a fresh proof (new `jti`) with every code "
        "exchange, and requires `token_type` DPoP; DPoP nonces are off on both servers "
        "(their default; a proof's `iat` is checked instead). `make bench` runs half as many "
        "DPoP flows as bearer flows (`--dpop-flows`; `--variant bearer|dpop|both`). "
        "Driver: `peers/bench-flows.mjs` "
        "(the same for both; it signs in once per round through the provider's own form). "
        "flows/s = all measured flows / their total time; latency percentiles are the median "
        "over rounds. Server CPU ms/flow = user+system CPU time of the server process "
        "(`/proc/<pid>/stat`, read by the driver right before and after the measured flows, "
        "so sign-in and warm-up are left out) per measured flow, "
        "the figure least affected by other load on the machine; driver CPU ms/flow is the "
        "load driver's own (`process.cpuUsage()`), for comparison. RSS is `VmRSS` of the server "
        "process once it answers discovery and after all flows (a server's bearer and DPoP "
        "rows are one process, so they show the same RSS).",
        "",
        "| Provider | flows/s | rounds flows/s | server CPU ms/flow | driver CPU ms/flow "
        "| p50 ms | p95 ms | p99 ms | flows | errors | RSS start MiB | RSS after flows MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for o in sorted(outcomes, key=lambda o: (o.variant != BEARER, o.server)):
        rates = o.round_rates()
        spread = f"{min(rates):,.1f}–{max(rates):,.1f}" if rates else "—"
        lines.append(
            f"| {o.name} | {_fmt(o.flows_per_second)} | {spread} | {_fmt(o.cpu_ms_per_flow, 2)} "
            f"| {_fmt(o.driver_ms_per_flow, 2)} | {_fmt(o.latency('p50'))} "
            f"| {_fmt(o.latency('p95'))} | {_fmt(o.latency('p99'))} | {o.flows:,} | {o.errors} "
            f"| {_fmt(o.rss_start_kib and o.rss_start_kib / 1024)} "
            f"| {_fmt(o.rss_end_kib and o.rss_end_kib / 1024)} |"
        )
    sentences = []
    for variant in (BEARER, DPOP):
        ours = _find(outcomes, "stepauth", variant)
        theirs = _find(outcomes, "oidc-provider", variant)
        if ours and theirs:
            sentences.append(_comparison(ours, theirs, with_rss=variant == BEARER))
    sentences.append(_dpop_cost(outcomes))
    sentences.append(friction_cost(outcomes))
    text = " ".join(s for s in sentences if s)
    if text:
        lines += [
            "",
            text + " Single rounds swing with other load on the machine, the run's totals and "
            "the CPU figures much less.",
        ]
    for o in outcomes:
        if o.blocked:
            lines += ["", f"**{o.name} not measured**:", "", "```", o.blocked.strip(), "```"]
    lines += [
        "",
        "Setup: stepauth `stepauth serve --log-level warning` (uvicorn with uvloop and "
        "httptools, one process, no access "
        "log — oidc-provider logs no requests either) on SQLite (WAL) in a temporary "
        "directory (the `stepauth (PostgreSQL)` row, with `--postgres`: the same on a fresh "
        "database of the local PostgreSQL server; the `stepauth (friction off)` row, with "
        "`--friction-off`: the same server run by `python -m bench._friction_off`, which "
        "replaces the friction recorder's entry points with no-ops); oidc-provider 9.x "
        "(`peers/bench-op.mjs`, "
        "`NODE_ENV=production`, `features.dPoP` on without a `nonceSecret`) with an "
        "in-process Map adapter that honours TTLs (its packaged development adapter is a "
        "1,000-entry LRU that would evict the session). "
        f"Python {platform.python_version()}, Node {node.stdout.strip() or '?'}, "
        f"{os.cpu_count()} CPUs, load average {load_start:.1f} at the start of the run and "
        f"{os.getloadavg()[0]:.1f} at its end "
        "(other work on the machine slows both servers; the alternating rounds share it out), "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
    ]
    return "\n".join(lines)
