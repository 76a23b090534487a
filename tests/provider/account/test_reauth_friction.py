"""The ``/account/reauth`` step-up in the friction report (docs/friction.md): a prompt
when the page first asks a signed-in user, each factor form, and the completion once the
session holds the account's binding level, under the action ``account_change``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stepauth.provider.authorize.interaction_start import INTERACTION_TTL
from stepauth.provider.factors import totp
from stepauth.provider.friction.pages import ACCOUNT
from tests.helpers.account_pages import reauth, sign_in
from tests.helpers.friction import action_total, cli_report
from tests.helpers.harness import PASSWORD, USERNAME, Provider

ACTION = "account_change"


async def _two_factors(provider: Provider) -> totp.TotpParams:
    """alice signed in with her password; her account also has an authenticator app, so
    its binding level needs both."""
    user = await sign_in(provider)
    params = totp.TotpParams(secret=totp.generate_secret())
    await provider.store.add_factor(
        user.id, "totp", params.to_data(), label="phone", now=provider.clock()
    )
    return params


async def _records(provider: Provider) -> list[dict[str, Any]]:
    records = await provider.store.audit_between(
        since=0, until=provider.clock() + 1, event="friction"
    )
    return [r for r in records if r["action"] == ACTION]


async def _report(
    tmp_path: Path, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    code, out, err = await cli_report(tmp_path, provider, monkeypatch, "--json")
    assert (code, err) == (0, "")
    return action_total(json.loads(out), ACTION)


def test_the_action_is_named_as_the_audit_reason_of_the_step_up() -> None:
    assert ACCOUNT == ACTION


async def test_a_completed_step_up_is_reported_with_its_time(
    provider: Provider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = await _two_factors(provider)
    assert await _records(provider) == []  # the sign-in is no step-up
    shown = await provider.browser.get("/account/reauth", params={"next": "/account"})
    assert 'data-factor="totp"' in shown.text
    provider.clock.advance(40)
    # reauth() shows the page again (still the same prompt), then submits the code
    await reauth(provider.browser, "totp", code=totp.totp(params, provider.clock()))

    records = await _records(provider)
    assert [(r["stage"], r.get("result")) for r in records] == [
        ("request", "prompted"),
        ("factor", "success"),
        ("completed", None),
    ]
    prompt, _, done = records
    assert prompt["acr_before"] == "urn:stepauth:acr:1fa"
    assert prompt["asked"] == ["totp"]
    assert prompt["expires_at"] == prompt["at"] + INTERACTION_TTL
    assert "client_id" not in prompt
    assert "user_id" not in prompt
    assert {r["ix"] for r in records} == {prompt["ix"]}
    assert done["acr_after"] == "urn:stepauth:acr:2fa"
    assert done["seconds"] == 40.0

    total = await _report(tmp_path, provider, monkeypatch)
    assert (total["attempts"], total["prompts"], total["completed"]) == (1, 1, 1)
    assert (total["failed"], total["abandoned"], total["pending"]) == (0, 0, 0)
    assert total["median_seconds"] == 40.0
    code, table, _ = await cli_report(tmp_path, provider, monkeypatch)
    assert code == 0
    assert f"action: {ACTION}" in table


async def test_a_refused_step_up_left_unfinished_counts_as_failed(
    provider: Provider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _two_factors(provider)
    await reauth(provider.browser, "totp", expect=400, code="000000")
    total = await _report(tmp_path, provider, monkeypatch)
    assert (total["prompts"], total["pending"], total["failed"]) == (1, 1, 0)

    provider.clock.advance(INTERACTION_TTL + 1)
    total = await _report(tmp_path, provider, monkeypatch)
    assert (total["prompts"], total["completed"], total["failed"]) == (1, 0, 1)
    assert total["failures_by_factor"] == {"totp": 1}
    assert total["abandoned"] == 0


async def test_a_prompt_shown_and_left_is_abandoned_and_the_next_one_is_new(
    provider: Provider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = await _two_factors(provider)
    for _ in range(2):  # a reload is the same prompt
        await provider.browser.get("/account/reauth", params={"next": "/account"})
    provider.clock.advance(INTERACTION_TTL + 1)
    # Ten minutes on, the sign-in is too old for the binding level: the new prompt needs
    # both factors, and the first of them does not complete it.
    await reauth(provider.browser, "totp", code=totp.totp(params, provider.clock()))
    total = await _report(tmp_path, provider, monkeypatch)
    assert (total["prompts"], total["abandoned"], total["pending"]) == (2, 1, 1)

    await reauth(provider.browser, "password", username=USERNAME, password=PASSWORD)
    total = await _report(tmp_path, provider, monkeypatch)
    assert (total["prompts"], total["abandoned"], total["completed"]) == (2, 1, 1)
    records = await _records(provider)
    prompts = [r for r in records if r["stage"] == "request"]
    assert len({r["ix"] for r in prompts}) == 2
    second = [r for r in records if r["ix"] == prompts[1]["ix"]]
    assert [(r["stage"], r.get("factor")) for r in second] == [
        ("request", None),
        ("factor", "totp"),
        ("factor", "password"),
        ("completed", None),
    ]
