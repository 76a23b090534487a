"""Requests a session answered: counted in memory, written as aggregated friction records
(:mod:`stepauth.provider.friction.tally`), and counted exactly by the report."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stepauth.audit.friction import TOTAL, friction_report
from stepauth.audit.friction_records import SIGN_IN
from stepauth.provider.friction.tally import MAX_KEYS, SessionAnswers
from stepauth.store import open_store
from tests.helpers.frontchannel import query, rp_params, sign_in
from tests.helpers.harness import Provider, running_provider

DAY1 = datetime(2026, 12, 1, 9, tzinfo=UTC).timestamp()
DAY2 = datetime(2026, 12, 2, 9, tzinfo=UTC).timestamp()
PAY = "payment_initiation"


class FailingAfter:
    """The real store, refusing audit writes after ``ok`` of them (a store outage)."""

    def __init__(self, store: Any, ok: int) -> None:
        self.store, self.ok = store, ok

    async def append_audit(self, event: Mapping[str, Any], *, now: float) -> None:
        if self.ok == 0:
            raise ConnectionError("the database went away")
        self.ok -= 1
        await self.store.append_audit(event, now=now)


async def _satisfied(provider: Provider) -> list[dict[str, Any]]:
    records = await provider.store.audit_between(since=0, until=DAY2 + 86_400, event="friction")
    return [r for r in records if r.get("result") == "satisfied"]


async def test_one_record_per_action_client_and_day_counts_them_exactly(
    provider: Provider,
) -> None:
    tally = SessionAnswers()
    for n in range(3):
        tally.count(action=PAY, client_id="bank", at=DAY1 + n)
    tally.count(action=PAY, client_id="shop", at=DAY1 + 5)
    tally.count(action=PAY, client_id="bank", at=DAY2)
    tally.count(action=SIGN_IN, client_id="bank", at=DAY2 + 1)
    assert await tally.flush(provider.store) == 4
    assert await tally.flush(provider.store) == 0  # written once

    written = {
        (r["action"], r["client_id"], r["at"]): r["count"] for r in await _satisfied(provider)
    }
    assert written == {
        (PAY, "bank", DAY1): 3,  # at the first request counted: on its day
        (PAY, "shop", DAY1 + 5): 1,
        (PAY, "bank", DAY2): 1,
        (SIGN_IN, "bank", DAY2 + 1): 1,
    }
    rows = friction_report(await _satisfied(provider), since=0, until=DAY2 + 86_400, now=DAY2)
    by_day = {(r.action, r.day): (r.attempts, r.avoided_reuse, r.prompts) for r in rows}
    assert by_day[(PAY, "2026-12-01")] == (4, 4, 0)
    assert by_day[(PAY, "2026-12-02")] == (1, 1, 0)
    assert by_day[(PAY, TOTAL)] == (5, 5, 0)
    assert by_day[(SIGN_IN, TOTAL)] == (1, 1, 0)


async def test_counts_a_failed_flush_could_not_write_wait_for_the_next(
    provider: Provider,
) -> None:
    tally = SessionAnswers()
    tally.count(action=PAY, client_id="bank", at=DAY1)
    tally.count(action=PAY, client_id="shop", at=DAY1)
    with pytest.raises(ConnectionError):
        await tally.flush(FailingAfter(provider.store, ok=1))  # type: ignore[arg-type]
    assert len(tally) == 1
    tally.count(action=PAY, client_id="bank", at=DAY1 + 1)  # counted meanwhile
    tally.count(action=PAY, client_id="shop", at=DAY1 + 2)
    await tally.flush(provider.store)
    (row,) = [
        r
        for r in friction_report(await _satisfied(provider), since=0, until=DAY2, now=DAY2)
        if r.day == TOTAL
    ]
    assert (row.attempts, row.avoided_reuse) == (4, 4)  # none lost, none twice


def test_the_tally_asks_for_a_flush_when_it_holds_max_keys() -> None:
    tally = SessionAnswers()
    due = [tally.count(action=f"a{n}", client_id="bank", at=DAY1) for n in range(MAX_KEYS)]
    assert due == [False] * (MAX_KEYS - 1) + [True]


async def test_answered_requests_are_counted_not_written_until_shutdown(tmp_path: Path) -> None:
    async with running_provider(tmp_path) as provider:
        await provider.create_user()
        assert "code" in await sign_in(provider.browser, query())  # a prompt: written now
        for _ in range(2):
            answered = await provider.browser.get("/authorize", params=query())
            assert "code" in rp_params(answered)  # the session answered
        assert await _satisfied(provider) == []
        assert len(provider.state.friction) == 1
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'stepauth.db'}")
    try:
        records = await store.audit_between(since=0, until=DAY2 * 2, event="friction")
    finally:
        await store.close()
    assert [(r["result"], r.get("count")) for r in records if r["stage"] == "request"] == [
        ("prompted", None),
        ("satisfied", 2),
    ]
