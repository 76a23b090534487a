"""ASVS 5.0 7.4.3: after a factor change, **Sign out other sessions** ends the user's
other sessions and keeps the current one."""

from __future__ import annotations

import re

import httpx

from stepauth.provider.factors import totp
from tests.helpers.account_pages import (
    account_page,
    csrf_of,
    outbox,
    reauth,
    sign_in,
    step_up_totp,
)
from tests.helpers.harness import PASSWORD, USERNAME, Provider, pkce_pair

OFFER = "Sign out other sessions"


async def _second_browser(provider: Provider) -> httpx.AsyncClient:
    other = provider.new_browser()
    await reauth(other, "password", username=USERNAME, password=PASSWORD)
    assert (await other.get("/account")).status_code == 200
    return other


async def _add_totp(provider: Provider, browser: httpx.AsyncClient) -> None:
    html = await account_page(browser)
    started = await browser.post("/account/totp", data={"csrf": csrf_of(html)})
    assert started.status_code == 200, started.text[:300]
    pending = re.search(r'name="pending" value="([^"]+)"', started.text)
    secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', started.text)
    assert pending, started.text[:800]
    assert secret, started.text[:800]
    params = totp.TotpParams(secret=secret.group(1).replace(" ", ""))
    confirmed = await browser.post(
        "/account/totp/confirm",
        data={
            "csrf": csrf_of(started.text),
            "pending": pending.group(1),
            "code": totp.totp(params, provider.clock()),
        },
    )
    assert confirmed.status_code == 303, confirmed.text[:300]


async def test_sign_out_other_sessions_after_a_factor_change(provider: Provider) -> None:
    """Two sessions of one user; a TOTP is added in one and the offer is taken: the
    other session's cookie no longer works, the current one does."""
    user = await sign_in(provider)
    other = await _second_browser(provider)
    assert OFFER not in await account_page(provider.browser)  # nothing changed yet
    await _add_totp(provider, provider.browser)
    html = await account_page(provider.browser)
    assert OFFER in html
    assert OFFER not in await account_page(other)  # offered where the change was made
    response = await provider.browser.post(
        "/account/sessions/end-others", data={"csrf": csrf_of(html)}
    )
    assert response.status_code == 200
    assert "Signed out of 1 other session." in response.text
    gone = await other.get("/account")
    assert gone.status_code == 303
    assert gone.headers["location"].startswith("/account/reauth")
    assert (await provider.browser.get("/account")).status_code == 200
    assert OFFER not in await account_page(provider.browser)
    (row,) = [e for e in await provider.store.tail_audit(50) if e["event"] == "sessions_ended"]
    assert (row["user_id"], row["count"]) == (user.id, 1)


async def test_signing_out_other_sessions_revokes_their_tokens(provider: Provider) -> None:
    """ASVS 5.0 7.4.3: the tokens an ended session obtained stop working with it: its
    refresh token → ``invalid_grant``, its access token → inactive; the current
    session's tokens keep working."""
    await sign_in(provider)
    other = await _second_browser(provider)
    issued = {}
    for name, browser in (("other", other), ("current", provider.browser)):
        verifier, challenge = pkce_pair()
        result = await provider.authorize(
            browser=browser, code_challenge=challenge, scope="openid offline_access"
        )
        issued[name] = await provider.exchange(result.code, verifier)
    await _add_totp(provider, provider.browser)
    html = await account_page(provider.browser)
    ended = await provider.browser.post(
        "/account/sessions/end-others", data={"csrf": csrf_of(html)}
    )
    assert "Signed out of 1 other session." in ended.text

    async def refresh(token: str) -> httpx.Response:
        return await provider.token({"grant_type": "refresh_token", "refresh_token": token})

    refused = await refresh(issued["other"]["refresh_token"])
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    assert await provider.introspect(issued["other"]["access_token"]) == {"active": False}
    assert (await refresh(issued["current"]["refresh_token"])).status_code == 200
    assert (await provider.introspect(issued["current"]["access_token"]))["active"] is True


async def test_offer_follows_a_removed_factor_and_spares_other_users(provider: Provider) -> None:
    """Removing a factor offers it too; only this user's sessions end."""
    user = await sign_in(provider)
    other = await _second_browser(provider)
    await provider.create_user("bob", "another long password")
    bob = provider.new_browser()
    await reauth(bob, "password", username="bob", password="another long password")
    params = totp.TotpParams(secret=totp.generate_secret())
    factor = await provider.store.add_factor(
        user.id, "totp", params.to_data(), label="phone", now=provider.clock()
    )
    await step_up_totp(provider, params)  # removing it needs password + TOTP
    html = await account_page(provider.browser)
    assert OFFER not in html  # a factor added outside /account (by an operator)
    removed = await provider.browser.post(
        f"/account/factors/{factor.id}/remove", data={"csrf": csrf_of(html)}
    )
    assert removed.status_code == 303
    html = await account_page(provider.browser)
    assert OFFER in html
    await provider.browser.post("/account/sessions/end-others", data={"csrf": csrf_of(html)})
    assert (await other.get("/account")).status_code == 303
    assert (await bob.get("/account")).status_code == 200
    assert (await provider.browser.get("/account")).status_code == 200


async def test_sign_out_other_sessions_needs_the_csrf_token(provider: Provider) -> None:
    """A cross-site form cannot end the user's sessions."""
    await sign_in(provider)
    other = await _second_browser(provider)
    response = await provider.browser.post("/account/sessions/end-others", data={})
    assert response.status_code == 403
    assert (await other.get("/account")).status_code == 200


async def test_password_change_offers_to_sign_out_other_sessions(provider: Provider) -> None:
    """A new password (fresh step-up, typed twice) is a factor change: it is notified,
    the old password stops working and the other sessions can be signed out."""
    await sign_in(provider)
    other = await _second_browser(provider)
    html = await account_page(provider.browser)
    assert "Change password" in html
    new = "a brand new long passphrase"
    changed = await provider.browser.post(
        "/account/password",
        data={"csrf": csrf_of(html), "new_password": new, "confirm_password": new},
    )
    assert changed.status_code == 303
    assert any("password was changed" in m for m in outbox())
    html = await account_page(provider.browser)
    assert OFFER in html
    await provider.browser.post("/account/sessions/end-others", data={"csrf": csrf_of(html)})
    assert (await other.get("/account")).status_code == 303
    await reauth(other, "password", expect=400, username=USERNAME, password=PASSWORD)
    await reauth(other, "password", username=USERNAME, password=new)


async def test_password_change_refuses_short_or_mismatched_passwords(provider: Provider) -> None:
    """NIST SP 800-63B §3.1.1.2: at least 8 characters; a typo in the repeat is caught."""
    await sign_in(provider)
    html = await account_page(provider.browser)
    for new, again in (("short", "short"), ("long enough one", "long enough two")):
        response = await provider.browser.post(
            "/account/password",
            data={"csrf": csrf_of(html), "new_password": new, "confirm_password": again},
        )
        assert response.status_code == 400
        assert 'id="password-error"' in response.text
        assert OFFER not in response.text
    other = provider.new_browser()
    await reauth(other, "password", username=USERNAME, password=PASSWORD)


async def test_password_change_needs_a_fresh_step_up(provider: Provider) -> None:
    """ASVS 5.0 7.5.1: a stale session is sent to confirm it is you first."""
    await sign_in(provider)
    html = await account_page(provider.browser)
    provider.clock.advance(301)
    response = await provider.browser.post(
        "/account/password",
        data={"csrf": csrf_of(html), "new_password": "x" * 20, "confirm_password": "x" * 20},
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/reauth")
    other = provider.new_browser()
    await reauth(other, "password", username=USERNAME, password=PASSWORD)
