"""Soak: ``stepauth serve`` under sustained full flows, watched for growth.

One server process per backend (SQLite, and PostgreSQL with ``--postgres``), each driven
for ``--seconds`` by the provider benchmark's load driver (``peers/bench-flows.mjs`` with
``--refresh``): every flow is authorize with the session → code → token exchange → one
refresh grant, ``--concurrency`` at a time; the driver runs in slices of ``--slice``
seconds, each signing in afresh through the sign-in form. Short token lifetimes and a short
``[purge] interval`` are configured so the background purge has work to do within the run.
Sampled: flows/s per slice, the server's RSS, the SQLite WAL (every 0.5 s, so its peak is
seen), the database size and its item rows, and errors.

    .venv/bin/python -m bench.soak [--seconds 300] [--concurrency 8] [--slice 30]
                                   [--postgres [ADMIN_DSN]] [--no-sqlite]

Prints a markdown section and writes ``bench/results/soak.md``. Not part of ``make bench``
(it runs for minutes): ``make soak``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._servers import PEERS, ROOT, Client, Server, ServerFailed, stepauth_server
from bench.provider import PG_ADMIN_DSN, USERNAME, drive, postgres_database

RESULTS = ROOT / "bench" / "results" / "soak.md"
#: Token lifetimes (seconds) of the soak: expired rows appear, and are purged, within it.
TTL = 30
PURGE_INTERVAL = 10
EXTRA_TOML = f"""[ttl]
code = {TTL}
access_token = {TTL}
id_token = {TTL}
refresh_token = {TTL}

[purge]
interval = {PURGE_INTERVAL}
batch = 1000
"""
MIB = 1024 * 1024
#: The bound the SQLite WAL must stay under through the soak.
WAL_GOAL_MIB = 32


@dataclass
class Sample:
    at: float
    flows: int
    errors: int
    flows_per_second: float
    rss_mib: float
    db_mib: float
    wal_mib: float | None
    items: int


@dataclass
class Soak:
    name: str
    samples: list[Sample] = field(default_factory=list)
    start: Sample | None = None
    wal_peak_mib: float = 0.0
    first_error: str | None = None
    failed: str | None = None

    @property
    def flows(self) -> int:
        return sum(s.flows for s in self.samples)

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.samples)


class Measure:
    """Sizes of one server's database: a SQLite file (with ``-wal``) or a PostgreSQL one."""

    def __init__(self, sqlite_path: Path | None = None, pg: tuple[str, str] | None = None):
        self.sqlite_path = sqlite_path
        self.pg = pg  # (admin dsn, database name)

    def wal_mib(self) -> float | None:
        if self.sqlite_path is None:
            return None
        try:
            return os.path.getsize(f"{self.sqlite_path}-wal") / MIB
        except FileNotFoundError:
            return 0.0

    def oldest_expiry(self) -> float | None:
        """The earliest ``expires_at`` of the SQLite database's items (``None``: none)."""
        assert self.sqlite_path is not None
        with sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True) as db:
            row = db.execute("SELECT min(expires_at) FROM items").fetchone()
        db.close()
        return None if row[0] is None else float(row[0])

    def db_mib_and_items(self) -> tuple[float, int]:
        if self.sqlite_path is not None:
            with sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True) as db:
                items = int(db.execute("SELECT count(*) FROM items").fetchone()[0])
            db.close()
            return os.path.getsize(self.sqlite_path) / MIB, items
        import psycopg

        assert self.pg is not None
        admin, name = self.pg
        with psycopg.connect(admin, autocommit=True) as conn:
            row = conn.execute("SELECT pg_database_size(%s)", (name,)).fetchone()
            size = int(row[0]) if row else 0
        with psycopg.connect(admin, dbname=name, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM items").fetchone()
            items = int(row[0]) if row else 0
        return size / MIB, items


@contextmanager
def wal_watch(measure: Measure, soak: Soak) -> Iterator[None]:
    """Record the WAL's peak size every 0.5 s while the block runs."""
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.5):
            wal = measure.wal_mib()
            if wal is not None:
                soak.wal_peak_mib = max(soak.wal_peak_mib, wal)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def sample(server: Server, measure: Measure, at: float, result: dict[str, Any] | None) -> Sample:
    db, items = measure.db_mib_and_items()
    return Sample(
        at=at,
        flows=int(result["flows"]) if result else 0,
        errors=int(result["errors"]) if result else 0,
        flows_per_second=float(result["flows_per_second"]) if result else 0.0,
        rss_mib=server.rss_kib() / 1024,
        db_mib=db,
        wal_mib=measure.wal_mib(),
        items=items,
    )


def soak_one(
    soak: Soak,
    start: Callable[[], Any],
    measure: Measure,
    client: Client,
    password: str,
    *,
    seconds: int,
    concurrency: int,
    slice_seconds: int,
) -> None:
    """Drive one server for ``seconds`` in slices, sampling after each."""
    try:
        with start() as server:
            began = time.monotonic()
            soak.start = sample(server, measure, 0.0, None)
            with wal_watch(measure, soak):
                while (elapsed := time.monotonic() - began) < seconds:
                    length = max(1, min(slice_seconds, round(seconds - elapsed)))
                    result = drive(
                        server,
                        client,
                        password,
                        flows=10_000_000,
                        concurrency=concurrency,
                        warmup=0,
                        extra=[
                            "--seconds",
                            str(length),
                            "--refresh",
                            "--scope",
                            "openid offline_access",
                            "--max-errors",
                            "1000",
                        ],
                    )
                    soak.first_error = soak.first_error or result.get("first_error")
                    soak.samples.append(sample(server, measure, time.monotonic() - began, result))
                    print(f"soak {soak.name}: {soak.samples[-1]}", file=sys.stderr, flush=True)
    except ServerFailed as exc:
        soak.failed = str(exc)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def render(soaks: list[Soak], *, seconds: int, concurrency: int, slice_seconds: int) -> str:
    lines = [
        "## Soak: sustained full flows (growth of memory, WAL and database)",
        "",
        f"Each backend: one `stepauth serve` process driven for {seconds} s by "
        "`peers/bench-flows.mjs --refresh` (the provider benchmark's driver) at "
        f"{concurrency} concurrent flows; a flow is GET /authorize with a session → code → "
        "POST /token (code + PKCE) → POST /token (refresh_token). The driver runs in "
        f"{slice_seconds} s slices, each signing in once through the sign-in form. Token "
        f"lifetimes are {TTL} s and the background purge runs every {PURGE_INTERVAL} s "
        "(`[purge] interval`), so expired rows are deleted within the run: after the first "
        "lifetime plus retention the item count stays flat. The SQLite WAL is sampled every "
        f"0.5 s (peak below); goal ≤ {WAL_GOAL_MIB} MiB. Run with `make soak` "
        "(`.venv/bin/python -m bench.soak`).",
        "",
        "| Backend | flows | errors | flows/s per slice | RSS start → end MiB "
        "| DB start → end MiB | WAL peak MiB | WAL end MiB | items start → end |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for soak in soaks:
        if soak.failed or not soak.samples or soak.start is None:
            lines.append(f"| {soak.name} | — | — | not measured | | | | | |")
            continue
        first, last = soak.start, soak.samples[-1]
        rates = " · ".join(f"{s.flows_per_second:.0f}" for s in soak.samples)
        is_sqlite = last.wal_mib is not None
        lines.append(
            f"| {soak.name} | {soak.flows:,} | {soak.errors} | {rates} "
            f"| {_fmt(first.rss_mib)} → {_fmt(last.rss_mib)} "
            f"| {_fmt(first.db_mib)} → {_fmt(last.db_mib)} "
            f"| {_fmt(soak.wal_peak_mib) if is_sqlite else '—'} "
            f"| {_fmt(last.wal_mib) if is_sqlite else '—'} "
            f"| {first.items:,} → {last.items:,} |"
        )
    lines.append("")
    for soak in soaks:
        if soak.samples:
            counts = " · ".join(f"{s.items:,}" for s in soak.samples)
            lines.append(f"Item rows after each slice, {soak.name}: {counts}.")
            sizes = " · ".join(_fmt(s.db_mib) for s in soak.samples)
            lines.append(f"Database MiB after each slice, {soak.name}: {sizes}.")
        if soak.first_error:
            lines.append(f"First error, {soak.name}: `{soak.first_error}`.")
        if soak.failed:
            lines += ["", f"**{soak.name} not measured**:", "", "```", soak.failed.strip(), "```"]
    sqlite_runs = [s for s in soaks if s.samples and s.samples[-1].wal_mib is not None]
    if sqlite_runs:
        peak = max(s.wal_peak_mib for s in sqlite_runs)
        met = "met" if peak <= WAL_GOAL_MIB else "not met"
        lines += [
            "",
            f"WAL goal (≤ {WAL_GOAL_MIB} MiB through the run): {met} (peak {peak:.1f} MiB).",
        ]
    lines += [
        "",
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end, "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=300, help="load per backend")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--slice", type=int, default=30, dest="slice_seconds")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=PG_ADMIN_DSN,
        default=None,
        metavar="ADMIN_DSN",
        help=f"also soak on a fresh PostgreSQL database (default DSN {PG_ADMIN_DSN})",
    )
    args = parser.parse_args(argv)
    if shutil.which("node") is None or not (PEERS / "node_modules").is_dir():
        print("bench/soak: node and peers/node_modules are required (make peers)")
        return 1
    password = secrets.token_urlsafe(16)
    client = Client()
    soaks: list[Soak] = []
    options = {
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "slice_seconds": args.slice_seconds,
    }
    with tempfile.TemporaryDirectory(prefix="stepauth-soak-") as tmp:
        workdir = Path(tmp)
        if not args.no_sqlite:
            directory = workdir / "sqlite"
            directory.mkdir()
            soak = Soak("SQLite")
            soaks.append(soak)
            soak_one(
                soak,
                lambda: stepauth_server(
                    directory,
                    client=client,
                    users=[(USERNAME, password)],
                    log_level="warning",
                    extra_toml=EXTRA_TOML,
                ),
                Measure(sqlite_path=directory / "stepauth.db"),
                client,
                password,
                **options,
            )
        if args.postgres:
            with postgres_database(args.postgres) as url:
                directory = workdir / "pg"
                directory.mkdir()
                soak = Soak("PostgreSQL")
                soaks.append(soak)
                name = url.rsplit("/", 1)[1]
                soak_one(
                    soak,
                    lambda: stepauth_server(
                        directory,
                        client=client,
                        users=[(USERNAME, password)],
                        database_url=url,
                        log_level="warning",
                        extra_toml=EXTRA_TOML,
                    ),
                    Measure(pg=(args.postgres, name)),
                    client,
                    password,
                    **options,
                )
    report = render(soaks, **options)
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report)
    return 0 if all(s.samples and not s.failed for s in soaks) else 1


if __name__ == "__main__":
    sys.exit(main())
