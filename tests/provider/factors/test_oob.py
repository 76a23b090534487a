"""Out-of-band codes: 6+ digits, 10-minute life, single use, restricted (NIST SP 800-63B-4
§3.1.3, §3.1.3.3, §3.2.9); never by email (§3.1.3.1)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from stepauth.cli import outbox as outbox_cli
from stepauth.errors import StepAuthError
from stepauth.provider.factors import oob
from stepauth.provider.factors.oob import (
    CODE_TTL,
    KIND,
    ExpiredOobCode,
    InvalidOobCode,
    OobError,
    ReplayedOobCode,
    generate_code,
    send_code,
    verify_code,
)
from stepauth.provider.notices import OutboxSender, read_outbox

NOW = 1_800_000_000.0


def last_code(path: Path) -> str:
    message = read_outbox(path)[-1]["message"]
    return str(message.split("code: ")[1].split(" ")[0])


def test_codes_have_six_or_more_digits() -> None:
    codes = {generate_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 150
    assert len(generate_code(8)) == 8
    assert generate_code(randbelow=lambda n: 7) == "000007"
    with pytest.raises(OobError):
        generate_code(5)


async def test_code_is_single_use(store: Any, tmp_path: Path) -> None:
    sender = OutboxSender(tmp_path / "outbox.jsonl")
    user = await store.create_user("erin", None)
    challenge = await send_code(
        store, sender, user_id=user.id, channel="sms", to="+15550100", now=NOW
    )
    code = last_code(tmp_path / "outbox.jsonl")
    event = await verify_code(
        store, challenge_id=challenge.challenge_id, code=code, user_id=user.id, now=NOW + 30
    )
    assert event.methods == ("sms",)
    assert event.restricted
    assert not event.phishing_resistant
    with pytest.raises(ReplayedOobCode):
        await verify_code(
            store, challenge_id=challenge.challenge_id, code=code, user_id=user.id, now=NOW + 31
        )


async def test_code_expires_after_ten_minutes(store: Any, tmp_path: Path) -> None:
    sender = OutboxSender(tmp_path / "outbox.jsonl")
    user = await store.create_user("frank", None)
    challenge = await send_code(
        store, sender, user_id=user.id, channel="sms", to="+15550101", now=NOW
    )
    assert challenge.expires_at == NOW + CODE_TTL == NOW + 600
    code = last_code(tmp_path / "outbox.jsonl")
    with pytest.raises(ExpiredOobCode):
        await verify_code(
            store, challenge_id=challenge.challenge_id, code=code, user_id=user.id, now=NOW + 601
        )


async def test_no_code_is_sent_by_email(store: Any, tmp_path: Path) -> None:
    """NIST SP 800-63B-4 §3.1.3.1: "Email SHALL NOT be used for out-of-band
    authentication" — no code is created or sent on that channel."""
    sender = OutboxSender(tmp_path / "outbox.jsonl")
    user = await store.create_user("fay", None)
    with pytest.raises(OobError) as refused:
        await send_code(store, sender, user_id=user.id, channel="email", to="f@example.org")
    assert "3.1.3.1" in refused.value.description
    assert read_outbox(tmp_path / "outbox.jsonl") == []


async def test_code_emailed_by_an_older_version_is_refused(store: Any) -> None:
    """A code stored for the email channel before the upgrade yields no event."""
    user = await store.create_user("fred", None)
    payload = {"user_id": user.id, "factor_id": None, "channel": "email"}
    await store.put(KIND, oob._key("c1", "123456"), payload, expires_at=NOW + 600)
    with pytest.raises(InvalidOobCode):
        await verify_code(store, challenge_id="c1", code="123456", user_id=user.id, now=NOW)
    with pytest.raises(ReplayedOobCode):  # and it is spent
        await verify_code(store, challenge_id="c1", code="123456", user_id=user.id, now=NOW)


async def test_wrong_code_and_other_user_are_rejected(store: Any, tmp_path: Path) -> None:
    sender = OutboxSender(tmp_path / "outbox.jsonl")
    user = await store.create_user("gina", None)
    other = await store.create_user("hank", None)
    challenge = await send_code(store, sender, user_id=user.id, channel="sms", to="+1", now=NOW)
    code = last_code(tmp_path / "outbox.jsonl")
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)
    with pytest.raises(InvalidOobCode):
        await verify_code(store, challenge_id=challenge.challenge_id, code=wrong, user_id=user.id)
    with pytest.raises(InvalidOobCode):
        await verify_code(
            store, challenge_id=challenge.challenge_id, code=code, user_id=other.id, now=NOW
        )


async def test_new_code_does_not_reset_the_failure_count(store: Any, tmp_path: Path) -> None:
    """NIST SP 800-63B-4 §3.1.3: generating a new secret
    SHALL NOT reset the failed-attempt count.
    """
    sender = OutboxSender(tmp_path / "outbox.jsonl")
    user = await store.create_user("ivy", None)
    await store.record_failure(user.id, "oob", now=NOW)
    await store.record_failure(user.id, "oob", now=NOW + 1)
    await send_code(store, sender, user_id=user.id, channel="sms", to="+1", now=NOW + 2)
    assert (await store.failure_state(user.id, "oob")).count == 2


async def test_limits_are_enforced() -> None:
    sender = OutboxSender("/nonexistent/outbox")
    with pytest.raises(OobError):
        await send_code(None, sender, user_id="u", channel="fax", to="1")  # type: ignore[arg-type]
    with pytest.raises(OobError):
        await send_code(None, sender, user_id="u", channel="sms", to="1", ttl=601)  # type: ignore[arg-type]


async def test_outbox_cli_prints_the_messages(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "outbox.jsonl"
    sender = OutboxSender(path)
    await sender.send(channel="sms", to="+15550100", message="stepauth code: 123456")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert json.loads(path.read_text().splitlines()[0])["to"] == "+15550100"
    parser = argparse.ArgumentParser()
    outbox_cli.register(parser.add_subparsers())
    args = parser.parse_args(["outbox", "--path", str(path)])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "+15550100" in out
    assert "123456" in out
    path.write_text("")
    args = parser.parse_args(["outbox", "--path", str(path)])
    assert args.func(args) == 0
    assert "empty" in capsys.readouterr().out
    # a named outbox that is not there is an error, not an empty outbox
    args = parser.parse_args(["outbox", "--path", str(tmp_path / "none.jsonl")])
    with pytest.raises(StepAuthError, match="no outbox file at"):
        args.func(args)
