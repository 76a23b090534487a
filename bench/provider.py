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

Each server also runs DPoP flows (RFC 9449) in the same rounds: a second client, registered
with ``dpop_bound_access_tokens`` on both, sends ``dpop_jkt`` at the authorization endpoint
and a proof with every code exchange (``bench-flows.mjs --dpop``: one ES256 key per worker),
nonces off on both. By default half as many DPoP flows as bearer flows (``--dpop-flows``).

    .venv/bin/python -m bench.provider [--flows 10000] [--dpop-flows 5000] [--rounds 10]
                                       [--variant both|bearer|dpop] [--concurrency 8]
                                       [--postgres [ADMIN_DSN]] [--friction-off]

``--friction-off`` adds a third server: stepauth with the friction recorder replaced by
no-ops (``bench._friction_off``), in the same rounds, so the report shows what friction
telemetry adds to a flow.

Prints a markdown section and writes ``bench/results/provider.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._provider_report import BEARER, DPOP, NO_FRICTION, Outcome, render
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


@dataclass(frozen=True)
class Variant:
    """One kind of flow run against every server: its client, flows per server, driver options."""

    name: str  # BEARER or DPOP
    client: Client
    flows: int
    extra: tuple[str, ...] = ()


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


Lane = tuple[Outcome, Server | None]


def start_all(
    stack: ExitStack,
    starters: dict[str, Callable[[], AbstractContextManager[Server]]],
    variants: Sequence[Variant],
) -> list[Lane]:
    """Start every server (each stays up for the whole run); a failure is recorded, not raised.
    One lane per variant and server, variant by variant: bearer A, bearer B, DPoP A, DPoP B."""
    started: dict[str, tuple[Server | None, int | None, str | None]] = {}
    for name, start in starters.items():
        try:
            server = stack.enter_context(start())
            started[name] = (server, server.rss_kib(), None)
        except ServerFailed as exc:
            started[name] = (None, None, str(exc))
    return [
        (Outcome(name, variant.name, rss_start_kib=rss, blocked=blocked), server)
        for variant in variants
        for name, (server, rss, blocked) in started.items()
    ]


def interleave(
    lanes: list[Lane],
    variants: Sequence[Variant],
    password: str,
    *,
    rounds: int,
    concurrency: int,
) -> None:
    """Alternate equal rounds between the lanes in ABBA order (A B, B A, A B, ...), so
    load from elsewhere, and its drift over the run, hits every server alike."""
    by_name = {variant.name: variant for variant in variants}
    for index in range(rounds):
        for outcome, server in lanes if index % 2 == 0 else lanes[::-1]:
            if server is None or outcome.blocked:
                continue
            variant = by_name[outcome.variant]
            print(f"bench/provider: {outcome.name} round {index + 1}/{rounds}", file=sys.stderr)
            try:
                result = drive(
                    server,
                    variant.client,
                    password,
                    flows=max(1, variant.flows // rounds),
                    concurrency=concurrency,
                    warmup=WARMUP if index == 0 else 0,
                    extra=variant.extra,
                )
                # measured flows only: the driver reads the server's CPU time around them
                result["server_cpu_seconds"] = result["server_cpu_ticks"] / CLOCK_TICKS
                outcome.rounds.append(result)
            except ServerFailed as exc:
                outcome.blocked = f"{exc}\nserver log tail:\n{server.log()[-1500:]}"
    for outcome, server in lanes:
        if server is not None and server.process.poll() is None:
            outcome.rss_end_kib = server.rss_kib()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=10_000, help="measured flows per server")
    parser.add_argument(
        "--dpop-flows", type=int, help="measured DPoP flows per server (default: half --flows)"
    )
    parser.add_argument("--variant", choices=["both", BEARER, DPOP], default="both")
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
    parser.add_argument(
        "--friction-off",
        action="store_true",
        help="also run stepauth with friction telemetry off (bench only), in the same rounds",
    )
    args = parser.parse_args(argv)
    if shutil.which("node") is None or not (PEERS / "node_modules" / "oidc-provider").is_dir():
        print("bench/provider: node and peers/node_modules are required (make peers)")
        return 1

    load_start = os.getloadavg()[0]
    password = secrets.token_urlsafe(16)
    client = Client()
    # the same secret and redirect URI: bench-op.mjs registers it beside the first
    dpop_client = dataclasses.replace(client, client_id=f"{client.client_id}-dpop", dpop_bound=True)
    variants = [
        variant
        for variant in (
            Variant(BEARER, client, args.flows),
            Variant(DPOP, dpop_client, args.dpop_flows or args.flows // 2, ("--dpop",)),
        )
        if args.variant in ("both", variant.name)
    ]
    with tempfile.TemporaryDirectory(prefix="stepauth-bench-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        (workdir / "stepauth").mkdir()
        starters: dict[str, Callable[[], AbstractContextManager[Server]]] = {
            "oidc-provider": lambda: oidc_provider(
                workdir,
                client=client,
                username=USERNAME,
                password=password,
                dpop_client=dpop_client,
            ),
            "stepauth": lambda: stepauth_server(
                workdir / "stepauth",
                client=client,
                extra_clients=[dpop_client],
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
                extra_clients=[dpop_client],
                users=[(USERNAME, password)],
                database_url=url,
                log_level="warning",
            )
        if args.friction_off:
            (workdir / "stepauth-no-friction").mkdir()
            starters[NO_FRICTION] = lambda: stepauth_server(
                workdir / "stepauth-no-friction",
                client=client,
                extra_clients=[dpop_client],
                users=[(USERNAME, password)],
                log_level="warning",
                friction=False,
            )
        lanes = start_all(stack, starters, variants)
        interleave(lanes, variants, password, rounds=args.rounds, concurrency=args.concurrency)
    outcomes = [outcome for outcome, _ in lanes]
    report = render(
        outcomes,
        flows={variant.name: variant.flows for variant in variants},
        rounds=args.rounds,
        concurrency=args.concurrency,
        warmup=WARMUP,
        load_start=load_start,
        command=" ".join([".venv/bin/python -m bench.provider", *(argv or sys.argv[1:])]),
    )
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report)
    return 0 if all(o.rounds and not o.blocked for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
