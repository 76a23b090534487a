"""Purging expired rows (``SQLStore.purge``) on SQLite and PostgreSQL: only what can no
longer be used is deleted, in bounded batches, and two instances may purge at once."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from stepauth.store import SQLStore, open_store
from stepauth.store.schema import items
from tests.store.conftest import SECRET

NOW = 1_800_000_000.0
RETAIN = 3600.0
WINDOW = 900


async def _count_items(store: SQLStore) -> int:
    return int(
        await store.run_sync(
            lambda conn: conn.execute(select(func.count()).select_from(items)).scalar_one()
        )
    )


async def _purge(store: SQLStore, *, batch: int = 1000, now: float = NOW) -> dict[str, int]:
    return await store.purge(now=now, retain=RETAIN, stale_before=now - WINDOW, batch=batch)


async def test_purge_deletes_only_rows_past_expiry_and_retention(store: SQLStore) -> None:
    # a code used and expired long ago, one used and expired within the retention (a
    # replay of it must still be recognised), a live one, one that never expires
    await store.put("code", "old", {}, expires_at=NOW - RETAIN - 1)
    await store.put("code", "recent", {"g": 1}, expires_at=NOW - 10, grant_id="g1")
    assert (await store.consume("code", "recent", now=NOW - 20)).status == "ok"
    await store.put("code", "live", {}, expires_at=NOW + 60)
    await store.put("txn", "forever", {}, expires_at=None)
    # sessions: one past its idle limit, one live
    ended = await store.create_session(
        "u1", [], now=NOW - 100, idle_timeout=50, absolute_timeout=500
    )
    live = await store.create_session("u1", [], now=NOW - 10, idle_timeout=50, absolute_timeout=500)
    # throttle rows: a past per-address window, the current one, a per-account counter
    await store.claim_failure(
        "ip:192.0.2.1", "ip:1", now=NOW - 2 * WINDOW, every=30, hold_until=NOW - WINDOW
    )
    await store.claim_failure("ip:192.0.2.1", "ip:2", now=NOW - 5, every=30, hold_until=NOW + 60)
    await store.record_failure("u1", "totp", now=NOW - 10 * WINDOW)

    assert await _purge(store) == {"items": 1, "sessions": 1, "failures": 1}

    assert (await store.consume("code", "old", now=NOW)).status == "missing"
    assert (await store.consume("code", "recent", now=NOW)).status == "replayed"
    assert await store.get("code", "live", now=NOW) is not None
    assert await store.get("txn", "forever", now=NOW) is not None
    assert await store.get_session(ended.id, now=NOW - 99) is None
    assert await store.get_session(live.id, now=NOW) is not None
    assert (await store.failure_state("ip:192.0.2.1", "ip:1")).count == 0
    assert (await store.failure_state("ip:192.0.2.1", "ip:2")).count == 1
    assert (await store.failure_state("u1", "totp")).count == 1
    assert await _purge(store) == {"items": 0, "sessions": 0, "failures": 0}


async def test_purge_deletes_in_batches(store: SQLStore) -> None:
    for n in range(25):
        await store.put("code", f"c{n}", {}, expires_at=NOW - RETAIN - n)
    statements: list[Any] = []
    write = store.db.write

    async def counted(fn: Any) -> Any:
        statements.append(fn)
        return await write(fn)

    store.db.write = counted  # type: ignore[method-assign]
    assert (await _purge(store, batch=10))["items"] == 25
    # 10 + 10 + 5 items, then one statement each for sessions and failures
    assert len(statements) == 3 + 2
    assert await _count_items(store) == 0


async def test_two_instances_purge_concurrently_without_errors(
    store: SQLStore, other_store: SQLStore
) -> None:
    total = 1500
    for start in range(0, total, 100):
        await asyncio.gather(
            *(
                store.put("code", f"c{n}", {}, expires_at=NOW - RETAIN - 1)
                for n in range(start, start + 100)
            )
        )
    await store.put("code", "live", {}, expires_at=NOW + 60)
    first, second = await asyncio.gather(_purge(store, batch=50), _purge(other_store, batch=50))
    assert first["items"] + second["items"] == total
    assert await _count_items(store) == 1


async def _fill(store: SQLStore, tag: str, count: int) -> None:
    """``count`` expired codes of ~500 bytes, from one connection in one statement.

    One writer, because inserts that wait on each other for the table's extension lock
    make PostgreSQL add up to 512 pages at once (``RelationAddExtraBlocks``), so the
    table's size would depend on how concurrent inserts happened to interleave."""
    rows = [
        {
            "kind": "code",
            "key": f"{tag}{n}",
            "payload": {"blob": "x" * 500},
            "expires_at": NOW - RETAIN - 1,
            "created_at": NOW - RETAIN - 60,
        }
        for n in range(count)
    ]
    await store.run_sync(lambda conn: conn.execute(items.insert(), rows), write=True)


async def _enable_pgstattuple(store: SQLStore) -> None:
    # PostgreSQL's own contrib module, shipped with the server: the exact live, dead and
    # free space of a table (https://www.postgresql.org/docs/current/pgstattuple.html)
    await store.run_sync(
        lambda conn: conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pgstattuple"),
        write=True,
    )


async def _heap_usage(store: SQLStore) -> dict[str, int]:
    """``pgstattuple`` of ``items``: its size, live and dead row versions, free space."""
    row = await store.run_sync(
        lambda conn: conn.exec_driver_sql("SELECT * FROM pgstattuple('items')").mappings().one()
    )
    return {key: int(value) for key, value in row.items() if not key.endswith("percent")}


async def test_postgres_purge_vacuums_so_new_rows_reuse_the_space(postgres_url: str) -> None:
    # A deleted row is a dead row version until a vacuum frees its space; the purge
    # vacuums what it deleted from, so the table holds no dead rows and its file stays
    # the size of what it holds whether or not autovacuum runs (this machine's server
    # runs with autovacuum off).
    store = await open_store(postgres_url, secret=SECRET)
    try:
        await _enable_pgstattuple(store)
        await _fill(store, "a", 2000)
        full = (await _heap_usage(store))["table_len"]
        for tag in ("b", "c"):
            assert (await _purge(store))["items"] == 2000
            assert (await _heap_usage(store))["dead_tuple_count"] == 0
            await _fill(store, tag, 2000)
            assert (await _heap_usage(store))["table_len"] <= full * 1.1
    finally:
        await store.close()


async def test_postgres_purge_without_vacuum_leaves_the_dead_rows(postgres_url: str) -> None:
    # ``[purge] vacuum = false`` leaves the space to autovacuum: the table then holds the
    # deleted rows' versions next to the new ones and grows (the growth the soak measured;
    # pruning on page access frees some of the dead rows' space, not the pages).
    store = await open_store(postgres_url, secret=SECRET)
    try:
        await _enable_pgstattuple(store)
        await store.run_sync(
            lambda conn: conn.exec_driver_sql("ALTER TABLE items SET (autovacuum_enabled = false)"),
            write=True,
        )
        await _fill(store, "a", 2000)
        full = (await _heap_usage(store))["table_len"]
        await store.purge(now=NOW, retain=RETAIN, stale_before=NOW - WINDOW, vacuum=False)
        await _fill(store, "b", 2000)
        assert (await _heap_usage(store))["table_len"] > full * 1.7
    finally:
        await store.close()
