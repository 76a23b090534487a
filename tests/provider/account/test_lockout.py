"""Brute force: PSD2 RTS Art. 4(3)(a)/(b), NIST SP 800-63B-4 §3.1.3, §3.2.2, per-IP throttling."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from pathlib import Path

import httpx

from stepauth.provider import throttle
from stepauth.provider.config import ThrottleConfig
from stepauth.provider.factors import totp
from stepauth.provider.notices import read_outbox
from stepauth.store import open_store
from tests.helpers.account_pages import error_of, field, outbox, reauth, sign_in
from tests.helpers.harness import PASSWORD, USERNAME, Provider


async def _enrol_totp(provider: Provider, user_id: str) -> totp.TotpParams:
    params = totp.TotpParams(secret=totp.generate_secret())
    await provider.store.add_factor(
        user_id, "totp", params.to_data(), label="phone", now=provider.clock()
    )
    return params


def _wrong(params: totp.TotpParams, now: float) -> str:
    right = {totp.totp(params, now + d * 30) for d in (-1, 0, 1)}
    return next(c for c in ("123456", "654321", "111111", "222222") if c not in right)


async def test_sixth_totp_is_refused_even_when_correct(provider: Provider) -> None:
    """PSD2 RTS Art. 4(3)(b): five consecutive failures block the factor; the right code is refused
    until the block expires (injectable clock), then accepted."""
    user = await sign_in(provider)
    params = await _enrol_totp(provider, user.id)
    provider.clock.advance(301)
    for _ in range(5):
        await reauth(provider.browser, "totp", expect=400, code=_wrong(params, provider.clock()))
    right = totp.totp(params, provider.clock())
    refused = await reauth(provider.browser, "totp", expect=400, code=right)
    assert error_of(refused.text) == throttle.GENERIC_FAILURE
    state = await provider.store.failure_state(user.id, "totp")
    assert state.blocked_until is not None
    assert state.blocked_until > provider.clock()
    provider.clock.advance(state.blocked_until - provider.clock() + 31)
    await reauth(provider.browser, "totp", code=totp.totp(params, provider.clock()))
    assert (await provider.store.failure_state(user.id, "totp")).count == 0


async def test_failure_message_is_the_same_for_every_factor(provider: Provider) -> None:
    """(Art. 4(3)(a)): the page never tells which factor was wrong."""
    user = await sign_in(provider)
    params = await _enrol_totp(provider, user.id)
    await provider.store.add_factor(
        user.id, "oob", {"channel": "sms", "to": "+15550100"}, label="mobile", now=provider.clock()
    )
    provider.clock.advance(301)  # the sign-in's password is stale: the page asks for it too
    messages = set()
    response = await reauth(
        provider.browser, "password", expect=400, username=USERNAME, password="not the password"
    )
    messages.add(error_of(response.text))
    response = await reauth(
        provider.browser, "totp", expect=400, code=_wrong(params, provider.clock())
    )
    messages.add(error_of(response.text))
    await reauth(provider.browser, "oob", expect=200, oob_code="")  # send a code
    response = await reauth(provider.browser, "oob", expect=400, oob_code="000000")
    messages.add(error_of(response.text))
    assert messages == {throttle.GENERIC_FAILURE}


async def test_new_oob_code_does_not_reset_the_failure_count(provider: Provider) -> None:
    """NIST SP 800-63B-4 §3.1.3: "Generating a new authentication secret SHALL NOT reset the failed
    authentication count"; 10-minute life; single use."""
    user = await sign_in(provider)
    await provider.store.add_factor(
        user.id, "oob", {"channel": "sms", "to": "+15550100"}, label="mobile", now=provider.clock()
    )
    provider.clock.advance(301)
    await reauth(provider.browser, "oob", expect=200, oob_code="")
    for _ in range(3):
        await reauth(provider.browser, "oob", expect=400, oob_code="000000")
    await reauth(provider.browser, "oob", expect=200, oob_code="")  # a new code
    assert (await provider.store.failure_state(user.id, "oob")).count == 3
    for _ in range(2):
        await reauth(provider.browser, "oob", expect=400, oob_code="000000")
    sms = [m for m in read_outbox() if m["to"] == "+15550100" and "code:" in m["message"]]
    code = re.search(r"code: (\d{6})", sms[-1]["message"])
    assert code
    refused = await reauth(provider.browser, "oob", expect=400, oob_code=code.group(1))
    assert error_of(refused.text) == throttle.GENERIC_FAILURE
    assert any("paused" in m for m in outbox())  # the user was alerted of the block


async def test_oob_code_is_single_use_and_expires(provider: Provider) -> None:
    user = await sign_in(provider)
    await provider.store.add_factor(
        user.id, "oob", {"channel": "sms", "to": "+15550100"}, label="mobile", now=provider.clock()
    )
    await reauth(provider.browser, "oob", expect=200, oob_code="")
    code = re.search(r"code: (\d{6})", outbox()[-1])
    assert code
    await reauth(provider.browser, "oob", oob_code=code.group(1))
    await reauth(provider.browser, "oob", expect=400, oob_code=code.group(1))
    await reauth(provider.browser, "oob", expect=200, oob_code="")
    code = re.search(r"code: (\d{6})", outbox()[-1])
    assert code
    provider.clock.advance(601)
    await reauth(provider.browser, "oob", expect=400, oob_code=code.group(1))


async def test_per_ip_throttling(provider: Provider) -> None:
    """Password spraying from one address: blocked for every account, other addresses not."""
    provider.state.config = replace(provider.state.config, throttle=ThrottleConfig(ip_limit=3))
    await provider.create_user()
    for name in ("carol", "dave", "erin"):
        await reauth(provider.browser, "password", expect=400, username=name, password="guess")
    refused = await reauth(
        provider.browser, "password", expect=429, username=USERNAME, password=PASSWORD
    )
    assert error_of(refused.text) == throttle.GENERIC_FAILURE
    other = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=provider.app, client=("192.0.2.7", 5000)),
        base_url=provider.issuer,
    )
    provider.extra_clients.append(other)
    await reauth(other, "password", username=USERNAME, password=PASSWORD)
    provider.clock.advance(throttle.IP_WINDOW)
    await reauth(provider.browser, "password", username=USERNAME, password=PASSWORD)


async def test_growing_blocks_then_permanent_with_warning(tmp_path: Path) -> None:
    """Each series of five failures blocks longer; the user is warned before the block
    that is permanent (until an operator unlocks)."""
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    notices: list[str] = []

    async def notify(user_id: str, message: str) -> None:
        notices.append(message)

    try:
        now = 1_000_000.0
        delays = []
        for _series in range(len(throttle.BLOCK_DELAYS) + 1):
            for _ in range(throttle.MAX_FAILURES):
                count = await throttle.claim_attempt(store, "u1", "totp", now=now)
                assert count is not None
                lockout = await throttle.register_failure(
                    store, "u1", "totp", count=count, now=now, notify=notify
                )
            assert lockout.blocked
            assert lockout.blocked_until is not None
            delays.append(lockout.blocked_until - now)
            last = now
            now = lockout.blocked_until + 1
        assert delays[:-1] == list(throttle.BLOCK_DELAYS)
        assert delays == sorted(delays)
        assert lockout.permanent
        assert len(notices) == len(throttle.BLOCK_DELAYS) + 1
        assert "until support unlocks it" in notices[-2]
        assert "blocked" in notices[-1]
        state = await store.failure_state("u1", "totp")
        assert throttle.is_blocked(state, last + 10 * 365 * 86400)
        assert await throttle.claim_attempt(store, "u1", "totp", now=last + 1) is None
        # only an operator lifts a permanent block (a success counted before it does not)
        await throttle.register_success(store, "u1", "totp")
        assert throttle.is_blocked(await store.failure_state("u1", "totp"), last + 1)
        await store.reset_failures("u1", "totp")
        assert not throttle.is_blocked(await store.failure_state("u1", "totp"), last + 1)
    finally:
        await store.close()


async def test_concurrent_wrong_codes_through_the_page_count_five(provider: Provider) -> None:
    """PSD2 RTS Art. 4(3)(b) / NIST SP 800-63B-4 §3.2.2 through /account/reauth: 50 concurrent wrong
    TOTP codes are counted five times (one first-level block,
    one alert); the rest are refused unverified."""
    user = await sign_in(provider)
    params = await _enrol_totp(provider, user.id)
    provider.clock.advance(301)
    page = await provider.browser.get("/account/reauth", params={"next": "/account"})
    form = {"csrf": field(page.text, "csrf"), "factor": "totp"}
    wrong = _wrong(params, provider.clock())
    responses = await asyncio.gather(
        *(
            provider.browser.post("/account/reauth?next=/account", data={**form, "code": wrong})
            for _ in range(50)
        )
    )
    # refusals of the blocked account count against the address too (HTTP 429 past IP_LIMIT)
    assert {r.status_code for r in responses} <= {400, 429}
    assert {error_of(r.text) for r in responses} == {throttle.GENERIC_FAILURE}
    state = await provider.store.failure_state(user.id, "totp")
    assert state.count == throttle.MAX_FAILURES
    assert state.blocked_until == provider.clock() + throttle.BLOCK_DELAYS[0]
    assert sum("paused" in m for m in outbox()) == 1


async def test_no_code_is_sent_while_the_oob_factor_is_blocked(provider: Provider) -> None:
    """SMS pumping: "send me a code" for a blocked OOB factor sends nothing, and the page
    says only the generic message."""
    user = await sign_in(provider)
    await provider.store.add_factor(
        user.id, "oob", {"channel": "sms", "to": "+15550100"}, label="mobile", now=provider.clock()
    )
    await provider.store.set_blocked_until(user.id, "oob", provider.clock() + 600)
    refused = await reauth(provider.browser, "oob", expect=400, oob_code="")
    assert error_of(refused.text) == throttle.GENERIC_FAILURE
    assert not [m for m in read_outbox() if m["to"] == "+15550100"]
