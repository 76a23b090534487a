"""/account: fresh step-up before every change (ASVS 5.0 7.5.1), CSRF, TOTP, recovery
codes, rename/remove, notifications (ASVS 4.0.3 2.5.5)."""

from __future__ import annotations

import re
from html import unescape

import pytest

from stepauth.provider.factors import recovery, totp
from tests.helpers.account_pages import (
    account_page,
    csrf_of,
    field,
    outbox,
    reauth,
    sign_in,
    step_up_totp,
)
from tests.helpers.harness import PASSWORD, USERNAME, Provider

STALE = 301


async def test_account_without_session_goes_to_sign_in(provider: Provider) -> None:
    response = await provider.browser.get("/account")
    assert response.status_code == 303
    assert response.headers["location"] == "/account/reauth?next=%2Faccount"


async def test_signed_in_user_sees_factors_with_last_use(provider: Provider) -> None:
    user = await sign_in(provider)
    params = totp.TotpParams(secret=totp.generate_secret())
    factor = await provider.store.add_factor(
        user.id, "totp", params.to_data(), label="Work phone", now=provider.clock()
    )
    await provider.store.update_factor(factor.id, last_used_at=provider.clock())
    html = await account_page(provider.browser)
    assert "Work phone" in html
    assert "Authenticator app" in html
    assert "Add passkey" in html
    assert "never" not in html.split("Work phone", 1)[1].split("</tr>", 1)[0]
    assert "/account/static/account.js" in html
    assert "<script>" not in html  # CSP script-src 'self': no inline script


async def test_stale_session_is_sent_to_step_up_before_a_change(provider: Provider) -> None:
    """ASVS 5.0 7.5.1: a change needs a fresh factor; the old session is not enough."""
    await sign_in(provider)
    html = await account_page(provider.browser)
    provider.clock.advance(STALE)
    response = await provider.browser.post("/account/totp", data={"csrf": csrf_of(html)})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/reauth")
    page = await provider.browser.get(response.headers["location"])
    assert "Confirm it is you" in page.text
    # a fresh factor, then the same change is allowed
    await reauth(provider.browser, "password", username=USERNAME, password=PASSWORD)
    html = await account_page(provider.browser)
    response = await provider.browser.post("/account/totp", data={"csrf": csrf_of(html)})
    assert response.status_code == 200
    assert "<svg" in response.text


async def test_fresh_session_is_allowed_without_a_new_prompt(provider: Provider) -> None:
    await sign_in(provider)
    html = await account_page(provider.browser)
    provider.clock.advance(60)
    response = await provider.browser.post("/account/recovery", data={"csrf": csrf_of(html)})
    assert response.status_code == 200
    assert "shown only once" in response.text


async def test_account_form_without_csrf_is_forbidden(provider: Provider) -> None:
    await sign_in(provider)
    response = await provider.browser.post("/account/recovery", data={})
    assert response.status_code == 403
    response = await provider.browser.post("/account/recovery", data={"csrf": "0" * 64})
    assert response.status_code == 403
    factors = await provider.store.list_factors((await provider.store.list_users())[0].id)
    assert factors == []


async def test_csrf_token_of_another_browser_is_refused(provider: Provider) -> None:
    """Login-CSRF / cross-site form: a token minted for one browser fails in another."""
    await sign_in(provider)
    other = provider.new_browser()
    foreign = csrf_of((await other.get("/account/reauth")).text)
    response = await provider.browser.post("/account/recovery", data={"csrf": foreign})
    assert response.status_code == 403


async def test_reauth_form_without_csrf_is_forbidden(provider: Provider) -> None:
    await provider.create_user()
    await provider.browser.get("/account/reauth")
    response = await provider.browser.post(
        "/account/reauth",
        data={"factor": "password", "username": USERNAME, "password": PASSWORD},
    )
    assert response.status_code == 403


def _secret(html: str) -> str:
    match = re.search(r'<code id="totp-secret">([^<]*)</code>', html)
    assert match
    return unescape(match.group(1)).replace(" ", "")


async def test_add_totp_needs_a_first_code(provider: Provider, outbox_path: object) -> None:
    user = await sign_in(provider)
    html = await account_page(provider.browser)
    started = await provider.browser.post("/account/totp", data={"csrf": csrf_of(html)})
    assert started.status_code == 200
    assert "<svg" in started.text
    params = totp.TotpParams(secret=_secret(started.text))
    wrong = await provider.browser.post(
        "/account/totp/confirm",
        data={
            "csrf": csrf_of(started.text),
            "pending": field(started.text, "pending"),
            "code": "000000" if totp.totp(params, provider.clock()) != "000000" else "111111",
        },
    )
    assert wrong.status_code == 400
    assert not [f for f in await provider.store.list_factors(user.id) if f.kind == "totp"]
    code = totp.totp(params, provider.clock())
    done = await provider.browser.post(
        "/account/totp/confirm",
        data={
            "csrf": csrf_of(wrong.text),
            "pending": field(wrong.text, "pending"),
            "code": code,
            "label": "My phone",
        },
    )
    assert done.status_code == 303
    (factor,) = [f for f in await provider.store.list_factors(user.id) if f.kind == "totp"]
    assert factor.label == "My phone"
    assert factor.data["secret"] == params.secret
    # the confirming code's time step is claimed: it cannot sign in afterwards
    step = totp.time_step(provider.clock())
    assert not await provider.store.advance_counter(factor.id, "totp_step", step)
    assert "A sign-in method was added to your account: authenticator app." in outbox()[-1]


async def test_replayed_totp_setup_is_refused(provider: Provider) -> None:
    """The pending secret is single use: a second confirm of the same setup fails."""
    await sign_in(provider)
    html = await account_page(provider.browser)
    started = await provider.browser.post("/account/totp", data={"csrf": csrf_of(html)})
    params = totp.TotpParams(secret=_secret(started.text))
    data = {
        "csrf": csrf_of(started.text),
        "pending": field(started.text, "pending"),
        "code": totp.totp(params, provider.clock()),
    }
    assert (await provider.browser.post("/account/totp/confirm", data=data)).status_code == 303
    again = await provider.browser.post("/account/totp/confirm", data=data)
    assert again.status_code == 400


def _codes(html: str) -> list[str]:
    return re.findall(r"<li><code>([0-9A-Z-]+)</code></li>", html)


async def test_recovery_codes_shown_once_and_single_use(provider: Provider) -> None:
    user = await sign_in(provider)
    html = await account_page(provider.browser)
    response = await provider.browser.post("/account/recovery", data={"csrf": csrf_of(html)})
    codes = _codes(response.text)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    later = await account_page(provider.browser)
    assert not any(code in later for code in codes)
    pepper = recovery.pepper_from_env()
    await recovery.redeem_code(provider.store, code=codes[0], user_id=user.id, pepper=pepper)
    with pytest.raises(recovery.ReplayedRecoveryCode):
        await recovery.redeem_code(provider.store, code=codes[0], user_id=user.id, pepper=pepper)
    # a new set replaces the old one
    renewed = await provider.browser.post("/account/recovery", data={"csrf": csrf_of(later)})
    assert len(_codes(renewed.text)) == 10
    with pytest.raises(recovery.InvalidRecoveryCode):
        await recovery.redeem_code(provider.store, code=codes[1], user_id=user.id, pepper=pepper)
    factors = [f for f in await provider.store.list_factors(user.id) if f.kind == "recovery"]
    assert len(factors) == 1
    assert "New recovery codes were created" in outbox()[-1]


async def test_rename_and_remove_a_factor(provider: Provider) -> None:
    user = await sign_in(provider)
    params = totp.TotpParams(secret=totp.generate_secret())
    factor = await provider.store.add_factor(
        user.id, "totp", params.to_data(), label="old", now=provider.clock()
    )
    await step_up_totp(provider, params)  # password + TOTP: the account's binding level
    html = await account_page(provider.browser)
    response = await provider.browser.post(
        f"/account/factors/{factor.id}/rename", data={"csrf": csrf_of(html), "label": "new"}
    )
    assert response.status_code == 303
    renamed = await provider.store.get_factor(factor.id)
    assert renamed is not None
    assert renamed.label == "new"
    assert "A sign-in method on your account was renamed: authenticator app." in outbox()[-1]
    response = await provider.browser.post(
        f"/account/factors/{factor.id}/remove", data={"csrf": csrf_of(html)}
    )
    assert response.status_code == 303
    assert await provider.store.get_factor(factor.id) is None
    assert "A sign-in method was removed from your account: authenticator app." in outbox()[-1]
    events = [e for e in await provider.store.tail_audit(50) if e["event"] == "factor_change"]
    assert [e["action"] for e in events] == ["rename", "remove"]


async def test_another_users_factor_cannot_be_removed(provider: Provider) -> None:
    await sign_in(provider)
    other = await provider.create_user("bob", "another password 123")
    params = totp.TotpParams(secret=totp.generate_secret())
    factor = await provider.store.add_factor(
        other.id, "totp", params.to_data(), label="bob's", now=provider.clock()
    )
    html = await account_page(provider.browser)
    response = await provider.browser.post(
        f"/account/factors/{factor.id}/remove", data={"csrf": csrf_of(html)}
    )
    assert response.status_code == 400
    assert await provider.store.get_factor(factor.id) is not None


async def test_stale_session_cannot_remove_a_factor(provider: Provider) -> None:
    user = await sign_in(provider)
    params = totp.TotpParams(secret=totp.generate_secret())
    factor = await provider.store.add_factor(
        user.id, "totp", params.to_data(), label="phone", now=provider.clock()
    )
    html = await account_page(provider.browser)
    provider.clock.advance(STALE)
    response = await provider.browser.post(
        f"/account/factors/{factor.id}/remove", data={"csrf": csrf_of(html)}
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/reauth")
    assert await provider.store.get_factor(factor.id) is not None


async def test_a_return_path_cannot_add_parameters_to_the_reauth_form(
    provider: Provider,
) -> None:
    """``next`` is one parameter of the form's address, whatever ``&`` or ``#`` it holds."""
    await provider.create_user()
    page = await provider.browser.get(
        "/account/reauth", params={"next": "/account?x=1&mode=recovery#é"}
    )
    assert 'action="/account/reauth?next=/account%3Fx%3D1%26mode%3Drecovery%23%C3%A9"' in page.text
    assert "mode=recovery" not in page.text


async def test_open_redirect_after_reauth_is_refused(provider: Provider) -> None:
    await provider.create_user()
    page = await provider.browser.get("/account/reauth", params={"next": "https://evil.example/"})
    assert 'action="/account/reauth?next=/account"' in page.text
    response = await provider.browser.post(
        "/account/reauth?next=//evil.example/",
        data={
            "csrf": csrf_of(page.text),
            "factor": "password",
            "username": USERNAME,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/account"


async def test_session_id_rotates_on_step_up(provider: Provider) -> None:
    """Session fixation (ASVS 3.2.1): the step-up gives the browser a new session id."""
    await sign_in(provider)
    before = provider.browser.cookies.get("stepauth_session")
    provider.clock.advance(STALE)
    await reauth(provider.browser, "password", username=USERNAME, password=PASSWORD)
    after = provider.browser.cookies.get("stepauth_session")
    assert before
    assert after
    assert before != after
    assert await provider.store.get_session(before, now=provider.clock()) is None


async def test_recovery_code_confirms_and_alerts(provider: Provider) -> None:
    """A recovery code works once on the recovery variant of the step-up page and alerts
    the user."""
    await sign_in(provider)
    html = await account_page(provider.browser)
    codes = _codes(
        (await provider.browser.post("/account/recovery", data={"csrf": csrf_of(html)})).text
    )
    provider.clock.advance(STALE)
    await reauth(provider.browser, "recovery", recovery=True, recovery_code=codes[0])
    assert "A recovery code was used" in outbox()[-1]
    provider.clock.advance(STALE)
    await reauth(provider.browser, "recovery", expect=400, recovery=True, recovery_code=codes[0])
