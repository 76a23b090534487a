"""Friction records end to end: scripted step-ups through /authorize and the interaction,
then ``stepauth friction report --json`` reports exactly what happened (docs/friction.md).

Three step-ups to 2fa completed (one after a wrong code), two abandoned (the interaction
expires unanswered: the clock moves past its lifetime), one refused as unmeetable (a user
without a second factor), one answered by the session without a prompt (reuse).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from stepauth.audit.friction import TOTAL, friction_report
from stepauth.audit.friction_records import SIGN_IN
from stepauth.provider.authorize.interaction_start import INTERACTION_TTL
from stepauth.provider.friction.recorder import interaction_key
from tests.helpers.friction import action_total, cli_report
from tests.helpers.frontchannel import (
    TOTP,
    enrol_totp,
    open_interaction,
    query,
    rp_params,
    sign_in,
    submit,
    totp_code,
    use_factors,
)
from tests.helpers.harness import ACR_2FA, USERNAME, Provider

BOB, BOB_PASSWORD = "bob", "another long enough password"


async def _signed_in(provider: Provider, username: str = USERNAME, **kw: str) -> httpx.AsyncClient:
    browser = provider.new_browser()
    await sign_in(browser, query(), username=username, **kw)
    return browser


async def test_scripted_step_ups_are_reported_exactly(
    provider: Provider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_factors(provider, totp=True)
    alice = await provider.store.get_user_by_username(USERNAME)
    params = await enrol_totp(provider, alice.id)
    await provider.create_user(BOB, BOB_PASSWORD)

    # Three completed step-ups, 40 s, 70 s and 100 s after the prompt (each in a new
    # TOTP time step); the first after one wrong code.
    for n, seconds in enumerate((40, 70, 100)):
        browser = await _signed_in(provider)
        shown = await open_interaction(browser, query(acr_values=ACR_2FA))
        if n == 0:
            wrong = await submit(browser, shown, TOTP, code="000000")
            assert wrong.status_code == 400
        provider.clock.advance(seconds)
        done = rp_params(await submit(browser, shown, TOTP, code=totp_code(provider, params)))
        assert "code" in done
        if n == 0:
            # The same request again: the 2fa session answers it, no prompt (reuse).
            again = await browser.get("/authorize", params=query(acr_values=ACR_2FA))
            assert "code" in rp_params(again)

    # Two abandoned: the prompt is shown, never answered.
    for _ in range(2):
        browser = await _signed_in(provider)
        await open_interaction(browser, query(acr_values=ACR_2FA))

    # One refused: bob has no second factor, so 2fa cannot be met.
    bob = await _signed_in(provider, username=BOB, password=BOB_PASSWORD)
    refused = rp_params(await bob.get("/authorize", params=query(acr_values=ACR_2FA)))
    assert refused["error"] == "unmet_authentication_requirements"

    # Before the interactions expire the two unanswered prompts are still open.
    code, out, err = await cli_report(tmp_path, provider, monkeypatch, "--json")
    assert (code, err) == (0, "")
    early = action_total(json.loads(out), ACR_2FA)
    assert (early["pending"], early["abandoned"]) == (2, 0)

    provider.clock.advance(INTERACTION_TTL + 1)
    code, out, err = await cli_report(tmp_path, provider, monkeypatch, "--json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    step_up = action_total(document, ACR_2FA)
    assert step_up == {
        "action": ACR_2FA,
        "day": "total",
        "attempts": 7,
        "prompts": 5,
        "prompt_rate": 5 / 7,
        "completed": 3,
        "abandoned": 2,
        "failed": 0,
        "refused_unmeetable": 1,
        "pending": 0,
        "completion_rate": 0.6,
        "abandonment_rate": 0.4,
        "failures_by_factor": {TOTP: 1},
        "median_seconds": 70.0,
        "p90_seconds": 100.0,
        "avoided_reuse": 1,
        "avoided_exemption": 0,
        "executed_after_step_up": 0,
    }
    sign_ins = action_total(document, SIGN_IN)
    assert (sign_ins["attempts"], sign_ins["prompts"], sign_ins["completed"]) == (6, 6, 6)

    code, table, _ = await cli_report(tmp_path, provider, monkeypatch)
    assert code == 0
    assert f"action: {ACR_2FA}" in table
    assert "failures by factor: totp 1" in table


async def test_records_name_the_action_levels_and_factors_never_the_user(
    provider: Provider,
) -> None:
    use_factors(provider, totp=True)
    alice = await provider.store.get_user_by_username(USERNAME)
    params = await enrol_totp(provider, alice.id)
    browser = await _signed_in(provider)
    response = await browser.get("/authorize", params=query(acr_values=ACR_2FA))
    uid = response.headers["location"].rsplit("/", 1)[-1]
    shown = await open_interaction(browser, query(acr_values=ACR_2FA))
    provider.clock.advance(31)
    rp_params(await submit(browser, shown, TOTP, code=totp_code(provider, params)))

    records = await provider.store.audit_between(
        since=0, until=provider.clock() + 1, event="friction"
    )
    assert all("user_id" not in r and "ip" not in r for r in records)
    assert all(uid not in json.dumps(r) for r in records)  # the interaction id never
    step_up = [r for r in records if r["action"] == ACR_2FA]
    first = step_up[0]
    assert first["stage"] == "request"
    assert first["result"] == "prompted"
    assert first["ix"] == interaction_key(uid)
    assert first["acr_before"] == "urn:stepauth:acr:1fa"
    assert first["acr_requested"] == ACR_2FA
    assert first["asked"] == [TOTP]
    assert first["expires_at"] == first["at"] + INTERACTION_TTL
    completed = step_up[-1]
    assert completed["stage"] == "completed"
    assert completed["acr_after"] == ACR_2FA
    assert completed["seconds"] == 31.0
    assert [r["stage"] for r in step_up].count("factor") == 1


async def test_a_prompt_that_turns_out_unmeetable_is_settled_as_refused(
    provider: Provider,
) -> None:
    """Nobody signed in asks for 2fa: the prompt asks who it is; bob has no second factor,
    so the interaction ends with unmet_authentication_requirements, recorded against it."""
    use_factors(provider, totp=True)
    await provider.create_user(BOB, BOB_PASSWORD)
    browser = provider.new_browser()
    shown = await open_interaction(browser, query(acr_values=ACR_2FA))
    ended = await submit(browser, shown, "password", username=BOB, password=BOB_PASSWORD)
    assert rp_params(ended)["error"] == "unmet_authentication_requirements"

    now = provider.clock()
    records = await provider.store.audit_between(since=0, until=now + 1, event="friction")
    assert [(r["stage"], r.get("result")) for r in records] == [
        ("request", "prompted"),
        ("factor", "success"),
        ("refused", "refused_unmeetable"),
    ]
    assert records[0]["asked"] == ["password"]  # nobody known yet: a factor that identifies
    (row,) = [
        r for r in friction_report(records, since=0, until=now + 1, now=now) if r.day == TOTAL
    ]
    assert (row.action, row.attempts, row.prompts) == (ACR_2FA, 1, 1)
    assert (row.refused_unmeetable, row.pending, row.completion_rate) == (1, 0, 0.0)
