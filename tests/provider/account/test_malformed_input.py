"""Malformed input on /account and /account/reauth answers cleanly: no 500, no counted
attempt (RFC 6238 §4 codes are ASCII digits; RFC 8259 §9 nesting limits)."""

from __future__ import annotations

import json

from stepauth.provider import throttle
from stepauth.provider.factors import recovery, totp
from tests.helpers.account_pages import account_page, csrf_of, error_of, reauth, sign_in
from tests.helpers.harness import Provider

BOMB = "[" * 1000 + "]" * 1000


async def _enrol_totp(provider: Provider, user_id: str) -> totp.TotpParams:
    params = totp.TotpParams(secret=totp.generate_secret())
    await provider.store.add_factor(
        user_id, "totp", params.to_data(), label="phone", now=provider.clock()
    )
    return params


async def test_full_width_totp_codes_do_not_lock_the_totp(provider: Provider) -> None:
    """``１２３４５６`` and ``١٢٣٤٥٦`` pass ``str.isdigit``: five of them must not block the
    authenticator app, and the right code still works afterwards."""
    user = await sign_in(provider)
    params = await _enrol_totp(provider, user.id)
    provider.clock.advance(301)
    for code in ("１２３４５６", "١٢٣٤٥٦", "１２３４５６", "١٢٣٤٥٦", "１２３ ４５６", "12345６"):
        refused = await reauth(provider.browser, "totp", expect=400, code=code)
        assert error_of(refused.text) == throttle.GENERIC_FAILURE
    state = await provider.store.failure_state(user.id, "totp")
    assert state.count == 0
    assert state.blocked_until is None
    await reauth(provider.browser, "totp", code=totp.totp(params, provider.clock()))


async def test_malformed_recovery_codes_are_not_attempts(provider: Provider) -> None:
    user = await sign_in(provider)
    codes, data = await recovery.issue_codes(
        provider.store, user_id=user.id, pepper=recovery.pepper_from_env()
    )
    await provider.store.add_factor(user.id, "recovery", data, label="codes", now=provider.clock())
    provider.clock.advance(301)
    for code in ("ＡＢＣＤ-ＥＦＧＨ-ＪＫＭＮ-ＰＱＲＳ", "not a code", "1" * 15):
        await reauth(provider.browser, "recovery", expect=400, recovery=True, recovery_code=code)
    assert (await provider.store.failure_state(user.id, "recovery")).count == 0
    await reauth(provider.browser, "recovery", recovery=True, recovery_code=codes[0])


async def test_non_ascii_csrf_on_account_forms_is_forbidden_not_500(provider: Provider) -> None:
    """``hmac.compare_digest`` raises TypeError on non-ASCII str: the forms compare bytes."""
    page = await provider.browser.get("/account/reauth", params={"next": "/account"})
    assert page.status_code == 200
    for csrf in ("é" * 64, "\u00e9", "１２３"):
        response = await provider.browser.post(
            "/account/reauth", data={"csrf": csrf, "factor": "password"}
        )
        assert response.status_code == 403, response.text[:300]
    response = await provider.browser.post(
        "/account/reauth/webauthn", content=json.dumps({"csrf": "\ud800é"}).encode()
    )
    assert response.status_code == 403, response.text[:300]


async def test_deeply_nested_json_on_passkey_routes_is_refused(provider: Provider) -> None:
    """A thousand nested arrays would raise RecursionError in ``json.loads``."""
    await sign_in(provider)
    csrf = csrf_of(await account_page(provider.browser))
    for path in (
        "/account/webauthn/options",
        "/account/webauthn/register",
        "/account/reauth/webauthn",
    ):
        response = await provider.browser.post(
            path, content=BOMB, headers={"content-type": "application/json"}
        )
        assert response.status_code in (400, 401, 403), (path, response.status_code)
        assert "Traceback" not in response.text
    credential = '{"id": ' + BOMB + "}"
    response = await provider.browser.post(
        "/account/webauthn/register",
        json={"csrf": csrf, "ceremony": "x", "credential": credential},
    )
    assert response.status_code < 500, response.text[:300]
    page = await provider.browser.get("/account/reauth", params={"next": "/account"})
    response = await provider.browser.post(
        "/account/reauth?next=/account",
        data={"csrf": csrf_of(page.text), "factor": "webauthn", "credential": credential},
    )
    assert response.status_code < 500, response.text[:300]
