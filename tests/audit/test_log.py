"""Audit events for every attempt and every step-up (ASVS 5.0 16.3.1), never a secret."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread
import pytest

from stepauth import audit
from stepauth.cli import main
from stepauth.provider.config import load_config
from stepauth.provider.factors import totp
from stepauth.store import open_store
from tests.helpers.account_pages import reauth
from tests.helpers.harness import PASSWORD, USERNAME, Provider, running_provider

USER_AGENT = "audit-test-browser/1.0"


@pytest.fixture
async def provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Provider]:
    monkeypatch.setenv("STEPAUTH_OUTBOX", str(tmp_path / "outbox.jsonl"))
    async with running_provider(tmp_path) as running:
        running.browser.headers["user-agent"] = USER_AGENT
        yield running


def raw_audit(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return "\n".join(str(row[0]) for row in conn.execute("SELECT event FROM audit"))


async def test_attempts_and_step_ups_are_audited_without_secrets(
    provider: Provider, tmp_path: Path
) -> None:
    user = await provider.create_user()
    params = totp.TotpParams(secret=totp.generate_secret())
    factor = await provider.store.add_factor(
        user.id, "totp", params.to_data(), label="phone", now=provider.clock()
    )
    wrong_password = "Tr0ub4dor&3-wrong"
    await reauth(
        provider.browser, "password", expect=400, username=USERNAME, password=wrong_password
    )
    await reauth(provider.browser, "password", username=USERNAME, password=PASSWORD)
    provider.clock.advance(301)
    right = totp.totp(params, provider.clock())
    wrong = "000000" if right != "000000" else "111111"
    await reauth(provider.browser, "totp", expect=400, code=wrong)
    await reauth(provider.browser, "totp", code=right)

    events = await provider.store.tail_audit(50)
    attempts = [e for e in events if e["event"] == "authentication"]
    assert [(e["factor"], e["result"]) for e in attempts] == [
        ("password", "failure"),
        ("password", "success"),
        ("totp", "failure"),
        ("totp", "success"),
    ]
    for event in attempts:
        assert event["ip"] == "127.0.0.1"
        assert event["user_agent"] == USER_AGENT
        assert event["reason"] == "account_change"
    assert attempts[3]["method"] == ["otp"]
    assert attempts[3]["credential"] == factor.id
    assert attempts[3]["user_id"] == user.id
    step_ups = [e for e in events if e["event"] == "step_up"]
    assert len(step_ups) == 2
    assert "acr_before" not in step_ups[0]  # the sign-in: no assurance before
    assert step_ups[0]["acr_after"] == "urn:stepauth:acr:1fa"
    assert step_ups[1]["acr_before"] == "urn:stepauth:acr:1fa"
    assert step_ups[1]["acr_after"] == "urn:stepauth:acr:2fa"
    assert step_ups[1]["method"] == ["otp"]

    table = raw_audit(tmp_path / "stepauth.db")
    for secret in (PASSWORD, wrong_password, right, wrong, params.secret):
        assert secret not in table


async def test_helpers_keep_only_named_fields(tmp_path: Path) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        await audit.attempt(
            store,
            now=1.0,
            result="failure",
            factor="password",
            user_id=None,
            client=audit.Client(ip="192.0.2.1", user_agent="x" * 1000),
        )
        (event,) = await store.tail_audit(1)
        assert set(event) == {"event", "result", "factor", "ip", "user_agent", "at", "seq"}
        assert len(event["user_agent"]) == 256
    finally:
        await store.close()


async def test_audit_tail_prints_the_latest_events(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = await open_store(load_config(config).database.url)
    try:
        for i in range(5):
            await audit.step_up(
                store,
                now=1_700_000_000.0 + i,
                user_id=f"user-{i}",
                client=audit.Client(ip="192.0.2.1", user_agent="ua"),
                acr_before="urn:stepauth:acr:1fa",
                acr_after="phr",
                reason=["acr_not_met"],
                method=["pop", "user", "pin"],
                client_id="bank-app",
            )
    finally:
        await store.close()
    code = await anyio.to_thread.run_sync(
        main, ["audit", "tail", "-n", "2", "--config", str(config)]
    )
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert "user_id=user-3" in lines[0]
    assert "user_id=user-4" in lines[1]
    assert "step_up success" in lines[1]
    assert "acr_after=phr" in lines[1]
    assert "method=pop,user,pin" in lines[1]
