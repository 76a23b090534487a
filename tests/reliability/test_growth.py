"""Nothing grows without bound: the SQLite WAL under sustained load, and expired rows.

A short soak (the CI variant of ``make soak``, :mod:`bench.soak`): a real ``stepauth serve``
on SQLite with 2-second token lifetimes and a purge every second, driven by the load
driver of the benchmarks (authorize → code → token → refresh, 8 at a time) for about 24 s.
Before the WAL was bounded it grew by about 25 MB a second under this load; before the
purge every flow left its rows behind for good.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import time
from pathlib import Path

from bench._servers import PEERS, Client, stepauth_server
from bench.provider import USERNAME, drive
from bench.soak import WAL_GOAL_MIB, Measure, Soak, wal_watch

from stepauth.provider.ops.purge import retention
from tests.conftest import require
from tests.helpers.harness import running_provider
from tests.helpers.metrics import value

TTL = 2
EXTRA_TOML = f"""[ttl]
code = {TTL}
access_token = {TTL}
id_token = {TTL}
refresh_token = {TTL}

[purge]
interval = 1
batch = 500
"""
#: Seconds an item is kept past its expiry with these lifetimes (the longest of them).
RETAIN = TTL
SLICES = 3
SLICE_SECONDS = 8


def test_wal_stays_bounded_and_purge_keeps_items_flat_under_load(tmp_path: Path) -> None:
    require(
        shutil.which("node") is not None and (PEERS / "node_modules").is_dir(),
        "node and peers/node_modules",
    )
    password = secrets.token_urlsafe(12)
    client = Client()
    measure = Measure(sqlite_path=tmp_path / "stepauth.db")
    soak = Soak("SQLite")
    flows: list[int] = []
    items: list[int] = []
    with (
        stepauth_server(
            tmp_path,
            client=client,
            users=[(USERNAME, password)],
            log_level="warning",
            extra_toml=EXTRA_TOML,
        ) as server,
        wal_watch(measure, soak),
    ):
        for _ in range(SLICES):
            result = drive(
                server,
                client,
                password,
                flows=10_000_000,
                concurrency=8,
                warmup=0,
                extra=[
                    "--seconds",
                    str(SLICE_SECONDS),
                    "--refresh",
                    "--scope",
                    "openid offline_access",
                ],
            )
            assert result["errors"] == 0, result["first_error"]
            flows.append(int(result["flows"]))
            items.append(measure.db_mib_and_items()[1])
    assert sum(flows) > 500  # the load was real
    assert soak.wal_peak_mib <= WAL_GOAL_MIB
    # the purge leaves nothing that expired more than the retention (+ a few purge
    # intervals) ago, and after the first lifetime the count stops growing with the load
    # (without the purge it grows with every slice: about 3x the first by the third). Rows
    # per flow of the slice, so a machine that runs the slices at different speeds (a
    # loaded CI runner) compares like with like.
    oldest = measure.oldest_expiry()
    assert oldest is not None
    assert oldest >= time.time() - RETAIN - 5, (oldest, time.time())
    per_flow = [n / max(f, 1) for n, f in zip(items, flows, strict=True)]
    assert per_flow[-1] <= 2 * per_flow[0], (items, flows)


async def test_background_purge_runs_in_a_served_app(tmp_path: Path) -> None:
    async with running_provider(tmp_path, purge={"interval": 1, "batch": 2}) as provider:
        now = provider.clock()
        gone = now - retention(provider.state.config) - 1
        for n in range(5):
            await provider.store.put("code", f"old{n}", {}, expires_at=gone)
        await provider.store.put("code", "live", {}, expires_at=now + 60)
        deadline = time.monotonic() + 10
        while value(provider.app, "stepauth_purged_rows_total", table="items") < 5:
            assert time.monotonic() < deadline, "the background purge did not run"
            await asyncio.sleep(0.2)
        assert await provider.store.get("code", "live", now=now) is not None
        assert (await provider.store.consume("code", "old0", now=now)).status == "missing"
        # the public port still answers while the purge runs beside it
        assert (await provider.browser.get("/healthz")).status_code == 200
