"""Binding an authenticator needs authentication at the level it will be used at
(NIST SP 800-63B-4 §6.1.2.1): changes on /account need a step-up at the account's binding
level; factors bound below it (recovery) or by a password-only account are on hold; every
change carries a single-use "this wasn't me" link. Each test goes through HTTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from stepauth.cli.users_factors import confirm_factor
from stepauth.provider.account.not_me import link_ttl
from stepauth.provider.factors import recovery, totp
from tests.helpers.bank import BANK, PHR, bank_client, code_request, front, push_details
from tests.helpers.frontchannel import open_interaction, page
from tests.helpers.harness import (
    PASSWORD,
    USERNAME,
    Provider,
    check_id_token,
    config_data,
    pkce_pair,
    running_provider,
)
from tests.helpers.passkeys import enrol_passkey, refused, rp_params, use_passkey
from tests.helpers.soft_authenticator import SoftAuthenticator
from tests.provider.account.conftest import (
    account_page,
    add_passkey,
    csrf_of,
    outbox,
    reauth,
    reauth_passkey,
)

ACR_1FA = "urn:stepauth:acr:1fa"
ACR_2FA = "urn:stepauth:acr:2fa"
HOLD = 86400
#: The attacker's payment: €9,000 to their own IBAN.
THEFT = [
    {
        "type": "payment_initiation",
        "instructedAmount": {"currency": "EUR", "amount": "9000.00"},
        "creditorName": "M. Allory",
        "creditorAccount": {"iban": "DE89370400440532013000"},
    }
]


@pytest.fixture
async def provider(tmp_path: Path, outbox_path: Path) -> AsyncIterator[Provider]:
    """The test Provider, with the bank's client (it pushes authorization_details)."""
    clients = [*config_data(tmp_path / "stepauth.db")["clients"], bank_client()]
    async with running_provider(tmp_path, clients=clients) as running:
        yield running


@dataclass
class Victim:
    user: Any
    passkey: SoftAuthenticator
    totp: totp.TotpParams
    codes: list[str]


async def _victim(provider: Provider) -> Victim:
    """alice: password, a passkey, an authenticator app and recovery codes (binding: phr)."""
    user = await provider.create_user()
    passkey = await enrol_passkey(provider, user.id)
    params = totp.TotpParams(secret=totp.generate_secret())
    store = provider.store
    await store.add_factor(user.id, "totp", params.to_data(), label="phone", now=provider.clock())
    codes, data = await recovery.issue_codes(
        store, user_id=user.id, pepper=recovery.pepper_from_env()
    )
    await store.add_factor(user.id, "recovery", data, label="codes", now=provider.clock())
    return Victim(user, passkey, params, codes)


async def _password(browser: httpx.AsyncClient) -> None:
    """Sign in on /account with the password alone."""
    await reauth(browser, "password", username=USERNAME, password=PASSWORD)


async def _factors(provider: Provider, user_id: str) -> dict[str, Any]:
    return {f.id: f for f in await provider.store.list_factors(user_id)}


async def _factor(provider: Provider, user_id: str, kind: str) -> Any:
    return next(f for f in await provider.store.list_factors(user_id) if f.kind == kind)


async def _post(browser: httpx.AsyncClient, path: str, **form: str) -> httpx.Response:
    csrf = csrf_of(await account_page(browser))
    return await browser.post(path, data={"csrf": csrf, **form})


def _sent_to_step_up(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith(
        "/account/reauth"
    )


def _kinds(html: str) -> list[str]:
    return re.findall(r'class="factor" data-factor="([a-z]+)"', html)


# --------------------------------------------------------------------------- passkey account
async def test_password_only_session_cannot_add_passkey(provider: Provider) -> None:
    victim = await _victim(provider)
    await _password(provider.browser)
    response, _ = await add_passkey(provider, victim.user.id)
    assert response.status_code == 401
    assert response.json()["reauth"].startswith("/account/reauth")
    assert len(await _factors(provider, victim.user.id)) == 3


async def test_password_only_session_cannot_remove_passkey(provider: Provider) -> None:
    victim = await _victim(provider)
    passkey = await _factor(provider, victim.user.id, "webauthn")
    await _password(provider.browser)
    response = await _post(provider.browser, f"/account/factors/{passkey.id}/remove")
    assert _sent_to_step_up(response)
    assert await provider.store.get_factor(passkey.id) is not None
    renamed = await _post(provider.browser, f"/account/factors/{passkey.id}/rename", label="x")
    assert _sent_to_step_up(renamed)
    assert (await _factor(provider, victim.user.id, "webauthn")).label == "passkey"


async def test_password_only_session_cannot_remove_totp(provider: Provider) -> None:
    victim = await _victim(provider)
    app = await _factor(provider, victim.user.id, "totp")
    await _password(provider.browser)
    assert _sent_to_step_up(await _post(provider.browser, f"/account/factors/{app.id}/remove"))
    assert await provider.store.get_factor(app.id) is not None


async def test_password_only_session_cannot_add_totp(provider: Provider) -> None:
    victim = await _victim(provider)
    await _password(provider.browser)
    assert _sent_to_step_up(await _post(provider.browser, "/account/totp"))
    assert len(await _factors(provider, victim.user.id)) == 3


async def test_password_only_session_cannot_regenerate_recovery_codes(provider: Provider) -> None:
    victim = await _victim(provider)
    before = (await _factor(provider, victim.user.id, "recovery")).data
    await _password(provider.browser)
    assert _sent_to_step_up(await _post(provider.browser, "/account/recovery"))
    assert (await _factor(provider, victim.user.id, "recovery")).data == before


async def test_password_only_session_cannot_change_password_of_a_passkey_account(
    provider: Provider,
) -> None:
    victim = await _victim(provider)
    await _password(provider.browser)
    new = "the attacker's new password"
    response = await _post(
        provider.browser, "/account/password", new_password=new, confirm_password=new
    )
    assert _sent_to_step_up(response)
    stored = await provider.store.get_user(victim.user.id)
    assert stored.password_hash == victim.user.password_hash


async def test_password_and_totp_do_not_reach_a_passkey_binding_level(provider: Provider) -> None:
    """Two factors are still below phr: the passkey cannot be removed with them."""
    victim = await _victim(provider)
    passkey = await _factor(provider, victim.user.id, "webauthn")
    await _password(provider.browser)
    provider.clock.advance(30)
    page_html = (await provider.browser.get("/account/reauth")).text
    assert _kinds(page_html) == ["webauthn"]  # the code form is not even offered
    assert _sent_to_step_up(await _post(provider.browser, f"/account/factors/{passkey.id}/remove"))


async def test_reauth_offers_only_factors_that_reach_the_binding_level(provider: Provider) -> None:
    """As the sign-in page does with the login policy's Needs: a passkey account is asked
    for its passkey (never its password or app), with a link to the recovery variant; a
    password + TOTP account for both, then, with the password fresh, for the code only."""
    await _victim(provider)
    await _password(provider.browser)
    shown = (await provider.browser.get("/account/reauth", params={"next": "/account"})).text
    assert _kinds(shown) == ["webauthn"]
    assert "mode=recovery" in shown
    variant = await provider.browser.get("/account/reauth", params={"mode": "recovery"})
    assert sorted(_kinds(variant.text)) == ["password", "recovery"]

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
    assert _kinds((await browser.get("/account/reauth")).text) == ["totp"]
    provider.clock.advance(301)
    assert sorted(_kinds((await browser.get("/account/reauth")).text)) == ["password", "totp"]


async def test_passkey_step_up_allows_changes_and_audits_before_and_after(
    provider: Provider,
) -> None:
    victim = await _victim(provider)
    app = await _factor(provider, victim.user.id, "totp")
    await _password(provider.browser)
    await reauth_passkey(provider.browser, victim.passkey)
    response = await _post(provider.browser, f"/account/factors/{app.id}/remove")
    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    assert await provider.store.get_factor(app.id) is None
    (change,) = [e for e in await provider.store.tail_audit(50) if e["event"] == "factor_change"]
    assert change["action"] == "remove"
    assert change["binding_before"] == change["binding_after"] == PHR
    assert f"totp:{app.id}" in change["factors_before"]
    assert f"totp:{app.id}" not in change["factors_after"]


# --------------------------------------------------------------------------- hold
async def _bob_adds_a_passkey(provider: Provider) -> tuple[Any, Any, SoftAuthenticator]:
    """A password-only account adds a passkey over HTTP: (user, factor, authenticator)."""
    user = await provider.create_user()
    await _password(provider.browser)
    response, authenticator = await add_passkey(provider, user.id)
    assert response.status_code == 200, response.text
    factor = await provider.store.get_factor(response.json()["factor"])
    return user, factor, authenticator


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
    _, factor, authenticator = await _bob_adds_a_passkey(provider)
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
    _, _, authenticator = await _bob_adds_a_passkey(provider)
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
    _, _, authenticator = await _bob_adds_a_passkey(provider)
    provider.clock.advance(HOLD - 60)
    assert rp_params(await _sign_in_with_passkey(provider, authenticator))["error"] == (
        "unmet_authentication_requirements"
    )
    provider.clock.advance(61)
    assert await _phr_with_passkey(provider, authenticator) == PHR
    browser = provider.new_browser()
    await _password(browser)
    assert "is on hold" not in await account_page(browser)


async def test_confirm_factor_ends_the_hold(provider: Provider) -> None:
    user, factor, authenticator = await _bob_adds_a_passkey(provider)
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
    await _password(provider.browser)
    started = await _post(provider.browser, "/account/totp")
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
    app = await _factor(provider, user.id, "totp")
    assert app.data["hold_acr"] == ACR_1FA
    _, challenge = pkce_pair()
    asked = await provider.browser.get(
        "/authorize", params=code_request(challenge, acr_values=ACR_2FA)
    )
    assert rp_params(asked)["error"] == "unmet_authentication_requirements"


async def test_binding_hold_zero_turns_the_hold_off(tmp_path: Path, outbox_path: Path) -> None:
    async with running_provider(tmp_path, account={"binding_hold": 0}) as provider:
        user = await provider.create_user()
        await _password(provider.browser)
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
    await _password(provider.browser)
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
    victim = await _victim(provider)
    old = await _factor(provider, victim.user.id, "webauthn")
    await _password(provider.browser)
    await reauth(provider.browser, "recovery", recovery=True, recovery_code=victim.codes[0])
    assert _sent_to_step_up(await _post(provider.browser, f"/account/factors/{old.id}/remove"))
    assert _sent_to_step_up(await _post(provider.browser, "/account/recovery"))
    new = "a replacement password"
    changed = await _post(
        provider.browser, "/account/password", new_password=new, confirm_password=new
    )
    assert _sent_to_step_up(changed)
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
    victim = await _victim(provider)
    await _password(provider.browser)
    provider.clock.advance(301)
    response = await reauth(
        provider.browser, "recovery", recovery=True, recovery_code=victim.codes[0]
    )
    assert "mode=recovery" in response.headers["location"]
    added, _ = await add_passkey(provider, victim.user.id)
    assert added.status_code == 401


# --------------------------------------------------------------------------- this wasn't me
def _link(message: str) -> str:
    match = re.search(r"(https?://\S+/account/not-me\?token=\S+)", message)
    assert match, message
    parts = urlsplit(match.group(1))
    return f"{parts.path}?{parts.query}"


async def _tokens(provider: Provider, browser: httpx.AsyncClient) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    result = await provider.authorize(
        browser=browser, code_challenge=challenge, scope="openid offline_access"
    )
    return await provider.exchange(result.code, verifier)


async def test_this_wasnt_me_link_disables_the_factor_ends_sessions_revokes_tokens(
    provider: Provider,
) -> None:
    user, factor, _ = await _bob_adds_a_passkey(provider)
    other = provider.new_browser()
    await _password(other)
    issued = await _tokens(provider, provider.browser)
    link = _link(outbox()[-1])
    mail = provider.new_browser()
    shown = await mail.get(link)
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"
    assert "switch off the passkey" in shown.text
    assert not (await provider.store.get_factor(factor.id)).disabled  # a GET changes nothing
    token = re.search(r'name="token" value="([^"]+)"', shown.text)
    assert token
    done = await mail.post("/account/not-me", data={"token": token.group(1)})
    assert done.status_code == 200
    assert "not-me-done" in done.text
    assert (await provider.store.get_factor(factor.id)).disabled
    for browser in (provider.browser, other):
        assert (await browser.get("/account")).status_code == 303
    assert await provider.introspect(issued["access_token"]) == {"active": False}
    refresh = await provider.token(
        {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
    )
    assert refresh.json()["error"] == "invalid_grant"
    again = await mail.post("/account/not-me", data={"token": token.group(1)})
    assert again.status_code == 400  # single use
    audit = [e for e in await provider.store.tail_audit(50) if e["event"] == "factor_change"]
    assert audit[-1]["action"] == "not_me"
    assert audit[-1]["user_id"] == user.id


async def test_this_wasnt_me_link_expires(provider: Provider) -> None:
    _, factor, _ = await _bob_adds_a_passkey(provider)
    token = _link(outbox()[-1]).split("token=", 1)[1]
    provider.clock.advance(link_ttl(provider.state.config) + 1)
    expired = await provider.new_browser().post("/account/not-me", data={"token": token})
    assert expired.status_code == 400
    assert not (await provider.store.get_factor(factor.id)).disabled
    unknown = await provider.new_browser().post("/account/not-me", data={"token": "x" * 43})
    assert unknown.status_code == 400


async def test_this_wasnt_me_link_stores_only_a_hash(provider: Provider) -> None:
    await _bob_adds_a_passkey(provider)
    token = _link(outbox()[-1]).split("token=", 1)[1]
    assert await provider.store.get("not_me", token, now=provider.clock()) is None


# --------------------------------------------------------------------------- the attack
async def test_attacker_with_only_the_password_cannot_take_over_a_passkey_account(
    provider: Provider,
) -> None:
    """The reproduced attack, end to end: knowing only alice's password, the attacker
    signs in, tries to add their passkey, remove alice's passkey and app, add their own
    app, regenerate the recovery codes, change the password and approve a bound €9,000
    payment to their IBAN. Every step is refused; alice's factors are intact."""
    victim = await _victim(provider)
    before = {
        f.id: (f.kind, f.label, f.data) for f in await provider.store.list_factors(victim.user.id)
    }
    attacker = provider.browser
    await _password(attacker)

    added, theirs = await add_passkey(provider, victim.user.id)
    assert added.status_code == 401
    step_up = (await attacker.get(added.json()["reauth"])).text
    assert _kinds(step_up) == ["webauthn"]  # only alice's passkey would do
    for factor_id, (kind, _, _) in before.items():
        if kind in ("webauthn", "totp"):
            removed = await _post(attacker, f"/account/factors/{factor_id}/remove")
            assert _sent_to_step_up(removed)
    assert _sent_to_step_up(await _post(attacker, "/account/totp"))
    assert _sent_to_step_up(await _post(attacker, "/account/recovery"))
    new = "the attacker's password"
    assert _sent_to_step_up(
        await _post(attacker, "/account/password", new_password=new, confirm_password=new)
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
