"""Provider benchmark: stepauth and node's oidc-provider side by side, in one run.

Both servers are single processes on loopback, configured equivalently (one confidential
client with ``client_secret_basic``, PKCE S256 required, RS256 ID tokens, RS256 JWT access
tokens, an existing session). The same load driver (``peers/bench-flows.mjs``, Node's http
client with keep-alive) signs in once through each provider's own sign-in form, then runs
full code flows — authorize with the session → code → token exchange with the PKCE
verifier — at the same concurrency. Reported: flows per second, latency percentiles, and
the server's resident memory (``VmRSS``) after the measured flows.

    .venv/bin/python -m bench.provider [--flows 10000] [--concurrency 8]

Prints a markdown section and writes ``bench/results/provider.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._servers import (
    PEERS,
    ROOT,
    Client,
    Server,
    ServerFailed,
    oidc_provider,
    stepauth_server,
)

RESULTS = ROOT / "bench" / "results" / "provider.md"
USERNAME = "bench"


@dataclass
class Outcome:
    name: str
    result: dict[str, Any] | None = None
    rss_start_kib: int | None = None
    rss_end_kib: int | None = None
    blocked: str | None = None


def drive(server: Server, client: Client, password: str, *, flows: int, concurrency: int) -> Any:
    """Run ``peers/bench-flows.mjs`` against ``server``; returns its JSON result."""
    node = shutil.which("node") or "node"
    argv = [
        node,
        "bench-flows.mjs",
        "--issuer",
        server.issuer,
        "--client-id",
        client.client_id,
        "--client-secret",
        client.client_secret,
        "--redirect-uri",
        client.redirect_uri,
        "--username",
        USERNAME,
        "--flows",
        str(flows),
        "--concurrency",
        str(concurrency),
    ]
    proc = subprocess.run(
        argv,
        cwd=PEERS,
        env={**os.environ, "BENCH_PASSWORD": password},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if proc.returncode != 0:
        raise ServerFailed(
            f"load driver failed against {server.name} ({proc.returncode}): "
            f"{proc.stderr.strip()[-1500:]}{proc.stdout.strip()[-500:]}"
        )
    return json.loads(proc.stdout)


def measure(
    name: str,
    start: Callable[[], AbstractContextManager[Server]],
    client: Client,
    password: str,
    *,
    flows: int,
    concurrency: int,
) -> Outcome:
    outcome = Outcome(name)
    try:
        with start() as server:
            outcome.rss_start_kib = server.rss_kib()
            try:
                outcome.result = drive(
                    server, client, password, flows=flows, concurrency=concurrency
                )
                outcome.rss_end_kib = server.rss_kib()
            except ServerFailed as exc:
                outcome.blocked = f"{exc}\nserver log tail:\n{server.log()[-1500:]}"
    except ServerFailed as exc:
        outcome.blocked = str(exc)
    return outcome


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def render(outcomes: list[Outcome], *, flows: int, concurrency: int) -> str:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    lines = [
        "## Provider: full code flows (stepauth vs node oidc-provider)",
        "",
        f"{flows:,} measured flows per server after a 200-flow warm-up, {concurrency} concurrent "
        "keep-alive connections, one server process each, loopback. A flow is GET /authorize "
        "with an existing session (PKCE S256, state, nonce) → 302/303 with a code → POST /token "
        "(client_secret_basic + code_verifier) → ID token (RS256) and JWT access token (RS256); "
        "the driver checks state and nonce on every flow. Driver: `peers/bench-flows.mjs` "
        "(the same for both). RSS is `VmRSS` of the server process once it answers discovery "
        "and after the measured flows.",
        "",
        "| Provider | flows/s | p50 ms | p95 ms | p99 ms | errors | RSS start MiB "
        "| RSS after flows MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        r = o.result or {}
        lat = r.get("latency_ms", {})
        lines.append(
            f"| {o.name} | {_fmt(r.get('flows_per_second'))} | {_fmt(lat.get('p50'))} "
            f"| {_fmt(lat.get('p95'))} | {_fmt(lat.get('p99'))} | {r.get('errors', '—')} "
            f"| {_fmt(o.rss_start_kib and o.rss_start_kib / 1024)} "
            f"| {_fmt(o.rss_end_kib and o.rss_end_kib / 1024)} |"
        )
    stepauth = next((o for o in outcomes if o.name.startswith("stepauth")), None)
    peer = next((o for o in outcomes if o.name.startswith("oidc-provider")), None)
    if stepauth and peer and stepauth.result and peer.result and stepauth.rss_end_kib:
        speed = stepauth.result["flows_per_second"] / peer.result["flows_per_second"]
        memory = stepauth.rss_end_kib / (peer.rss_end_kib or 1)
        lines += [
            "",
            f"stepauth / oidc-provider: throughput ×{speed:.2f}, RSS ×{memory:.2f} "
            f"(goal: throughput ≥ ×1.00, RSS ≤ ×1.00).",
        ]
    for o in outcomes:
        if o.blocked:
            lines += ["", f"**{o.name} not measured**:", "", "```", o.blocked.strip(), "```"]
    lines += [
        "",
        "Setup: stepauth `stepauth serve --log-level warning` (uvicorn, one process, no access "
        "log — oidc-provider logs no requests either) on SQLite (WAL) in a temporary "
        "directory; oidc-provider 9.x (`peers/bench-op.mjs`, `NODE_ENV=production`) with an "
        "in-process Map adapter that honours TTLs (its packaged development adapter is a "
        "1,000-entry LRU that would evict the session). "
        f"Python {platform.python_version()}, Node {node.stdout.strip() or '?'}, "
        f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--only", choices=["stepauth", "oidc-provider"])
    args = parser.parse_args(argv)
    if shutil.which("node") is None or not (PEERS / "node_modules" / "oidc-provider").is_dir():
        print("bench/provider: node and peers/node_modules are required (make peers)")
        return 1

    password = secrets.token_urlsafe(16)
    client = Client()
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="stepauth-bench-") as tmp:
        workdir = Path(tmp)

        def start_peer() -> AbstractContextManager[Server]:
            return oidc_provider(workdir, client=client, username=USERNAME, password=password)

        def start_stepauth() -> AbstractContextManager[Server]:
            return stepauth_server(
                workdir, client=client, users=[(USERNAME, password)], log_level="warning"
            )

        runs: list[tuple[str, Callable[[], AbstractContextManager[Server]]]] = [
            ("oidc-provider", start_peer),
            ("stepauth", start_stepauth),
        ]
        for name, start in runs:
            if args.only and args.only != name:
                continue
            print(f"bench/provider: {name} …", file=sys.stderr)
            outcomes.append(
                measure(
                    name, start, client, password, flows=args.flows, concurrency=args.concurrency
                )
            )
    report = render(outcomes, flows=args.flows, concurrency=args.concurrency)
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report)
    return 0 if all(o.result for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
