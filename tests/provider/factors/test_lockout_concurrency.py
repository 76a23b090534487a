"""The lockout under concurrent attempts (PSD2 RTS Art. 4(3)(b), 4(4); NIST SP 800-63B-4 §3.2.2).

An attempt is counted before its factor is verified, in one atomic statement, so a
burst of concurrent wrong guesses gets no more verifications than the limit allows,
blocks escalate once per threshold, the alert before the permanent block is always
sent, a permanent block is never shortened, and the per-IP limit holds the same way.
Real SQLite and PostgreSQL stores; the clock is injected (``Attempt.now``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from stepauth import audit
from stepauth.provider import throttle
from stepauth.provider.config import ThrottleConfig
from stepauth.provider.factors.base import Attempt, FactorRejected, Verified
from stepauth.provider.factors.oob import CODE_SENT
from stepauth.provider.interaction.outcome import Submission
from stepauth.provider.notices import OutboxSender

NOW = 1_800_000_000.0
BURST = 50

#: The Provider's default limits, as a configured Provider has them.
CONFIG = SimpleNamespace(throttle=ThrottleConfig())


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """The real store on SQLite and on PostgreSQL."""
    from stepauth.store import open_store

    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'lock.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    store = await open_store(url, secret=b"lockout-tests-" + b"k" * 32)
    try:
        yield store
    finally:
        await store.close()


class Guesses:
    """Wrong guesses under :func:`throttle.guarded`; counts the verifications run."""

    def __init__(self, store: Any, user: Any) -> None:
        self.store = store
        self.user = user
        self.checked = 0
        self.notices: list[tuple[str, float | None]] = []

    async def notify(self, user_id: str, message: str) -> None:
        # the block in force when the user is alerted
        state = await self.store.failure_state(user_id, "totp")
        self.notices.append((message, state.blocked_until))

    async def wrong(self) -> Verified | None:
        self.checked += 1
        await asyncio.sleep(0)  # a verification awaits (a store read, a thread)
        await self.store.get_user(self.user.id)
        return None

    async def one(
        self, now: float, check: Callable[[], Awaitable[Verified | None]] | None = None
    ) -> FactorRejected:
        attempt = Attempt(
            state=SimpleNamespace(sender=OutboxSender(), store=self.store, config=CONFIG),  # type: ignore[arg-type]
            form={},
            user=self.user,
            factors=[],
            now=now,
            interaction_id="burst",
        )
        with pytest.raises(FactorRejected) as info:
            await throttle.guarded(attempt, "totp", check or self.wrong, notify=self.notify)
        assert info.value.description == throttle.GENERIC_FAILURE
        return info.value

    async def burst(self, now: float, n: int = BURST) -> list[FactorRejected]:
        return list(await asyncio.gather(*(self.one(now) for _ in range(n))))


async def _running(started: asyncio.Event, task: asyncio.Task[Any]) -> None:
    """Wait until ``task`` is inside its verification (it must not end before)."""
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    assert started.is_set(), "the attempt was refused before its verification ran"


async def test_concurrent_wrong_guesses_verify_at_most_five(any_store: Any) -> None:
    """PSD2 RTS Art. 4(3)(b) / NIST SP 800-63B-4 §3.2.2:
    50 concurrent wrong guesses: five verified, first-level block.
    """
    user = await any_store.create_user("alice", None)
    guesses = Guesses(any_store, user)
    refusals = await guesses.burst(NOW)
    assert guesses.checked == throttle.MAX_FAILURES
    state = await any_store.failure_state(user.id, "totp")
    assert state.count == throttle.MAX_FAILURES
    assert state.blocked_until == NOW + throttle.BLOCK_DELAYS[0]
    assert len(guesses.notices) == 1
    assert "Sign-in is paused for 1 minute." in guesses.notices[0][0]
    assert sum(r.locked for r in refusals) == BURST - throttle.MAX_FAILURES + 1
    # the block holds against another burst, and nothing more is counted
    await guesses.burst(NOW + 30)
    assert guesses.checked == throttle.MAX_FAILURES
    assert (await any_store.failure_state(user.id, "totp")).count == throttle.MAX_FAILURES


async def test_bursts_escalate_once_per_series_and_warn_before_permanent(any_store: Any) -> None:
    """PSD2 RTS Art. 4(3)(b), 4(4): each burst crosses one threshold; the warning is
    sent while no permanent block exists, and only the fifth series blocks permanently."""
    user = await any_store.create_user("bob", None)
    guesses = Guesses(any_store, user)
    now = NOW
    for level, delay in enumerate(throttle.BLOCK_DELAYS, start=1):
        await guesses.burst(now)
        assert guesses.checked == level * throttle.MAX_FAILURES
        state = await any_store.failure_state(user.id, "totp")
        assert state.blocked_until == now + delay
        assert len(guesses.notices) == level
        now += delay + 1
    warning, block_then = guesses.notices[-1]
    assert "until support unlocks it" in warning
    assert block_then is not None
    assert block_then < throttle.PERMANENT
    assert all("until support unlocks it" not in m for m, _ in guesses.notices[:-1])
    await guesses.burst(now)
    assert guesses.checked == (len(throttle.BLOCK_DELAYS) + 1) * throttle.MAX_FAILURES
    assert (await any_store.failure_state(user.id, "totp")).blocked_until == throttle.PERMANENT
    assert "Contact support to unlock it" in guesses.notices[-1][0]
    assert len(guesses.notices) == len(throttle.BLOCK_DELAYS) + 1


async def test_permanent_block_is_not_shortened_by_a_late_lower_block(any_store: Any) -> None:
    """PSD2 RTS Art. 4(3)(b): a slow attempt that crossed the last temporary threshold finishes
    after the permanent block was set: its one-hour block never replaces the permanent one."""
    user = await any_store.create_user("carol", None)
    guesses = Guesses(any_store, user)
    now = NOW
    for delay in throttle.BLOCK_DELAYS[:-1]:
        await guesses.burst(now)
        now += delay + 1
    for i in range(throttle.MAX_FAILURES - 1):
        await guesses.one(now + i)
    now += throttle.MAX_FAILURES
    started, release = asyncio.Event(), asyncio.Event()

    async def slow() -> Verified | None:
        guesses.checked += 1
        started.set()
        await release.wait()
        return None

    slow_one = asyncio.create_task(guesses.one(now, slow))
    try:
        await _running(started, slow_one)
        later = now + throttle.BLOCK_DELAYS[0] + 1  # the slow attempt's own hold has lapsed
        await guesses.burst(later)
        state = await any_store.failure_state(user.id, "totp")
        assert state.blocked_until == throttle.PERMANENT
    finally:
        release.set()
        if started.is_set():
            await slow_one
    state = await any_store.failure_state(user.id, "totp")
    assert state.blocked_until == throttle.PERMANENT
    assert guesses.checked == (len(throttle.BLOCK_DELAYS) + 1) * throttle.MAX_FAILURES


async def test_a_success_in_flight_keeps_a_permanent_block(any_store: Any) -> None:
    """PSD2 RTS Art. 4(3)(b): only an operator lifts a permanent block; a right answer whose attempt
    was counted before the block was set resets the count but not the block."""
    user = await any_store.create_user("dave", None)
    guesses = Guesses(any_store, user)
    now = NOW
    for delay in throttle.BLOCK_DELAYS:
        await guesses.burst(now)
        now += delay + 1
    started, release = asyncio.Event(), asyncio.Event()

    async def right() -> Verified | None:
        started.set()
        await release.wait()
        return Verified(user=user, event=None)  # type: ignore[arg-type]

    attempt = Attempt(
        state=SimpleNamespace(sender=OutboxSender(), store=any_store, config=CONFIG),  # type: ignore[arg-type]
        form={},
        user=user,
        factors=[],
        now=now,
        interaction_id="right",
    )
    success = asyncio.create_task(throttle.guarded(attempt, "totp", right, notify=guesses.notify))
    try:
        await _running(started, success)
        await guesses.burst(now)
        state = await any_store.failure_state(user.id, "totp")
        assert state.blocked_until == throttle.PERMANENT
    finally:
        release.set()
        if started.is_set():
            await success
    assert (await any_store.failure_state(user.id, "totp")).blocked_until == throttle.PERMANENT


async def test_concurrent_lower_blocks_never_shorten_a_longer_one(any_store: Any) -> None:
    """PSD2 RTS Art. 4(3)(b): concurrent block writes
    keep the longest block (one statement each).
    """
    writes = [NOW + d for d in throttle.BLOCK_DELAYS] * 10 + [throttle.PERMANENT]
    await asyncio.gather(*(any_store.raise_blocked_until("u1", "totp", w) for w in writes))
    assert (await any_store.failure_state("u1", "totp")).blocked_until == throttle.PERMANENT
    await any_store.raise_blocked_until("u1", "totp", NOW + 60)
    assert (await any_store.failure_state("u1", "totp")).blocked_until == throttle.PERMANENT


async def test_concurrent_attempts_from_one_address_respect_the_ip_limit(any_store: Any) -> None:
    """Password spraying in parallel from one address: at most IP_LIMIT verifications per
    window over all accounts; a success gives its slot back."""
    client = audit.Client(ip="198.51.100.9", user_agent="burst")
    state = SimpleNamespace(sender=OutboxSender(), store=any_store, config=CONFIG)
    checked = 0

    async def submit(user_id: str, right: bool = False) -> int:
        nonlocal checked
        sub = Submission(state=state, client=client, factor="password", now=NOW, reason=None)  # type: ignore[arg-type]
        refusal = await sub.throttled(user_id)
        if refusal is not None:
            return refusal.status_code
        checked += 1
        await asyncio.sleep(0)  # a verification awaits (a store read, a thread)
        await any_store.get_user(user_id)
        if right:
            user = SimpleNamespace(id=user_id)
            event = SimpleNamespace(methods=("pwd",))
            verified = SimpleNamespace(user=user, event=event, factor_id=None)
            await sub.verified(verified, before=[], after=[])  # type: ignore[arg-type]
            return 200
        return (await sub.refused(FactorRejected(throttle.GENERIC_FAILURE), user_id)).status_code

    codes = await asyncio.gather(*(submit(f"user{i}") for i in range(BURST)))
    assert checked == throttle.IP_LIMIT
    assert codes.count(429) == BURST - throttle.IP_LIMIT
    assert codes.count(400) == throttle.IP_LIMIT
    assert await submit("user0") == 429
    assert checked == throttle.IP_LIMIT
    other = audit.Client(ip="198.51.100.10", user_agent="other")
    sub = Submission(state=state, client=other, factor="password", now=NOW, reason=None)  # type: ignore[arg-type]
    assert await sub.throttled("user0") is None


async def _oob_user(store: Any, name: str) -> tuple[Any, Any]:
    user = await store.create_user(name, None)
    await store.add_factor(
        user.id, "oob", {"channel": "sms", "to": "+15550199"}, label="m", now=NOW
    )
    state = SimpleNamespace(
        sender=OutboxSender(),
        store=store,
        config=SimpleNamespace(issuer="https://op.example", throttle=ThrottleConfig()),
    )
    return user, state


async def _send(store: Any, state: Any, user: Any, now: float) -> FactorRejected:
    from stepauth.provider.factors.oob import plugin as oob_plugin

    attempt = Attempt(
        state=state,
        form={"factor": "oob", "oob_code": ""},
        user=user,
        factors=await store.list_factors(user.id),
        now=now,
        interaction_id="send",
    )
    with pytest.raises(FactorRejected) as info:
        await oob_plugin.verify(attempt)
    return info.value


def _codes_sent() -> int:
    from stepauth.provider.notices import read_outbox

    return sum("code:" in str(m["message"]) for m in read_outbox())


async def test_no_code_is_sent_to_a_blocked_oob_factor(store: Any) -> None:
    """NIST SP 800-63B-4 §3.1.3.3, §3.2.9 / PSD2 RTS Art. 4(3)(b): while the OOB factor is blocked,
    "send me a code" sends nothing (no SMS pumping of a blocked
    account) and answers with the generic message."""
    user, state = await _oob_user(store, "erin")
    assert (await _send(store, state, user, NOW)).description == CODE_SENT
    assert _codes_sent() == 1
    await store.set_blocked_until(user.id, "oob", NOW + 600)
    refused = await _send(store, state, user, NOW + 1)
    assert refused.description == throttle.GENERIC_FAILURE
    assert refused.locked
    assert _codes_sent() == 1
    assert (await _send(store, state, user, NOW + 601)).description == CODE_SENT
    assert _codes_sent() == 2


async def test_concurrent_code_requests_are_rate_limited(store: Any) -> None:
    """NIST SP 800-63B-4 §3.1.3.3, §3.2.9 (SMS pumping): 50 concurrent "send me a code" requests
    send at most SENDS_PER_WINDOW codes per 10 minutes; the next window allows more."""
    from stepauth.provider.factors.oob import CODE_TTL, SENDS_PER_WINDOW

    user, state = await _oob_user(store, "frank")
    results = await asyncio.gather(*(_send(store, state, user, NOW) for _ in range(BURST)))
    assert sum(r.description == CODE_SENT for r in results) == SENDS_PER_WINDOW
    assert all(r.locked for r in results if r.description != CODE_SENT)
    assert _codes_sent() == SENDS_PER_WINDOW
    later = (NOW // CODE_TTL + 1) * CODE_TTL
    assert (await _send(store, state, user, later)).description == CODE_SENT


async def test_a_success_gives_its_address_slot_back(any_store: Any) -> None:
    """Per-IP limit: only failures stay counted; a success or a code sent gives back the
    slot it held, so one address's successes never throttle it."""
    limits = ThrottleConfig(ip_limit=3)
    client = audit.Client(ip="203.0.113.5", user_agent="ok")
    state = SimpleNamespace(
        sender=OutboxSender(), store=any_store, config=SimpleNamespace(throttle=limits)
    )

    def submission() -> Submission:
        return Submission(state=state, client=client, factor="password", now=NOW, reason=None)  # type: ignore[arg-type]

    user = SimpleNamespace(id="u1")
    verified = SimpleNamespace(user=user, event=SimpleNamespace(methods=("pwd",)), factor_id=None)
    for _ in range(limits.ip_limit * 3):
        sub = submission()
        assert await sub.throttled("u1") is None
        await sub.verified(verified, before=[], after=[])  # type: ignore[arg-type]
        sub = submission()
        assert await sub.throttled("u1") is None
        await sub.refused(FactorRejected(CODE_SENT), "u1")
    for _ in range(limits.ip_limit):
        sub = submission()
        assert await sub.throttled("u1") is None
        await sub.refused(FactorRejected(throttle.GENERIC_FAILURE), "u1")
    refusal = await submission().throttled("u1")
    assert refusal is not None
    assert refusal.status_code == 429
