"""The console's step-up (``/admin/reauth`` before a change) in the friction report,
under the action ``admin_change`` (docs/friction.md); its sign-in is no step-up."""

from __future__ import annotations

from typing import Any

from stepauth.audit.friction import TOTAL, ActionDay, friction_report
from stepauth.provider.authorize.interaction_start import INTERACTION_TTL
from stepauth.provider.console.access import ADMIN_COOKIE, ADMIN_ROLE, reauth_url
from stepauth.provider.friction.pages import CONSOLE, PROMPT_KIND, PagePrompt
from tests.helpers.account_pages import csrf_of
from tests.helpers.console_pages import Admin, sign_in, step_up
from tests.helpers.harness import PASSWORD, Provider
from tests.helpers.passkeys import enrol_passkey

ACTION = "admin_change"


async def _records(provider: Provider) -> list[dict[str, Any]]:
    records = await provider.store.audit_between(
        since=0, until=provider.clock() + 1, event="friction"
    )
    return [r for r in records if r["action"] == ACTION]


async def _total(provider: Provider) -> ActionDay:
    now = provider.clock()
    records = await provider.store.audit_between(since=0, until=now + 1, event="friction")
    rows = friction_report(records, since=0, until=now + 1, now=now)
    (total,) = [r for r in rows if r.action == ACTION and r.day == TOTAL]
    return total


async def _asked(provider: Provider, admin: Admin) -> str:
    """A change on the console sends the admin to the step-up page: its address."""
    victim = await provider.create_user("bob")
    page = await admin.browser.get(f"/admin/users/{victim.id}")
    asked = await admin.browser.post(
        f"/admin/users/{victim.id}/lock", data={"csrf": csrf_of(page.text)}
    )
    assert asked.status_code == 303
    location: str = asked.headers["location"]
    assert location.startswith("/admin/reauth")
    return location


async def test_a_completed_console_step_up_is_reported(provider: Provider, admin: Admin) -> None:
    assert CONSOLE == ACTION
    assert await _records(provider) == []  # the sign-in is no step-up
    location = await _asked(provider, admin)
    await admin.browser.get(location)
    provider.clock.advance(12)
    await step_up(admin.browser, admin.passkey, location)

    records = await _records(provider)
    assert [(r["stage"], r.get("result")) for r in records] == [
        ("request", "prompted"),
        ("factor", "success"),
        ("completed", None),
    ]
    assert records[0]["asked"] == ["webauthn"]
    assert records[-1]["seconds"] == 12.0
    total = await _total(provider)
    assert (total.prompts, total.completed, total.failed) == (1, 1, 0)
    assert total.median_seconds == 12.0


async def test_a_refused_console_step_up_left_unfinished_counts_as_failed(
    provider: Provider, admin: Admin
) -> None:
    location = await _asked(provider, admin)
    page = await admin.browser.get(location)
    refused = await admin.browser.post(
        location,
        data={"csrf": csrf_of(page.text), "factor": "password", "password": PASSWORD},
    )
    assert refused.status_code == 400  # a password does not reach phr
    provider.clock.advance(INTERACTION_TTL + 1)
    total = await _total(provider)
    assert (total.prompts, total.completed, total.failed, total.abandoned) == (1, 0, 1, 0)
    assert dict(total.failures_by_factor) == {"password": 1}


async def test_a_non_admin_gets_the_console_403_and_leaves_no_prompt(provider: Provider) -> None:
    """A signed-in user without the admin role is refused on the step-up page, its form and
    its passkey options as on the rest of /admin, before a prompt is recorded or a factor
    verified; granted the role, the same user in the same browser is asked and recorded."""
    mallory = await provider.create_user("mallory")
    await enrol_passkey(provider, mallory.id)
    browser = provider.browser
    csrf = csrf_of((await browser.get("/admin/reauth")).text)  # the sign-in page's token
    await sign_in(browser, "mallory")
    audited = len(await provider.store.tail_audit(200))
    location = reauth_url("/admin/users", reason="lock")
    answers = [
        await browser.get("/admin/users"),
        await browser.get(location),
        await browser.post("/admin/reauth/webauthn", json={"csrf": csrf}),
        await browser.post(
            location,
            data={"csrf": csrf, "factor": "password", "password": PASSWORD},
        ),
    ]
    assert [a.status_code for a in answers] == [403] * 4
    assert all("access_denied</strong>: this page is for administrators" in a.text for a in answers)
    assert await _records(provider) == []
    prompt = PagePrompt.of(provider.state, CONSOLE, browser.cookies[ADMIN_COOKIE], mallory.id)
    assert await provider.store.get(PROMPT_KIND, prompt.key, now=provider.clock()) is None
    assert len(await provider.store.tail_audit(200)) == audited  # no attempt, no step-up

    await provider.store.set_user_role(mallory.id, ADMIN_ROLE, True)
    page = await browser.get(location)
    assert page.status_code == 200
    assert "Locking a user needs your passkey." in page.text
    assert [(r["stage"], r.get("result")) for r in await _records(provider)] == [
        ("request", "prompted")
    ]
    assert await provider.store.get(PROMPT_KIND, prompt.key, now=provider.clock()) is not None
