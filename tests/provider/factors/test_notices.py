"""The Provider's sender (``ProviderState.sender``): OOB codes and account notices go
through the one the Provider was given; the default is the development outbox."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from stepauth.provider.factors.base import Attempt, FactorRejected
from stepauth.provider.factors.oob import CODE_SENT
from stepauth.provider.factors.oob import plugin as oob_plugin
from stepauth.provider.notices import OutboxSender, notify, read_outbox
from stepauth.provider.state import ProviderState

NOW = 1_800_000_000.0


class Recorder:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    async def send(self, *, channel: str, to: str, message: str) -> None:
        self.sent.append({"channel": channel, "to": to, "message": message})


def test_the_sender_is_a_declared_field_defaulting_to_the_outbox() -> None:
    field = next(f for f in fields(ProviderState) if f.name == "sender")
    assert field.default_factory is OutboxSender


async def test_account_notices_go_through_the_state_sender(store: Any) -> None:
    user = await store.create_user("nina", None)
    await store.add_factor(
        user.id, "oob", {"channel": "sms", "to": "+15550123"}, label="m", now=NOW
    )
    sender = Recorder()
    state = SimpleNamespace(store=store, sender=sender)
    await notify(state, user.id, "a sign-in method was added")  # type: ignore[arg-type]
    assert sender.sent == [
        {"channel": "sms", "to": "+15550123", "message": "a sign-in method was added"}
    ]
    assert read_outbox() == []  # nothing went to the development outbox


async def test_an_oob_code_goes_through_the_state_sender(store: Any) -> None:
    user = await store.create_user("omar", None)
    await store.add_factor(
        user.id, "oob", {"channel": "sms", "to": "+15550124"}, label="m", now=NOW
    )
    sender = Recorder()
    state = SimpleNamespace(
        store=store, sender=sender, config=SimpleNamespace(issuer="https://op.example")
    )
    attempt = Attempt(
        state=state,  # type: ignore[arg-type]
        form={"factor": "oob", "oob_code": ""},
        user=user,
        factors=await store.list_factors(user.id),
        now=NOW,
        interaction_id="notices",
    )
    with pytest.raises(FactorRejected, match=CODE_SENT):
        await oob_plugin.verify(attempt)
    assert [m["to"] for m in sender.sent] == ["+15550124"]
    assert "code:" in sender.sent[0]["message"]
    assert read_outbox() == []


async def test_the_outbox_reads_its_path_from_the_environment_at_each_send(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = OutboxSender()  # made before the variable changes, as a ProviderState's is
    later = tmp_path / "later.jsonl"
    monkeypatch.setenv("STEPAUTH_OUTBOX", str(later))
    await sender.send(channel="sms", to="+1", message="hello")
    assert [m["message"] for m in read_outbox(later)] == ["hello"]
