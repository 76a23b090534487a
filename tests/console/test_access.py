"""``/admin``: who may see it, and the proof each change needs (ASVS 5.0 7.5.1, 8.2.1)."""

from __future__ import annotations

import re

import pytest
from starlette.requests import Request

from stepauth.provider.account.fresh import ACCOUNT_FORMS, BROWSER_COOKIE
from stepauth.provider.console.access import ADMIN_COOKIE, CONSOLE_FORMS
from stepauth.provider.csrf import Forbidden, FormBinding
from stepauth.provider.factors import totp
from tests.helpers.account_pages import csrf_of
from tests.helpers.console_pages import Admin, audit_rows, sign_in, step_up
from tests.helpers.harness import PASSWORD, SECRET, Provider

VICTIM = "bob"


async def _user_page(admin: Admin, user_id: str) -> str:
    page = await admin.browser.get(f"/admin/users/{user_id}")
    assert page.status_code == 200, page.text[:300]
    return page.text


async def test_no_session_is_sent_to_sign_in(provider: Provider) -> None:
    for path in ("/admin/users", "/admin/friction"):
        response = await provider.browser.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/admin/reauth?next=%2Fadmin")
    page = await provider.browser.get("/admin/reauth", params={"next": "/admin/users"})
    assert "Sign in to the operator console." in page.text


async def test_signed_in_user_without_the_admin_role_is_forbidden(provider: Provider) -> None:
    await provider.create_user(VICTIM)
    await sign_in(provider.browser, VICTIM)
    for path in ("/admin/users", "/admin/friction"):
        response = await provider.browser.get(path)
        assert response.status_code == 403, path
        assert "access_denied" in response.text


async def test_change_by_a_non_admin_is_forbidden(provider: Provider, admin: Admin) -> None:
    """A non-admin holding a console CSRF token (the sign-in page hands one out) still
    cannot change anything."""
    victim = await provider.create_user(VICTIM)
    mallory = provider.new_browser()
    await provider.create_user("mallory")
    page = await mallory.get("/admin/reauth")
    await sign_in(mallory, "mallory")
    response = await mallory.post(
        f"/admin/users/{victim.id}/lock", data={"csrf": csrf_of(page.text)}
    )
    assert response.status_code == 403
    assert not (await provider.store.get_user(victim.id)).disabled


async def test_admin_reads_users_and_a_user(provider: Provider, admin: Admin) -> None:
    victim = await provider.create_user(VICTIM)
    listing = await admin.browser.get("/admin/users", params={"q": "BO"})
    assert listing.status_code == 200
    assert f'href="/admin/users/{victim.id}"' in listing.text
    assert f'href="/admin/users/{admin.user.id}"' not in listing.text  # "ada" has no "bo"
    html = await _user_page(admin, victim.id)
    assert 'id="status">active<' in html
    assert "Changes ask for your passkey" in html


async def test_change_without_fresh_step_up_asks_for_a_passkey(
    provider: Provider, admin: Admin
) -> None:
    """Signed in with the password only: a lock is not made, the passkey is asked for
    with the reason, and the page offers nothing weaker."""
    victim = await provider.create_user(VICTIM)
    html = await _user_page(admin, victim.id)
    response = await admin.browser.post(
        f"/admin/users/{victim.id}/lock", data={"csrf": csrf_of(html)}
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/admin/reauth?next=%2Fadmin%2Fusers%2F")
    assert not (await provider.store.get_user(victim.id)).disabled
    page = await admin.browser.get(location)
    assert "Locking a user needs your passkey." in page.text
    assert re.findall(r'data-factor="([a-z]+)"', page.text) == ["webauthn"]


async def test_stale_step_up_asks_again(provider: Provider, admin: Admin) -> None:
    victim = await provider.create_user(VICTIM)
    html = await _user_page(admin, victim.id)
    response = await admin.browser.post(
        f"/admin/users/{victim.id}/lock", data={"csrf": csrf_of(html)}
    )
    await step_up(admin.browser, admin.passkey, response.headers["location"])
    provider.clock.advance(301)  # past FRESH_MAX_AGE
    html = await _user_page(admin, victim.id)
    again = await admin.browser.post(f"/admin/users/{victim.id}/lock", data={"csrf": csrf_of(html)})
    assert again.status_code == 303
    assert again.headers["location"].startswith("/admin/reauth")
    assert not (await provider.store.get_user(victim.id)).disabled


async def test_lock_after_passkey_is_done_audited_and_refused_at_sign_in(
    provider: Provider, admin: Admin
) -> None:
    victim = await provider.create_user(VICTIM)
    victim_browser = provider.new_browser()
    await sign_in(victim_browser, VICTIM)
    html = await _user_page(admin, victim.id)
    assert "No live session." not in html  # the victim's session is listed
    asked = await admin.browser.post(f"/admin/users/{victim.id}/lock", data={"csrf": csrf_of(html)})
    back = await step_up(admin.browser, admin.passkey, asked.headers["location"])
    assert back.headers["location"] == f"/admin/users/{victim.id}"
    html = await _user_page(admin, victim.id)
    done = await admin.browser.post(f"/admin/users/{victim.id}/lock", data={"csrf": csrf_of(html)})
    assert done.status_code == 303
    assert done.headers["location"] == f"/admin/users/{victim.id}?done=locked"
    assert (await provider.store.get_user(victim.id)).disabled
    page = await admin.browser.get(done.headers["location"])
    assert 'id="status">locked<' in page.text
    assert "No live session." in page.text
    # the locked user's open session is gone, and a new sign-in is refused
    assert (await victim_browser.get("/admin/users")).status_code == 303
    refused = await sign_in(provider.new_browser(), VICTIM, expect=400)
    assert 'role="alert"' in refused.text
    (row,) = await audit_rows(provider, "admin_action")
    assert row["action"] == "lock"
    assert row["admin_id"] == admin.user.id
    assert row["user_id"] == victim.id
    assert row["stepup_acr"] in ("phr", "phrh")
    assert row["stepup_auth_time"] == pytest.approx(provider.clock())
    assert row["before"] == "active"
    assert row["after"] == "locked, 1 sessions ended"


async def test_unlock_lets_the_user_sign_in_again(provider: Provider, admin: Admin) -> None:
    victim = await provider.create_user(VICTIM)
    await provider.store.set_user_disabled(victim.id, True)
    html = await _user_page(admin, victim.id)
    asked = await admin.browser.post(
        f"/admin/users/{victim.id}/unlock", data={"csrf": csrf_of(html)}
    )
    page = await admin.browser.get(asked.headers["location"])
    assert "Unlocking a user needs your passkey." in page.text
    await step_up(admin.browser, admin.passkey, asked.headers["location"])
    html = await _user_page(admin, victim.id)
    done = await admin.browser.post(
        f"/admin/users/{victim.id}/unlock", data={"csrf": csrf_of(html)}
    )
    assert done.headers["location"].endswith("?done=unlocked")
    await sign_in(provider.new_browser(), VICTIM)
    (row,) = await audit_rows(provider, "admin_action")
    assert (row["action"], row["before"], row["after"]) == ("unlock", "locked", "active")


async def test_end_sessions_signs_the_user_out(provider: Provider, admin: Admin) -> None:
    victim = await provider.create_user(VICTIM)
    victim_browser = provider.new_browser()
    await sign_in(victim_browser, VICTIM)
    html = await _user_page(admin, victim.id)
    asked = await admin.browser.post(
        f"/admin/users/{victim.id}/sessions/end", data={"csrf": csrf_of(html)}
    )
    await step_up(admin.browser, admin.passkey, asked.headers["location"])
    html = await _user_page(admin, victim.id)
    done = await admin.browser.post(
        f"/admin/users/{victim.id}/sessions/end", data={"csrf": csrf_of(html)}
    )
    assert done.headers["location"].endswith("?done=signed-out")
    assert (await victim_browser.get("/admin/users")).status_code == 303  # no session now
    (row,) = await audit_rows(provider, "admin_action")
    assert (row["action"], row["before"], row["after"]) == ("end_sessions", "1 sessions", "1 ended")


@pytest.mark.parametrize("csrf", [None, "", "0" * 64])
async def test_change_without_valid_csrf_is_refused(
    provider: Provider, admin: Admin, csrf: str | None
) -> None:
    """A cross-site form (no token, an empty one, a guessed one) is refused with 403
    even after a fresh step-up, and nothing changes."""
    victim = await provider.create_user(VICTIM)
    html = await _user_page(admin, victim.id)
    asked = await admin.browser.post(f"/admin/users/{victim.id}/lock", data={"csrf": csrf_of(html)})
    await step_up(admin.browser, admin.passkey, asked.headers["location"])
    response = await admin.browser.post(
        f"/admin/users/{victim.id}/lock", data={} if csrf is None else {"csrf": csrf}
    )
    assert response.status_code == 403
    assert "the form is not valid" in response.text
    assert not (await provider.store.get_user(victim.id)).disabled
    assert await audit_rows(provider, "admin_action") == []


async def test_account_csrf_token_is_not_a_console_token(provider: Provider, admin: Admin) -> None:
    victim = await provider.create_user(VICTIM)
    account = await admin.browser.get("/account")
    asked = await admin.browser.post(
        f"/admin/users/{victim.id}/lock", data={"csrf": csrf_of(account.text)}
    )
    assert asked.status_code == 403


async def test_console_csrf_token_is_not_an_account_token(provider: Provider, admin: Admin) -> None:
    """The other way round: a console token posted to ``/account`` is refused."""
    await admin.browser.get("/account")  # the account cookie is set
    console = csrf_of(await _user_page(admin, admin.user.id))
    ended = await admin.browser.post("/account/sessions/end-others", data={"csrf": console})
    assert ended.status_code == 403
    assert "the form is not valid" in ended.text


@pytest.mark.parametrize("labels", [(CONSOLE_FORMS, ACCOUNT_FORMS), (ACCOUNT_FORMS, CONSOLE_FORMS)])
async def test_one_cookie_value_gets_a_different_token_under_each_label(
    provider: Provider, labels: tuple[FormBinding, FormBinding]
) -> None:
    """Even a browser whose two cookies hold one value (a planted cookie) cannot carry a
    token across: each set of pages MACs under the key of its own HKDF label
    (RFC 5869 §3.2, ``info``)."""
    minted_by, checked_by = labels
    state = provider.state
    value = "v" * 43
    cookie = f"{ADMIN_COOKIE}={value}; {BROWSER_COOKIE}={value}"
    request = Request({"type": "http", "headers": [(b"cookie", cookie.encode())]})
    token = minted_by.csrf_token(state, value)
    assert token != checked_by.csrf_token(state, value)
    minted_by.check_csrf(state, request, token)  # its own pages accept it
    with pytest.raises(Forbidden):
        checked_by.check_csrf(state, request, token)


async def test_admin_cannot_lock_themselves(provider: Provider, admin: Admin) -> None:
    html = await _user_page(admin, admin.user.id)
    asked = await admin.browser.post(
        f"/admin/users/{admin.user.id}/lock", data={"csrf": csrf_of(html)}
    )
    await step_up(admin.browser, admin.passkey, asked.headers["location"])
    html = await _user_page(admin, admin.user.id)
    response = await admin.browser.post(
        f"/admin/users/{admin.user.id}/lock", data={"csrf": csrf_of(html)}
    )
    assert response.status_code == 400
    assert not (await provider.store.get_user(admin.user.id)).disabled


async def test_step_up_return_target_stays_on_the_console(provider: Provider, admin: Admin) -> None:
    """No open redirect: ``next`` outside ``/admin`` falls back to ``/admin``."""
    for target in ("https://evil.example/", "//evil.example/admin", "/account"):
        page = await admin.browser.get("/admin/reauth", params={"next": target})
        assert 'action="/admin/reauth?next=%2Fadmin"' in page.text, target


async def test_no_secret_in_any_console_page(provider: Provider, admin: Admin) -> None:
    """TOTP seeds, password hashes, client secrets and private keys never reach a
    console page."""
    victim = await provider.create_user(VICTIM, password=PASSWORD)
    params = totp.TotpParams(secret=totp.generate_secret())
    await provider.store.add_factor(
        victim.id, "totp", params.to_data(), label="Phone", now=provider.clock()
    )
    stored = await provider.store.get_user(victim.id)
    await provider.state.keys.ensure()
    paths = ["/admin/users", f"/admin/users/{victim.id}", "/admin/friction", "/admin/audit"]
    paths += ["/admin/clients", "/admin/keys", "/admin/policy"]
    pages = [await admin.browser.get(path) for path in paths]
    for page in pages:
        assert page.status_code == 200
        assert SECRET not in page.text  # client secrets
        assert '"d":' not in page.text  # private JWK members
        assert params.secret not in page.text
        assert params.secret[:8] not in page.text.replace(" ", "")
        assert stored.password_hash not in page.text
        assert "$argon2" not in page.text
        assert PASSWORD not in page.text
    assert "Authenticator app" in pages[1].text
    assert "Phone" in pages[1].text


async def test_console_pages_have_the_strict_csp(provider: Provider, admin: Admin) -> None:
    page = await admin.browser.get("/admin/users")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert "<script" not in page.text
    css = await admin.browser.get("/admin/static/console.css")
    assert css.status_code == 200


async def test_fresh_password_does_not_authorise_a_change(provider: Provider, admin: Admin) -> None:
    """Only a passkey or security key (phr/phrh) authorises a change: the password form
    posted to the step-up page anyway is refused, and the change is still asked for."""
    victim = await provider.create_user(VICTIM)
    html = await _user_page(admin, victim.id)
    asked = await admin.browser.post(f"/admin/users/{victim.id}/lock", data={"csrf": csrf_of(html)})
    location = asked.headers["location"]
    page = await admin.browser.get(location)
    refused = await admin.browser.post(
        location,
        data={
            "csrf": csrf_of(page.text),
            "factor": "password",
            "username": "ada",
            "password": PASSWORD,
        },
    )
    assert refused.status_code == 400
    assert 'role="alert"' in refused.text
    html = await _user_page(admin, victim.id)
    again = await admin.browser.post(f"/admin/users/{victim.id}/lock", data={"csrf": csrf_of(html)})
    assert again.headers["location"].startswith("/admin/reauth")
    assert not (await provider.store.get_user(victim.id)).disabled


async def test_revoked_admin_is_forbidden_at_once(provider: Provider, admin: Admin) -> None:
    """The role is checked on every request: a revocation takes effect in open sessions."""
    assert (await admin.browser.get("/admin/users")).status_code == 200
    await provider.store.set_user_role(admin.user.id, "admin", False)
    assert (await admin.browser.get("/admin/users")).status_code == 403
