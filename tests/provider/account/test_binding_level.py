"""Binding an authenticator needs authentication at the level it will be used at
(NIST SP 800-63B-4 §6.1.2.1): changes on /account need a step-up at the account's binding
level, and an attacker with only the password changes nothing. The holds on factors bound
below that level are in test_binding_hold.py, the "this wasn't me" link in
test_this_wasnt_me.py. Each test goes through HTTP."""

from __future__ import annotations

from typing import Any

from stepauth.provider.factors import totp
from tests.helpers.account_pages import add_passkey, reauth, reauth_passkey
from tests.helpers.bank import PHR, front, push_details
from tests.helpers.binding_level import (
    THEFT,
    factor_kinds,
    factor_of,
    make_victim,
    post_form,
    provider,
    sent_to_step_up,
    sign_in_with_password,
)
from tests.helpers.frontchannel import open_interaction, page
from tests.helpers.harness import Provider
from tests.helpers.passkeys import refused, use_passkey

__all__ = ["provider"]


async def _factors(provider: Provider, user_id: str) -> dict[str, Any]:
    return {f.id: f for f in await provider.store.list_factors(user_id)}


# --------------------------------------------------------------------------- passkey account
async def test_password_only_session_cannot_add_passkey(provider: Provider) -> None:
    victim = await make_victim(provider)
    await sign_in_with_password(provider.browser)
    response, _ = await add_passkey(provider, victim.user.id)
    assert response.status_code == 401
    assert response.json()["reauth"].startswith("/account/reauth")
    assert len(await _factors(provider, victim.user.id)) == 3


async def test_password_only_session_cannot_remove_passkey(provider: Provider) -> None:
    victim = await make_victim(provider)
    passkey = await factor_of(provider, victim.user.id, "webauthn")
    await sign_in_with_password(provider.browser)
    response = await post_form(provider.browser, f"/account/factors/{passkey.id}/remove")
    assert sent_to_step_up(response)
    assert await provider.store.get_factor(passkey.id) is not None
    renamed = await post_form(provider.browser, f"/account/factors/{passkey.id}/rename", label="x")
    assert sent_to_step_up(renamed)
    assert (await factor_of(provider, victim.user.id, "webauthn")).label == "passkey"


async def test_password_only_session_cannot_remove_totp(provider: Provider) -> None:
    victim = await make_victim(provider)
    app = await factor_of(provider, victim.user.id, "totp")
    await sign_in_with_password(provider.browser)
    assert sent_to_step_up(await post_form(provider.browser, f"/account/factors/{app.id}/remove"))
    assert await provider.store.get_factor(app.id) is not None


async def test_password_only_session_cannot_add_totp(provider: Provider) -> None:
    victim = await make_victim(provider)
    await sign_in_with_password(provider.browser)
    assert sent_to_step_up(await post_form(provider.browser, "/account/totp"))
    assert len(await _factors(provider, victim.user.id)) == 3


async def test_password_only_session_cannot_regenerate_recovery_codes(provider: Provider) -> None:
    victim = await make_victim(provider)
    before = (await factor_of(provider, victim.user.id, "recovery")).data
    await sign_in_with_password(provider.browser)
    assert sent_to_step_up(await post_form(provider.browser, "/account/recovery"))
    assert (await factor_of(provider, victim.user.id, "recovery")).data == before


async def test_password_only_session_cannot_change_password_of_a_passkey_account(
    provider: Provider,
) -> None:
    victim = await make_victim(provider)
    await sign_in_with_password(provider.browser)
    new = "the attacker's new password"
    response = await post_form(
        provider.browser, "/account/password", new_password=new, confirm_password=new
    )
    assert sent_to_step_up(response)
    stored = await provider.store.get_user(victim.user.id)
    assert stored.password_hash == victim.user.password_hash


async def test_password_and_totp_do_not_reach_a_passkey_binding_level(provider: Provider) -> None:
    """Two factors are still below phr: the passkey cannot be removed with them."""
    victim = await make_victim(provider)
    passkey = await factor_of(provider, victim.user.id, "webauthn")
    await sign_in_with_password(provider.browser)
    provider.clock.advance(30)
    page_html = (await provider.browser.get("/account/reauth")).text
    assert factor_kinds(page_html) == ["webauthn"]  # the code form is not even offered
    assert sent_to_step_up(
        await post_form(provider.browser, f"/account/factors/{passkey.id}/remove")
    )


async def test_reauth_offers_only_factors_that_reach_the_binding_level(provider: Provider) -> None:
    """As the sign-in page does with the login policy's Needs: a passkey account is asked
    for its passkey (never its password or app), with a link to the recovery variant; a
    password + TOTP account for both, then, with the password fresh, for the code only."""
    await make_victim(provider)
    await sign_in_with_password(provider.browser)
    shown = (await provider.browser.get("/account/reauth", params={"next": "/account"})).text
    assert factor_kinds(shown) == ["webauthn"]
    assert "mode=recovery" in shown
    variant = await provider.browser.get("/account/reauth", params={"mode": "recovery"})
    assert sorted(factor_kinds(variant.text)) == ["password", "recovery"]

    bob = await provider.create_user("bob", "bob's long password")
    await provider.store.add_factor(
        bob.id,
        "totp",
        totp.TotpParams(secret=totp.generate_secret()).to_data(),
        label="app",
        now=provider.clock(),
    )
    browser = provider.new_browser()
    await reauth(browser, "password", username="bob", password="bob's long password")
    assert factor_kinds((await browser.get("/account/reauth")).text) == ["totp"]
    provider.clock.advance(301)
    assert sorted(factor_kinds((await browser.get("/account/reauth")).text)) == ["password", "totp"]


async def test_passkey_step_up_allows_changes_and_audits_before_and_after(
    provider: Provider,
) -> None:
    victim = await make_victim(provider)
    app = await factor_of(provider, victim.user.id, "totp")
    await sign_in_with_password(provider.browser)
    await reauth_passkey(provider.browser, victim.passkey)
    response = await post_form(provider.browser, f"/account/factors/{app.id}/remove")
    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    assert await provider.store.get_factor(app.id) is None
    (change,) = [e for e in await provider.store.tail_audit(50) if e["event"] == "factor_change"]
    assert change["action"] == "remove"
    assert change["binding_before"] == change["binding_after"] == PHR
    assert f"totp:{app.id}" in change["factors_before"]
    assert f"totp:{app.id}" not in change["factors_after"]


# --------------------------------------------------------------------------- the attack
async def test_attacker_with_only_the_password_cannot_take_over_a_passkey_account(
    provider: Provider,
) -> None:
    """The reproduced attack, end to end: knowing only alice's password, the attacker
    signs in, tries to add their passkey, remove alice's passkey and app, add their own
    app, regenerate the recovery codes, change the password and approve a bound €9,000
    payment to their IBAN. Every step is refused; alice's factors are intact."""
    victim = await make_victim(provider)
    before = {
        f.id: (f.kind, f.label, f.data) for f in await provider.store.list_factors(victim.user.id)
    }
    attacker = provider.browser
    await sign_in_with_password(attacker)

    added, theirs = await add_passkey(provider, victim.user.id)
    assert added.status_code == 401
    step_up = (await attacker.get(added.json()["reauth"])).text
    assert factor_kinds(step_up) == ["webauthn"]  # only alice's passkey would do
    for factor_id, (kind, _, _) in before.items():
        if kind in ("webauthn", "totp"):
            removed = await post_form(attacker, f"/account/factors/{factor_id}/remove")
            assert sent_to_step_up(removed)
    assert sent_to_step_up(await post_form(attacker, "/account/totp"))
    assert sent_to_step_up(await post_form(attacker, "/account/recovery"))
    new = "the attacker's password"
    assert sent_to_step_up(
        await post_form(attacker, "/account/password", new_password=new, confirm_password=new)
    )

    _, request_uri = await push_details(provider, THEFT, acr_values=PHR)
    shown = await open_interaction(attacker, front(request_uri))
    assert "EUR 9,000.00" in shown.text
    assert shown.kinds() == ["webauthn"]
    response = await use_passkey(attacker, shown, theirs)
    assert refused(response)
    assert page(response).reasons()[0] == "binding_required"

    after = {
        f.id: (f.kind, f.label, f.data) for f in await provider.store.list_factors(victim.user.id)
    }
    assert after == before
    assert not any(f.disabled for f in await provider.store.list_factors(victim.user.id))
    stored = await provider.store.get_user(victim.user.id)
    assert stored.password_hash == victim.user.password_hash
    audit = await provider.store.tail_audit(200)
    assert not [e for e in audit if e["event"] == "factor_change"]
