"""The interaction pages audit every attempt and step-up, and throttle per address.

ASVS 5.0 16.3.1 (every authentication operation, its type and factors);
PSD2 RTS Art. 4(3)(a) (: one generic message) and Art. 4(3)(b) (: at most
five consecutive failures, a first-factor passkey included).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from stepauth.cli.audit import format_event
from stepauth.provider import throttle
from stepauth.provider.config import ThrottleConfig
from tests.helpers.frontchannel import (
    TOTP,
    enrol_totp,
    open_interaction,
    page,
    query,
    rp_params,
    submit,
    totp_code,
    wrong_passwords,
)
from tests.helpers.harness import (
    ACR_1FA,
    ACR_2FA,
    PASSWORD,
    PUBLIC,
    USERNAME,
    Provider,
    running_provider,
)
from tests.helpers.passkeys import (
    enrol_passkey,
    passkey_options,
    refused,
    unb64url,
    use_passkey,
    use_passkeys,
)
from tests.helpers.soft_authenticator import SoftAuthenticator

AGENT = "Mozilla/5.0 (X11; Linux x86_64) stepauth-audit-test"
WRONG_PASSWORD = "not-the-password-7f3a"


@pytest.fixture
async def provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Provider]:
    monkeypatch.setenv("STEPAUTH_OUTBOX", str(tmp_path / "outbox.jsonl"))
    async with running_provider(tmp_path) as running:
        await running.create_user()
        use_passkeys(running)
        running.browser.headers["user-agent"] = AGENT
        yield running


def _error(response: httpx.Response) -> str:
    from html import unescape

    text = response.text
    start = text.index('role="alert" class="error">') + len('role="alert" class="error">')
    return unescape(text[start : text.index("<", start)])


async def _rows(provider: Provider) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await provider.store.tail_audit(200)
    return rows


async def _password_then_totp(provider: Provider) -> tuple[str, list[str]]:
    """Wrong then right password (1fa), then a step-up to 2fa: wrong then right code.

    Returns the user id and every secret that was typed.
    """
    alice = await provider.store.get_user_by_username(USERNAME)
    params = await enrol_totp(provider, alice.id)
    shown = await open_interaction(provider.browser, query())
    wrong = await submit(
        provider.browser, shown, "password", username=USERNAME, password=WRONG_PASSWORD
    )
    assert wrong.status_code == 400
    rp_params(
        await submit(
            provider.browser, page(wrong), "password", username=USERNAME, password=PASSWORD
        )
    )
    provider.clock.advance(60)
    shown = await open_interaction(provider.browser, query(acr_values=ACR_2FA))
    right = totp_code(provider, params)
    bad = next(c for c in ("000000", "111111", "222222") if c != right)
    failed = await submit(provider.browser, shown, TOTP, code=bad)
    assert failed.status_code == 400
    rp_params(await submit(provider.browser, page(failed), TOTP, code=right))
    return alice.id, [WRONG_PASSWORD, PASSWORD, bad, right]


async def test_every_attempt_and_step_up_is_audited_with_its_fields(provider: Provider) -> None:
    """ASVS 5.0 16.3.1: user, client, reason, method, credential, result,
    acr before and after, IP and user agent — for failures and successes alike."""
    user_id, _ = await _password_then_totp(provider)
    rows = await _rows(provider)
    attempts = [r for r in rows if r["event"] == "authentication"]
    assert [(r["factor"], r["result"]) for r in attempts] == [
        ("password", "failure"),
        ("password", "success"),
        ("totp", "failure"),
        ("totp", "success"),
    ]
    for row in attempts:
        assert row["user_id"] == user_id  # a known username is counted against its owner
        assert row["client_id"] == PUBLIC
        assert row["ip"] == "127.0.0.1"
        assert row["user_agent"] == AGENT
        assert row["reason"]
    assert attempts[1]["method"] == ["pwd"]
    assert "acr_not_met" in attempts[3]["reason"]
    assert attempts[3]["method"] == ["otp"]
    totp_factor = next(f for f in await provider.store.list_factors(user_id) if f.kind == TOTP)
    assert attempts[3]["credential"] == totp_factor.id
    steps = [r for r in rows if r["event"] == "step_up"]
    assert [(r.get("acr_before"), r["acr_after"]) for r in steps] == [
        (None, ACR_1FA),
        (ACR_1FA, ACR_2FA),
    ]
    assert all(r["user_id"] == user_id and r["client_id"] == PUBLIC for r in steps)
    assert steps[1]["method"] == ["otp"]
    assert steps[1]["ip"] == "127.0.0.1"
    assert steps[1]["user_agent"] == AGENT
    # `stepauth audit tail` prints the same fields.
    line = format_event(steps[1])
    for part in (
        "step_up success",
        f"user_id={user_id}",
        f"client_id={PUBLIC}",
        f"acr_before={ACR_1FA}",
        f"acr_after={ACR_2FA}",
        "ip=127.0.0.1",
        "method=otp",
    ):
        assert part in line, line


async def test_audit_rows_hold_no_secrets(provider: Provider) -> None:
    """ASVS 5.0 16.2.5: no password, one-time code or assertion in the audit log."""
    _, typed = await _password_then_totp(provider)
    dump = json.dumps(await _rows(provider))
    for secret in typed:
        assert secret not in dump


async def test_unknown_username_is_audited_without_a_user(provider: Provider) -> None:
    shown = await open_interaction(provider.browser, query())
    response = await submit(
        provider.browser, shown, "password", username="nobody", password=WRONG_PASSWORD
    )
    assert _error(response) == throttle.GENERIC_FAILURE
    (row,) = [r for r in await _rows(provider) if r["event"] == "authentication"]
    assert row["result"] == "failure"
    assert "user_id" not in row
    assert "nobody" not in json.dumps(row)


async def test_per_ip_throttling_refuses_with_the_generic_message(provider: Provider) -> None:
    """Spraying many accounts from one address: after the limit even the right password
    is refused with the one generic message (HTTP 429); another address still signs in."""
    provider.state.config = replace(provider.state.config, throttle=ThrottleConfig(ip_limit=3))
    shown = await open_interaction(provider.browser, query())
    shown = await wrong_passwords(provider.browser, shown, ["carol", "dave", "erin"], "guess")
    blocked = await submit(
        provider.browser, shown, "password", username=USERNAME, password=PASSWORD
    )
    assert blocked.status_code == 429
    assert _error(blocked) == throttle.GENERIC_FAILURE
    assert "location" not in blocked.headers
    last = (await _rows(provider))[-1]
    assert (last["event"], last["result"], last["ip"]) == (
        "authentication",
        "throttled",
        "127.0.0.1",
    )
    other = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=provider.app, client=("192.0.2.9", 5000)),
        base_url=provider.issuer,
    )
    provider.extra_clients.append(other)
    rp_params(
        await submit(
            other,
            await open_interaction(other, query()),
            "password",
            username=USERNAME,
            password=PASSWORD,
        )
    )
    provider.clock.advance(throttle.IP_WINDOW)
    shown = await open_interaction(provider.browser, query())
    rp_params(
        await submit(provider.browser, shown, "password", username=USERNAME, password=PASSWORD)
    )


async def test_first_factor_passkey_failures_block_the_owner(provider: Provider) -> None:
    """PSD2 RTS Art. 4(3)(b): bad assertions for a known credential count against its owner; the
    sixth attempt is refused even with the right passkey until the block expires."""
    alice = await provider.store.get_user_by_username(USERNAME)
    authenticator = await enrol_passkey(provider, alice.id)
    forged = replace(authenticator, key=ec.generate_private_key(ec.SECP256R1()))
    shown = await open_interaction(provider.browser, query())
    for _ in range(throttle.MAX_FAILURES):
        response = await use_passkey(provider.browser, shown, forged)
        assert refused(response)
        shown = page(response)
    response = await use_passkey(provider.browser, shown, authenticator)
    assert refused(response)
    assert _error(response) == throttle.GENERIC_FAILURE
    state = await provider.store.failure_state(alice.id, "webauthn")
    assert state.count == throttle.MAX_FAILURES
    assert state.blocked_until == provider.clock() + throttle.BLOCK_DELAYS[0]
    results = [
        (r["result"], r.get("user_id"))
        for r in await _rows(provider)
        if r["event"] == "authentication"
    ]
    # the fifth failure starts the block, the sixth (right) attempt meets it
    assert (
        results
        == [("failure", alice.id)] * (throttle.MAX_FAILURES - 1) + [("locked", alice.id)] * 2
    )
    provider.clock.advance(throttle.BLOCK_DELAYS[0] + 1)
    shown = await open_interaction(provider.browser, query())
    rp_params(await use_passkey(provider.browser, shown, authenticator))
    assert (await provider.store.failure_state(alice.id, "webauthn")).count == 0


async def test_unknown_first_factor_passkey_counts_against_the_address(
    provider: Provider,
) -> None:
    """A credential that is nobody's has no account to block: it counts per IP."""
    stranger = SoftAuthenticator(rp_id="localhost", origin=provider.issuer)
    shown = await open_interaction(provider.browser, query())
    response = await use_passkey(provider.browser, shown, stranger)
    assert refused(response)
    assert _error(response) == throttle.GENERIC_FAILURE
    row = (await _rows(provider))[-1]
    assert (row["factor"], row["result"]) == ("webauthn", "failure")
    assert "user_id" not in row
    user, window = "ip:127.0.0.1", f"ip:{int(provider.clock() // throttle.IP_WINDOW)}"
    assert (await provider.store.failure_state(user, window)).count == 1


async def test_refused_passkey_attempt_of_a_blocked_owner_burns_its_challenge(
    provider: Provider,
) -> None:
    """WebAuthn L3 §13.5.3: the right assertion refused
    during the block cannot be replayed after it.
    """
    alice = await provider.store.get_user_by_username(USERNAME)
    authenticator = await enrol_passkey(provider, alice.id)
    until = provider.clock() + 30
    await provider.store.set_blocked_until(alice.id, "webauthn", until)
    shown = await open_interaction(provider.browser, query())
    options = await passkey_options(provider.browser, shown)
    credential = json.dumps(authenticator.get(unb64url(options["challenge"])))
    blocked = await submit(provider.browser, shown, "webauthn", credential=credential)
    assert refused(blocked)
    provider.clock.advance(31)
    replayed = await submit(provider.browser, page(blocked), "webauthn", credential=credential)
    assert refused(replayed)
    assert _error(replayed) == throttle.GENERIC_FAILURE
