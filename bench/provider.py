"""Provider benchmark: stepauth and node's oidc-provider side by side, in one run.

Both servers are single processes on loopback, configured equivalently (one confidential
client with ``client_secret_basic``, PKCE S256 required, RS256 ID tokens, RS256 JWT access
tokens, an existing session). The same load driver (``peers/bench-flows.mjs``, Node's http
client with keep-alive) signs in once through each provider's own sign-in form, then runs
full code flows — authorize with the session → code → token exchange with the PKCE
verifier — at the same concurrency. The rounds alternate between the servers in ABBA
order, so load from elsewhere on the machine (and its drift) falls on both alike.
Reported: flows per second, latency percentiles, the server's CPU time per measured flow
(read by the driver right around the measured flows), and its resident memory
(``VmRSS``) after the measured flows.

    .venv/bin/python -m bench.provider [--flows 10000] [--rounds 10] [--concurrency 8]
                                       [--postgres [ADMIN_DSN]]

Prints a markdown section and writes ``bench/results/provider.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
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
STEPAUTH_PG = "stepauth (PostgreSQL)"
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
WARMUP = 200
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Outcome:
    name: str
    rounds: list[dict[str, Any]] = field(default_factory=list)
    rss_start_kib: int | None = None
    rss_end_kib: int | None = None
    blocked: str | None = None

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


def drive(
    server: Server,
    client: Client,
    password: str,
    *,
    flows: int,
    concurrency: int,
    warmup: int,
    extra: Sequence[str] = (),
) -> Any:
    """Run ``peers/bench-flows.mjs`` against ``server``; returns its JSON result.
    ``extra``: more driver options (``--seconds S``, ``--refresh``, ``--scope …``)."""
    node = shutil.which("node") or "node"
    argv = [
        node,
        "bench-flows.mjs",
        "--issuer",
        server.issuer,
        "--client-id",
        client.client_id,
        f"--client-secret={client.client_secret}",
        "--redirect-uri",
        client.redirect_uri,
        "--username",
        USERNAME,
        "--flows",
        str(flows),
        "--concurrency",
        str(concurrency),
        "--warmup",
        str(warmup),
        "--server-pid",
        str(server.pid),
        *extra,
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


@contextmanager
def postgres_database(admin_dsn: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one stepauth server (SQLAlchemy URL), dropped after."""
    import psycopg

    name = f"stepauth_bench_{secrets.token_hex(6)}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(admin_dsn)
    auth = str(info.get("user", "postgres"))
    if info.get("password"):
        auth += f":{info['password']}"
    host, port = info.get("host", "127.0.0.1"), info.get("port", 5432)
    try:
        yield f"postgresql+psycopg://{auth}@{host}:{port}/{name}"
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_all(
    stack: ExitStack, starters: dict[str, Callable[[], AbstractContextManager[Server]]]
) -> dict[str, tuple[Outcome, Server | None]]:
    """Start every server (each stays up for the whole run); a failure is recorded, not raised."""
    running: dict[str, tuple[Outcome, Server | None]] = {}
    for name, start in starters.items():
        outcome = Outcome(name)
        try:
            server = stack.enter_context(start())
            outcome.rss_start_kib = server.rss_kib()
            running[name] = (outcome, server)
        except ServerFailed as exc:
            outcome.blocked = str(exc)
            running[name] = (outcome, None)
    return running


def interleave(
    running: dict[str, tuple[Outcome, Server | None]],
    client: Client,
    password: str,
    *,
    flows: int,
    rounds: int,
    concurrency: int,
) -> None:
    """Alternate equal rounds between the servers in ABBA order (A B, B A, A B, ...), so
    load from elsewhere, and its drift over the run, hits both alike."""
    per_round = max(1, flows // rounds)
    servers = list(running.values())
    for index in range(rounds):
        for outcome, server in servers if index % 2 == 0 else servers[::-1]:
            if server is None or outcome.blocked:
                continue
            print(f"bench/provider: {outcome.name} round {index + 1}/{rounds}", file=sys.stderr)
            try:
                result = drive(
                    server,
                    client,
                    password,
                    flows=per_round,
                    concurrency=concurrency,
                    warmup=WARMUP if index == 0 else 0,
                )
                # measured flows only: the driver reads the server's CPU time around them
                result["server_cpu_seconds"] = result["server_cpu_ticks"] / CLOCK_TICKS
                outcome.rounds.append(result)
            except ServerFailed as exc:
                outcome.blocked = f"{exc}\nserver log tail:\n{server.log()[-1500:]}"
    for outcome, server in running.values():
        if server is not None and not outcome.blocked:
            outcome.rss_end_kib = server.rss_kib()


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def render(
    outcomes: list[Outcome], *, flows: int, rounds: int, concurrency: int, load_start: float
) -> str:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    lines = [
        "## Provider: full code flows (stepauth vs node oidc-provider)",
        "",
        f"{flows:,} measured flows per server in {rounds} rounds that alternate between the "
        "servers in ABBA order (both up for the whole run; "
        f"{WARMUP} warm-up flows each first), "
        f"{concurrency} concurrent "
        "keep-alive connections, one server process each, loopback. A flow is GET /authorize "
        "with an existing session (PKCE S256, state, nonce) → 302/303 with a code → POST /token "
        "(client_secret_basic + code_verifier) → ID token (RS256) and JWT access token (RS256); "
        "the driver checks state and nonce on every flow. Driver: `peers/bench-flows.mjs` "
        "(the same for both; it signs in once per round through the provider's own form). "
        "flows/s = all measured flows / their total time; latency percentiles are the median "
        "over rounds. Server CPU ms/flow = user+system CPU time of the server process "
        "(`/proc/<pid>/stat`, read by the driver right before and after the measured flows, "
        "so sign-in and warm-up are left out) per measured flow, "
        "the figure least affected by other load on the machine; driver CPU ms/flow is the "
        "load driver's own (`process.cpuUsage()`), for comparison. RSS is `VmRSS` of the server "
        "process once it answers discovery and after all flows.",
        "",
        "| Provider | flows/s | rounds flows/s | server CPU ms/flow | driver CPU ms/flow "
        "| p50 ms | p95 ms | p99 ms | flows | errors | RSS start MiB | RSS after flows MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        rates = o.round_rates()
        spread = f"{min(rates):,.1f}–{max(rates):,.1f}" if rates else "—"
        lines.append(
            f"| {o.name} | {_fmt(o.flows_per_second)} | {spread} | {_fmt(o.cpu_ms_per_flow, 2)} "
            f"| {_fmt(o.driver_ms_per_flow, 2)} | {_fmt(o.latency('p50'))} "
            f"| {_fmt(o.latency('p95'))} | {_fmt(o.latency('p99'))} | {o.flows:,} | {o.errors} "
            f"| {_fmt(o.rss_start_kib and o.rss_start_kib / 1024)} "
            f"| {_fmt(o.rss_end_kib and o.rss_end_kib / 1024)} |"
        )
    stepauth = next((o for o in outcomes if o.name == "stepauth"), None)
    peer = next((o for o in outcomes if o.name.startswith("oidc-provider")), None)
    if (
        stepauth
        and peer
        and stepauth.flows_per_second
        and peer.flows_per_second
        and stepauth.rss_end_kib
    ):
        speed = stepauth.flows_per_second / peer.flows_per_second
        cpu = (stepauth.cpu_ms_per_flow or 0) / (peer.cpu_ms_per_flow or 1)
        memory = stepauth.rss_end_kib / (peer.rss_end_kib or 1)
        pairs = list(zip(stepauth.round_rates(), peer.round_rates(), strict=False))
        won = sum(1 for ours, theirs in pairs if ours >= theirs)
        ratios = [ours / theirs for ours, theirs in pairs if theirs]
        met = speed >= 1 and cpu < 1 and memory <= 1
        lines += [
            "",
            f"stepauth / oidc-provider: throughput ×{speed:.2f}, server CPU per flow "
            f"×{cpu:.2f}, RSS ×{memory:.2f}. Goal for the run (throughput ≥ ×1.00, server "
            f"CPU per flow < ×1.00, RSS ≤ ×1.00): {'met' if met else 'not met'}. Round by "
            f"round (each next to the other server's): stepauth at least as fast in {won} of "
            f"{len(pairs)}, throughput ratios ×{min(ratios, default=0):.2f}–"
            f"×{max(ratios, default=0):.2f} (median ×{statistics.median(ratios or [0]):.2f}); "
            "single rounds swing with other load on the machine, the run's totals and the "
            "CPU figures much less.",
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
        "database of the local PostgreSQL server); oidc-provider 9.x (`peers/bench-op.mjs`, "
        "`NODE_ENV=production`) with an "
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=10_000, help="measured flows per server")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--only", choices=["stepauth", "oidc-provider"])
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=PG_ADMIN_DSN,
        metavar="ADMIN_DSN",
        help="also run stepauth on a fresh PostgreSQL database (created and dropped here)",
    )
    args = parser.parse_args(argv)
    if shutil.which("node") is None or not (PEERS / "node_modules" / "oidc-provider").is_dir():
        print("bench/provider: node and peers/node_modules are required (make peers)")
        return 1

    load_start = os.getloadavg()[0]
    password = secrets.token_urlsafe(16)
    client = Client()
    with tempfile.TemporaryDirectory(prefix="stepauth-bench-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        (workdir / "stepauth").mkdir()
        starters: dict[str, Callable[[], AbstractContextManager[Server]]] = {
            "oidc-provider": lambda: oidc_provider(
                workdir, client=client, username=USERNAME, password=password
            ),
            "stepauth": lambda: stepauth_server(
                workdir / "stepauth",
                client=client,
                users=[(USERNAME, password)],
                log_level="warning",
            ),
        }
        if args.only:
            starters = {args.only: starters[args.only]}
        if args.postgres:
            url = stack.enter_context(postgres_database(args.postgres))
            (workdir / "stepauth-pg").mkdir()
            starters[STEPAUTH_PG] = lambda: stepauth_server(
                workdir / "stepauth-pg",
                client=client,
                users=[(USERNAME, password)],
                database_url=url,
                log_level="warning",
            )
        running = start_all(stack, starters)
        interleave(
            running,
            client,
            password,
            flows=args.flows,
            rounds=args.rounds,
            concurrency=args.concurrency,
        )
    outcomes = [outcome for outcome, _ in running.values()]
    report = render(
        outcomes,
        flows=args.flows,
        rounds=args.rounds,
        concurrency=args.concurrency,
        load_start=load_start,
    )
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report)
    return 0 if all(o.rounds and not o.blocked for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
