"""Growing lockout of a factor plug-in (PSD2 RTS Art. 4(3)(b); NIST SP 800-63B-4 §3.2.2).

Five consecutive failures of one factor type block it; each series blocks longer
(1, 5, 15, 60 minutes) and the block holds even for the right code; the user is alerted
at each block and warned at the last temporary one; the next series is permanent.
The clock is injected (``Attempt.now``); the store is the real SQLite one.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest

from stepauth.provider import throttle
from stepauth.provider.config import ThrottleConfig
from stepauth.provider.factors import totp as totp_mod
from stepauth.provider.factors.base import Attempt, FactorRejected
from stepauth.provider.factors.totp import TotpParams, generate_secret, plugin
from stepauth.provider.notices import OutboxSender, read_outbox

NOW = 1_800_000_000.0

#: The Provider's default limits, as a configured Provider has them.
CONFIG = SimpleNamespace(throttle=ThrottleConfig())


async def _attempt(store: Any, user: Any, code: str, now: float) -> Attempt:
    return Attempt(
        state=SimpleNamespace(sender=OutboxSender(), store=store, config=CONFIG),  # type: ignore[arg-type]
        form={"factor": "totp", "code": code},
        user=user,
        factors=await store.list_factors(user.id),
        now=now,
        interaction_id="lockout",
    )


def _wrong(params: TotpParams, now: float) -> str:
    right = {totp_mod.totp(params, now + d * 30) for d in (-1, 0, 1)}
    return next(c for c in ("000000", "123456", "654321") if c not in right)


async def fail_series(store: Any, user: Any, params: TotpParams, now: float) -> float:
    """Five wrong codes from ``now`` on; returns the time of the last one."""
    for i in range(throttle.MAX_FAILURES):
        at = now + i
        with pytest.raises(FactorRejected) as info:
            await plugin.verify(await _attempt(store, user, _wrong(params, at), at))
        assert info.value.description == throttle.GENERIC_FAILURE
    return now + throttle.MAX_FAILURES - 1


async def test_blocks_grow_warn_and_then_become_permanent(store: Any) -> None:
    user = await store.create_user("alice", None)
    params = TotpParams(secret=generate_secret())
    await store.add_factor(user.id, "totp", params.to_data(), label="phone", now=NOW)
    now = NOW
    for delay in throttle.BLOCK_DELAYS:
        last = await fail_series(store, user, params, now)
        state = await store.failure_state(user.id, "totp")
        assert state.blocked_until == last + delay
        inside = last + delay - 1
        right = await _attempt(store, user, totp_mod.totp(params, inside), inside)
        with pytest.raises(FactorRejected) as info:
            await plugin.verify(right)
        assert info.value.locked
        now = last + delay + 1
    notices = [m["message"] for m in read_outbox() if m["to"] == "alice"]
    paused = [re.search(r"paused for (\d+) minutes?\.", n) for n in notices]
    assert [m[1] if m else None for m in paused] == ["1", "5", "15", "60"]
    # the user is warned before the block that would be permanent
    assert "until support unlocks it" in notices[-1]
    assert all("until support unlocks it" not in n for n in notices[:-1])
    last = await fail_series(store, user, params, now)
    state = await store.failure_state(user.id, "totp")
    assert state.blocked_until == throttle.PERMANENT
    assert "Contact support to unlock it" in read_outbox()[-1]["message"]
    years_later = last + 5 * 365 * 86400
    right = await _attempt(store, user, totp_mod.totp(params, years_later), years_later)
    with pytest.raises(FactorRejected) as info:
        await plugin.verify(right)
    assert info.value.locked
    assert info.value.description == throttle.GENERIC_FAILURE


async def test_a_success_resets_the_series(store: Any) -> None:
    """NIST SP 800-63B-4 §3.2.2: previous failures are disregarded
    after a success (four, then one more, is no block)."""
    user = await store.create_user("bob", None)
    params = TotpParams(secret=generate_secret())
    await store.add_factor(user.id, "totp", params.to_data(), label="phone", now=NOW)
    for i in range(throttle.MAX_FAILURES - 1):
        with pytest.raises(FactorRejected):
            await plugin.verify(await _attempt(store, user, _wrong(params, NOW + i), NOW + i))
    at = NOW + 10
    await plugin.verify(await _attempt(store, user, totp_mod.totp(params, at), at))
    with pytest.raises(FactorRejected) as info:
        await plugin.verify(await _attempt(store, user, _wrong(params, at + 1), at + 1))
    assert not info.value.locked
    assert (await store.failure_state(user.id, "totp")).count == 1
