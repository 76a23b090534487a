"""Txn ledgers on real SQLite, PostgreSQL and Redis: single use by one atomic operation.

Each backend gets the same behaviours: first use wins, the second is a replay, and of
concurrent uses through separate connections exactly one wins — both for the bare ledger
and for :func:`require_transaction` (PSD2 RTS Art. 4(1),
Art. 5(1)(d); RFC 9396 §9; ASVS 5.0 10.3.2).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import select

from stepauth.sdk.ledger import Ledger
from stepauth.sdk.redis_stores import RedisLedger
from stepauth.sdk.sql_ledger import SQLLedger, used_txn
from stepauth.sdk.transaction import TransactionReplayed, require_transaction
from tests.helpers.payments import NOW, PAYMENT, claims_for

#: Concurrent contenders per race; each on its own connection.
CONTENDERS = 8

Backend = SQLLedger | RedisLedger
#: Opens one more ledger (own engine / own Redis client) on the backend under test.
Factory = Callable[[], Awaitable[Backend]]


def clock() -> float:
    return NOW


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
async def open_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Factory]:
    """A factory of ledgers that share one backend but not a connection."""
    opened: list[Backend] = []
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'txn.db'}"
    elif request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_prefix")

    async def factory() -> Backend:
        ledger: Backend
        if request.param == "redis":
            ledger = RedisLedger.from_url(url, prefix=prefix, clock=clock)
        else:
            ledger = SQLLedger.from_url(url, clock=clock)
            await ledger.create_schema()  # idempotent: every contender runs it
        opened.append(ledger)
        return ledger

    yield factory
    for ledger in opened:
        await ledger.close()


async def test_ledgers_implement_the_protocol(open_ledger: Factory) -> None:
    assert isinstance(await open_ledger(), Ledger)


async def test_first_use_wins_and_second_is_a_replay(open_ledger: Factory) -> None:
    ledger = await open_ledger()
    assert await ledger.consume("txn-1", expires_at=NOW + 60) is True
    assert await ledger.consume("txn-1", expires_at=NOW + 60) is False
    assert await ledger.consume("txn-2", expires_at=NOW + 60) is True


async def test_replay_through_another_instance_is_detected(open_ledger: Factory) -> None:
    """Two resource-server instances share the ledger: the second sees the first's use."""
    first, second = await open_ledger(), await open_ledger()
    assert await first.consume("txn-1", expires_at=NOW + 60) is True
    assert await second.consume("txn-1", expires_at=NOW + 60) is False


async def test_two_concurrent_uses_exactly_one_wins(open_ledger: Factory) -> None:
    ledgers = [await open_ledger(), await open_ledger()]
    results = await asyncio.gather(
        *(ledger.consume("txn-race", expires_at=NOW + 60) for ledger in ledgers)
    )
    assert sorted(results) == [False, True]


async def test_many_concurrent_uses_exactly_one_wins(open_ledger: Factory) -> None:
    ledgers = [await open_ledger() for _ in range(CONTENDERS)]
    for round_ in range(3):
        txn = f"txn-race-{round_}"
        results = await asyncio.gather(
            *(ledger.consume(txn, expires_at=NOW + 60) for ledger in ledgers)
        )
        assert results.count(True) == 1, results


async def test_two_concurrent_transfers_with_one_token_execute_once(open_ledger: Factory) -> None:
    """The same bound token sent twice at once (double click, replay race): one transfer."""
    claims = claims_for(PAYMENT)
    ledgers = [await open_ledger(), await open_ledger()]
    outcomes: list[Any] = await asyncio.gather(
        *(
            require_transaction(PAYMENT, claims=claims, ledger=ledger, now=NOW)
            for ledger in ledgers
        ),
        return_exceptions=True,
    )
    executed = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(executed) == 1
    assert executed[0].txn == claims["txn"]
    assert len(refused) == 1
    assert isinstance(refused[0], TransactionReplayed)


async def test_expiry_already_past_is_never_a_first_use(open_ledger: Factory) -> None:
    """A record that would be forgotten at once would let a replay pass: refused instead."""
    ledger = await open_ledger()
    assert await ledger.consume("txn-old", expires_at=NOW) is False
    assert await ledger.consume("txn-old", expires_at=NOW - 1) is False


async def test_sql_purge_drops_only_dead_records(tmp_path: Path) -> None:
    ledger = SQLLedger.from_url(f"sqlite+aiosqlite:///{tmp_path / 'txn.db'}", clock=clock)
    await ledger.create_schema()
    try:
        assert await ledger.consume("txn-short", expires_at=NOW + 10)
        assert await ledger.consume("txn-long", expires_at=NOW + 1000)
        assert await ledger.purge(now=NOW + 10) == 1
        async with ledger.engine.connect() as conn:
            rows = (await conn.execute(select(used_txn.c.txn, used_txn.c.used_at))).all()
        assert [tuple(r) for r in rows] == [("txn-long", NOW)]
        assert await ledger.consume("txn-long", expires_at=NOW + 1000) is False
    finally:
        await ledger.close()


@pytest.mark.postgres
async def test_sql_table_has_txn_as_primary_key(postgres_url: str) -> None:
    from sqlalchemy import inspect as sa_inspect

    ledger = SQLLedger.from_url(postgres_url, clock=clock)
    await ledger.create_schema()
    try:
        async with ledger.engine.connect() as conn:
            pk = await conn.run_sync(
                lambda sync: sa_inspect(sync).get_pk_constraint("stepauth_used_txn")
            )
        assert pk["constrained_columns"] == ["txn"]
        assert await ledger.consume("txn-pg", expires_at=NOW + 5) is True
    finally:
        await ledger.close()


@pytest.mark.redis
async def test_redis_key_lives_until_the_retention_end(redis_url: str, redis_prefix: str) -> None:
    """``SET … NX PX``: the key lives until ``expires_at`` on the ledger's clock, then drops."""
    ledger = RedisLedger.from_url(redis_url, prefix=redis_prefix, clock=clock)
    client: aioredis.Redis[bytes] = aioredis.Redis.from_url(redis_url)
    key = f"{redis_prefix}txn:txn-r"
    try:
        assert await ledger.consume("txn-r", expires_at=NOW + 120.5) is True
        assert await client.get(key) == b"1"
        ttl_ms = await client.pttl(key)
        assert 0 < ttl_ms <= 120_500
        assert ttl_ms > 60_000  # the test does not run for a minute
    finally:
        await client.aclose()  # type: ignore[attr-defined]
        await ledger.close()
