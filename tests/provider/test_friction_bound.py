"""Friction records of bound requests: identical requests share one prompt, and an approved
one answers its retry without a prompt (:mod:`stepauth.provider.authorize.prompt_reuse`);
both count as reuse, not as prompts (docs/friction.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stepauth.audit.friction import TOTAL, friction_report
from tests.helpers.bound import (
    approve,
    authorize,
    bank_provider,
    interaction_of,
    passkey_payer,
    push,
)
from tests.helpers.frontchannel import rp_params
from tests.helpers.harness import Provider


@pytest.fixture
async def provider(tmp_path: Path) -> AsyncIterator[Provider]:
    async with bank_provider(tmp_path) as running:
        yield running


PAYMENT_ACTION = "payment_initiation"


async def test_a_shared_and_an_answered_again_prompt_count_as_reuse(provider: Provider) -> None:
    passkey = await passkey_payer(provider)
    first = await push(provider, state="click-1")
    second = await push(provider, state="click-2")
    location = interaction_of(await authorize(provider.browser, first))
    assert interaction_of(await authorize(provider.browser, second)) == location  # one prompt
    provider.clock.advance(12)
    approved = await approve(provider.browser, location, passkey)
    assert approved["state"] == "click-2"
    retry = await push(provider, state="click-3")
    assert "code" in rp_params(await authorize(provider.browser, retry))  # no prompt

    now = provider.clock()
    assert await provider.state.friction.flush(provider.store) == 1  # the answered retry
    records = await provider.store.audit_between(since=0, until=now + 1, event="friction")
    (row,) = [
        r
        for r in friction_report(records, since=0, until=now + 1, now=now)
        if r.action == PAYMENT_ACTION and r.day == TOTAL
    ]
    assert (row.attempts, row.prompts, row.completed, row.avoided_reuse) == (3, 1, 1, 2)
    assert row.median_seconds == 12.0
    assert row.prompt_rate == 1 / 3
    assert {r["client_id"] for r in records if r["action"] == PAYMENT_ACTION} == {"bank"}
    payment = [r for r in records if r["action"] == PAYMENT_ACTION and r["stage"] == "request"]
    assert [r["result"] for r in payment] == ["prompted", "prompted", "satisfied"]
    assert payment[0]["ix"] == payment[1]["ix"]  # the second request was handed the first prompt
    assert payment[0]["asked"] == ["webauthn"]  # only a passkey approves the details
