"""``/admin/users/{id}``: ending a factor's hold and signing out one session, each a
change behind a fresh passkey step-up (ASVS 5.0 7.5.1), CSRF and the audit log."""

from __future__ import annotations

import re

import httpx
import pytest

from stepauth.provider.factors import totp
from stepauth.provider.factors.hold import hold_data, is_held
from stepauth.store import Factor
from tests.helpers.account_pages import csrf_of
from tests.helpers.console_pages import Admin, audit_rows, sign_in, step_up
from tests.helpers.harness import Provider

VICTIM = "bob"
HOLD = 3600


async def _held_factor(provider: Provider, user_id: str, *, held: bool = True) -> Factor:
    data = totp.TotpParams(secret=totp.generate_secret()).to_data()
    if held:
        acr = provider.state.ladder.levels[0].acr
        data |= hold_data(until=provider.clock() + HOLD, acr=acr, reason="recovery")
    return await provider.store.add_factor(
        user_id, "totp", data, label="Phone", now=provider.clock()
    )


async def _change(admin: Admin, user_id: str, path: str) -> httpx.Response:
    """Post the change at ``path`` from the user's page (stepping up when asked)."""
    page = await admin.browser.get(f"/admin/users/{user_id}")
    response = await admin.browser.post(path, data={"csrf": csrf_of(page.text)})
    if response.status_code == 303 and response.headers["location"].startswith("/admin/reauth"):
        await step_up(admin.browser, admin.passkey, response.headers["location"])
        page = await admin.browser.get(f"/admin/users/{user_id}")
        response = await admin.browser.post(path, data={"csrf": csrf_of(page.text)})
    return response


async def test_factor_on_hold_shows_on_hold_with_a_confirm_button(
    provider: Provider, admin: Admin
) -> None:
    victim = await provider.create_user(VICTIM)
    factor = await _held_factor(provider, victim.id)
    page = await admin.browser.get(f"/admin/users/{victim.id}")
    assert "is on hold until" in page.text
    assert f'action="/admin/users/{victim.id}/factors/{factor.id}/confirm"' in page.text


async def test_confirm_without_step_up_asks_for_the_passkey(
    provider: Provider, admin: Admin
) -> None:
    victim = await provider.create_user(VICTIM)
    factor = await _held_factor(provider, victim.id)
    page = await admin.browser.get(f"/admin/users/{victim.id}")
    asked = await admin.browser.post(
        f"/admin/users/{victim.id}/factors/{factor.id}/confirm", data={"csrf": csrf_of(page.text)}
    )
    assert asked.status_code == 303
    assert asked.headers["location"].startswith("/admin/reauth?next=%2Fadmin%2Fusers%2F")
    reauth = await admin.browser.get(asked.headers["location"])
    assert "Confirming a sign-in method needs your passkey." in reauth.text
    assert re.findall(r'data-factor="([a-z]+)"', reauth.text) == ["webauthn"]
    stored = await provider.store.get_factor(factor.id)
    assert is_held(stored, provider.clock())
    assert await audit_rows(provider, "admin_action") == []


async def test_confirm_after_passkey_ends_the_hold_and_is_audited(
    provider: Provider, admin: Admin
) -> None:
    victim = await provider.create_user(VICTIM)
    factor = await _held_factor(provider, victim.id)
    done = await _change(admin, victim.id, f"/admin/users/{victim.id}/factors/{factor.id}/confirm")
    assert done.status_code == 303, done.text[:300]
    assert done.headers["location"] == f"/admin/users/{victim.id}?done=confirmed"
    stored = await provider.store.get_factor(factor.id)
    assert not is_held(stored, provider.clock())
    assert not {"hold_until", "hold_acr", "hold_reason"} & set(stored.data)
    page = await admin.browser.get(done.headers["location"])
    assert "no longer on hold" in page.text
    assert "is on hold until" not in page.text
    (row,) = await audit_rows(provider, "admin_action")
    assert row["action"] == "confirm_factor"
    assert row["admin_id"] == admin.user.id
    assert row["user_id"] == victim.id
    assert row["stepup_acr"] in ("phr", "phrh")
    assert row["stepup_auth_time"] == pytest.approx(provider.clock())
    assert row["before"].startswith("hold_until ")
    assert row["before"].endswith(", hold_reason recovery")
    assert row["after"] == "none"
    (change,) = await audit_rows(provider, "factor_change")  # as the CLI records it
    assert (change["action"], change["client_id"]) == ("confirm", "stepauth-console")


async def test_confirm_of_a_factor_not_on_hold_is_a_clear_400(
    provider: Provider, admin: Admin
) -> None:
    victim = await provider.create_user(VICTIM)
    factor = await _held_factor(provider, victim.id, held=False)
    refused = await _change(
        admin, victim.id, f"/admin/users/{victim.id}/factors/{factor.id}/confirm"
    )
    assert refused.status_code == 400
    assert "this sign-in method is not on hold" in refused.text
    assert await audit_rows(provider, "admin_action") == []


async def test_confirm_of_another_users_factor_is_404(provider: Provider, admin: Admin) -> None:
    """The factor id must belong to the user in the path: a held factor of someone else
    is neither confirmed nor revealed."""
    victim = await provider.create_user(VICTIM)
    other = await provider.create_user("carol")
    factor = await _held_factor(provider, other.id)
    refused = await _change(
        admin, victim.id, f"/admin/users/{victim.id}/factors/{factor.id}/confirm"
    )
    assert refused.status_code == 404
    assert is_held(await provider.store.get_factor(factor.id), provider.clock())
    assert await audit_rows(provider, "admin_action") == []


async def test_confirm_without_csrf_is_refused(provider: Provider, admin: Admin) -> None:
    victim = await provider.create_user(VICTIM)
    factor = await _held_factor(provider, victim.id)
    refused = await admin.browser.post(
        f"/admin/users/{victim.id}/factors/{factor.id}/confirm", data={"csrf": "0" * 64}
    )
    assert refused.status_code == 403
    assert is_held(await provider.store.get_factor(factor.id), provider.clock())


async def test_one_session_sign_out_ends_that_session_only(
    provider: Provider, admin: Admin
) -> None:
    victim = await provider.create_user(VICTIM)
    first, second = provider.new_browser(), provider.new_browser()
    await sign_in(first, VICTIM)
    await sign_in(second, VICTIM)
    sessions = await provider.store.list_user_sessions(victim.id, now=provider.clock())
    sids = [s.sid for s in sessions]
    assert len(sids) == 2
    assert all(sids)
    page = await admin.browser.get(f"/admin/users/{victim.id}")
    for sid in sids:
        assert f'action="/admin/users/{victim.id}/sessions/{sid}/end"' in page.text
    ended = sids[0]
    done = await _change(admin, victim.id, f"/admin/users/{victim.id}/sessions/{ended}/end")
    assert done.status_code == 303, done.text[:300]
    assert done.headers["location"] == f"/admin/users/{victim.id}?done=session-ended"
    left = await provider.store.list_user_sessions(victim.id, now=provider.clock())
    assert [s.sid for s in left] == sids[1:]
    # the first browser signed in first: its session is the one that ended
    assert (await first.get("/account")).status_code == 303
    assert (await second.get("/account")).status_code == 200
    (row,) = await audit_rows(provider, "admin_action")
    assert (row["action"], row["user_id"]) == ("end_session", victim.id)
    assert (row["before"], row["after"]) == (f"session {ended}", "ended")
    assert row["stepup_acr"] in ("phr", "phrh")


async def test_one_session_sign_out_of_an_unknown_sid_is_404(
    provider: Provider, admin: Admin
) -> None:
    """A sid of another user's session does not end it through this user's page."""
    victim = await provider.create_user(VICTIM)
    other = await provider.create_user("carol")
    await sign_in(provider.new_browser(), "carol")
    (theirs,) = await provider.store.list_user_sessions(other.id, now=provider.clock())
    refused = await _change(admin, victim.id, f"/admin/users/{victim.id}/sessions/{theirs.sid}/end")
    assert refused.status_code == 404
    assert len(await provider.store.list_user_sessions(other.id, now=provider.clock())) == 1
    assert await audit_rows(provider, "admin_action") == []
