"""Factors bound below the account's binding level are on hold (NIST SP 800-63B-4
§6.1.2.1): a passkey or app added by a password-only session counts at most at 1fa, a
replacement added with a recovery code at 2fa, until the hold ends or an administrator
confirms the factor. Each test goes through HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from stepauth.cli.users_factors import confirm_factor
from stepauth.provider.factors import totp
from tests.helpers.account_pages import account_page, add_passkey, csrf_of, outbox, reauth
from tests.helpers.bank import BANK, PHR, code_request, front, push_details
from tests.helpers.binding_level import (
    THEFT,
    bob_adds_a_passkey,
    factor_of,
    make_victim,
    post_form,
    provider,
    sent_to_step_up,
    sign_in_with_password,
)
from tests.helpers.frontchannel import open_interaction
from tests.helpers.harness import Provider, check_id_token, pkce_pair, running_provider
from tests.helpers.passkeys import refused, rp_params, use_passkey
from tests.helpers.soft_authenticator import SoftAuthenticator

__all__ = ["provider"]

ACR_1FA = "urn:stepauth:acr:1fa"
ACR_2FA = "urn:stepauth:acr:2fa"
HOLD = 86400


# --------------------------------------------------------------------------- hold
async def _sign_in_with_passkey(
    provider: Provider, authenticator: SoftAuthenticator, **extra: str
) -> httpx.Response:
    """A new browser signs in at the bank with the passkey alone (acr_values=phr)."""
    browser = provider.new_browser()
    _, challenge = pkce_pair()
    shown = await open_interaction(browser, code_request(challenge, acr_values=PHR, **extra))
    return await use_passkey(browser, shown, authenticator)


async def _phr_with_passkey(provider: Provider, authenticator: SoftAuthenticator) -> str:
    browser = provider.new_browser()
    verifier, challenge = pkce_pair()
    shown = await open_interaction(browser, code_request(challenge, acr_values=PHR))
    params = rp_params(await use_passkey(browser, shown, authenticator))
    tokens = await provider.exchange(params["code"], verifier, client_id=BANK)
    claims = await check_id_token(provider, tokens["id_token"], client_id=BANK, nonce="n")
    return str(claims["acr"])


async def test_password_only_account_adds_a_passkey_on_hold(provider: Provider) -> None:
    """The passkey of a password-only account counts at most at 1fa for the hold: it never
    yields phr, not even alone, and the pages say so in words."""
    _, factor, authenticator = await bob_adds_a_passkey(provider)
    assert factor.data["hold_reason"] == "single_factor"
    assert factor.data["hold_acr"] == ACR_1FA
    assert factor.data["hold_until"] == provider.clock() + HOLD
    html = await account_page(provider.browser)
    assert "is on hold until" in html
    assert "only one way to sign in" in html
    assert "is on hold until" in outbox()[-1]
    _, challenge = pkce_pair()
    stepped = await provider.browser.get(
        "/authorize", params=code_request(challenge, acr_values=PHR)
    )
    assert rp_params(stepped)["error"] == "unmet_authentication_requirements"
    alone = await _sign_in_with_passkey(provider, authenticator)
    assert rp_params(alone)["error"] == "unmet_authentication_requirements"
    step_up = [e for e in await provider.store.tail_audit(50) if e["event"] == "step_up"][-1]
    assert step_up["acr_after"] == ACR_1FA  # the held passkey's event is capped


async def test_held_passkey_cannot_approve_bound_details(provider: Provider) -> None:
    """Transaction binding (docs/transaction-binding.md): a held passkey approves nothing — not
    with the session (binding_unavailable), not as the first factor of a new browser."""
    _, _, authenticator = await bob_adds_a_passkey(provider)
    _, request_uri = await push_details(provider, THEFT)
    answered = await provider.browser.get("/authorize", params=front(request_uri))
    assert rp_params(answered)["error"] == "unmet_authentication_requirements"
    browser = provider.new_browser()
    _, request_uri = await push_details(provider, THEFT)
    shown = await open_interaction(browser, front(request_uri))
    assert "webauthn" in shown.kinds()
    response = await use_passkey(browser, shown, authenticator)
    assert refused(response)  # no code, no txn: the approval is not valid


async def test_hold_ends_after_binding_hold(provider: Provider) -> None:
    _, _, authenticator = await bob_adds_a_passkey(provider)
    provider.clock.advance(HOLD - 60)
    assert rp_params(await _sign_in_with_passkey(provider, authenticator))["error"] == (
        "unmet_authentication_requirements"
    )
    provider.clock.advance(61)
    assert await _phr_with_passkey(provider, authenticator) == PHR
    browser = provider.new_browser()
    await sign_in_with_password(browser)
    assert "is on hold" not in await account_page(browser)


async def test_confirm_factor_ends_the_hold(provider: Provider) -> None:
    user, factor, authenticator = await bob_adds_a_passkey(provider)
    await confirm_factor(provider.store, user, factor.id, now=provider.clock())
    assert await _phr_with_passkey(provider, authenticator) == PHR
    _, request_uri = await push_details(provider, THEFT)
    shown = await open_interaction(provider.browser, front(request_uri))
    assert shown.kinds() == ["webauthn"]  # the passkey may now approve bound details
    assert "code" in rp_params(await use_passkey(provider.browser, shown, authenticator))


async def test_totp_added_by_a_password_only_account_is_on_hold(provider: Provider) -> None:
    """The hold is not about passkeys only: an authenticator app bound with the password
    alone does not make password + code reach 2fa until the hold ends."""
    user = await provider.create_user()
    await sign_in_with_password(provider.browser)
    started = await post_form(provider.browser, "/account/totp")
    assert started.status_code == 200
    secret = re.search(r'<code id="totp-secret">([^<]*)</code>', started.text)
    pending = re.search(r'name="pending" value="([^"]+)"', started.text)
    assert secret
    assert pending
    params = totp.TotpParams(secret=secret.group(1).replace(" ", ""))
    confirmed = await provider.browser.post(
        "/account/totp/confirm",
        data={
            "csrf": csrf_of(started.text),
            "pending": pending.group(1),
            "code": totp.totp(params, provider.clock()),
        },
    )
    assert confirmed.status_code == 303
    app = await factor_of(provider, user.id, "totp")
    assert app.data["hold_acr"] == ACR_1FA
    _, challenge = pkce_pair()
    asked = await provider.browser.get(
        "/authorize", params=code_request(challenge, acr_values=ACR_2FA)
    )
    assert rp_params(asked)["error"] == "unmet_authentication_requirements"


async def test_binding_hold_zero_turns_the_hold_off(tmp_path: Path, outbox_path: Path) -> None:
    async with running_provider(tmp_path, account={"binding_hold": 0}) as provider:
        user = await provider.create_user()
        await sign_in_with_password(provider.browser)
        response, _ = await add_passkey(provider, user.id)
        assert response.status_code == 200
        factor = await provider.store.get_factor(response.json()["factor"])
        assert "hold_until" not in factor.data


async def test_alice_with_password_and_totp_adds_a_passkey_without_hold(
    provider: Provider,
) -> None:
    """A session at the binding level (password + TOTP) binds a passkey that counts at
    once: it reaches phr and approves bound details."""
    user = await provider.create_user()
    params = totp.TotpParams(secret=totp.generate_secret())
    await provider.store.add_factor(
        user.id, "totp", params.to_data(), label="app", now=provider.clock()
    )
    await sign_in_with_password(provider.browser)
    response, _ = await add_passkey(provider, user.id)
    assert response.status_code == 401
    provider.clock.advance(30)
    await reauth(provider.browser, "totp", code=totp.totp(params, provider.clock()))
    response, authenticator = await add_passkey(provider, user.id)
    assert response.status_code == 200
    factor = await provider.store.get_factor(response.json()["factor"])
    assert "hold_until" not in factor.data
    assert await _phr_with_passkey(provider, authenticator) == PHR


# --------------------------------------------------------------------------- recovery
async def test_recovery_path_binds_a_held_replacement(provider: Provider) -> None:
    """Strongest factor lost: password + recovery code may add a replacement passkey (only
    add), held at 2fa — the level of that session — until the hold ends."""
    victim = await make_victim(provider)
    old = await factor_of(provider, victim.user.id, "webauthn")
    await sign_in_with_password(provider.browser)
    await reauth(provider.browser, "recovery", recovery=True, recovery_code=victim.codes[0])
    assert sent_to_step_up(await post_form(provider.browser, f"/account/factors/{old.id}/remove"))
    assert sent_to_step_up(await post_form(provider.browser, "/account/recovery"))
    new = "a replacement password"
    changed = await post_form(
        provider.browser, "/account/password", new_password=new, confirm_password=new
    )
    assert sent_to_step_up(changed)
    response, replacement = await add_passkey(provider, victim.user.id)
    assert response.status_code == 200, response.text
    factor = await provider.store.get_factor(response.json()["factor"])
    assert factor.data["hold_reason"] == "recovery"
    assert factor.data["hold_acr"] == ACR_2FA
    assert "added during account recovery" in await account_page(provider.browser)
    assert "added during account recovery" in outbox()[-1]
    # the replacement approves no bound payment during the hold
    _, request_uri = await push_details(provider, THEFT)
    shown = await open_interaction(provider.browser, front(request_uri))
    assert "added during account recovery" in shown.text
    assert refused(await use_passkey(provider.browser, shown, replacement))
    assert await provider.store.get_factor(old.id) is not None


async def test_recovery_code_alone_binds_nothing(provider: Provider) -> None:
    """The recovery variant needs the password as well: a stale password plus a code is
    sent back for the password."""
    victim = await make_victim(provider)
    await sign_in_with_password(provider.browser)
    provider.clock.advance(301)
    response = await reauth(
        provider.browser, "recovery", recovery=True, recovery_code=victim.codes[0]
    )
    assert "mode=recovery" in response.headers["location"]
    added, _ = await add_passkey(provider, victim.user.id)
    assert added.status_code == 401
