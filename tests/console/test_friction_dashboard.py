"""``/admin/friction``: scripted step-ups (as in tests/provider/test_friction.py) show
exactly their numbers on the page — in the table and in the chart."""

from __future__ import annotations

import re
from html import unescape

import httpx

from stepauth.audit.friction_records import SIGN_IN
from stepauth.provider.authorize.interaction_start import INTERACTION_TTL
from tests.helpers.console_pages import Admin
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

COMPLETED_AFTER = (40, 70, 100)  # seconds from prompt to answer
ABANDONED = 2


def _section(html: str, action: str) -> str:
    match = re.search(
        rf'<section class="action" data-action="{re.escape(action)}".*?</section>', html, re.S
    )
    assert match, f"no section for {action}"
    return match.group(0)


def _cells(section: str, day: str) -> dict[str, str]:
    row = re.search(rf'<tr data-day="{day}">(.*?)</tr>', section, re.S)
    assert row, f"no row {day}"
    return {k: unescape(v) for k, v in re.findall(r'data-k="([a-z_0-9]+)">([^<]*)<', row.group(1))}


async def _signed_in(provider: Provider) -> httpx.AsyncClient:
    browser = provider.new_browser()
    await sign_in(browser, query(), username=USERNAME)
    return browser


async def test_scripted_step_ups_show_exactly_on_the_dashboard(
    provider: Provider, admin: Admin
) -> None:
    use_factors(provider, totp=True)
    alice = await provider.create_user(USERNAME)
    params = await enrol_totp(provider, alice.id)
    for seconds in COMPLETED_AFTER:
        browser = await _signed_in(provider)
        shown = await open_interaction(browser, query(acr_values=ACR_2FA))
        provider.clock.advance(seconds)
        done = rp_params(await submit(browser, shown, TOTP, code=totp_code(provider, params)))
        assert "code" in done
    for _ in range(ABANDONED):
        browser = await _signed_in(provider)
        await open_interaction(browser, query(acr_values=ACR_2FA))

    # Still open: pending, in no rate.
    html = (await admin.browser.get("/admin/friction")).text
    early = _cells(_section(html, ACR_2FA), "total")
    assert (early["pending"], early["abandoned"], early["completed"]) == ("2", "0", "3"), early

    provider.clock.advance(INTERACTION_TTL + 1)
    page = await admin.browser.get("/admin/friction", params={"days": "7"})
    assert page.status_code == 200
    section = _section(page.text, ACR_2FA)
    assert _cells(section, "total") == {
        "attempts": "5",
        "prompts": "5",
        "prompt_rate": "100.0 %",
        "completed": "3",
        "abandoned": "2",
        "failed": "0",
        "pending": "0",
        "completion_rate": "60.0 %",
        "abandonment_rate": "40.0 %",
        "median": "70.0 s",
        "p90": "100.0 s",
        "avoided_exemption": "0",
        "avoided_reuse": "0",
    }
    days = re.findall(r'<tr data-day="(\d{4}-\d\d-\d\d)">', section)
    assert days  # the period's days, each with its own row
    assert sum(int(_cells(section, d)["prompts"]) for d in days) == 5
    # the chart: one polyline per rate, one dot per day, no script
    for rate in ("prompt", "completion", "abandonment"):
        assert f'<polyline class="{rate}"' in section
    assert section.count("<circle") == 3 * len(days)
    assert "<script" not in page.text
    # the sign-ins of the script are an action of their own
    sign_ins = _cells(_section(page.text, SIGN_IN), "total")
    assert (sign_ins["prompts"], sign_ins["completed"]) == ("5", "5")


async def test_empty_period_says_so(provider: Provider, admin: Admin) -> None:
    page = await admin.browser.get("/admin/friction", params={"days": "nonsense"})
    assert page.status_code == 200
    assert 'id="no-friction"' in page.text
    assert 'value="14"' in page.text  # an unreadable period falls back to the default
