"""Passkey step-up on the interaction page, with real assertions (WebAuthn L3 §7.2).

The Provider runs in-process; the software authenticator signs with a real P-256 key, so
every check of the verifier runs on what it produces.
"""

from __future__ import annotations

import json
from typing import Any

from tests.helpers.frontchannel import (
    Page,
    open_interaction,
    query,
    session_cookie,
    sign_in,
    submit,
)
from tests.helpers.harness import (
    PUBLIC,
    USERNAME,
    Provider,
    check_id_token,
    pkce_pair,
    provider,
)
from tests.helpers.passkeys import (
    enrol_passkey,
    passkey_options,
    refused,
    rp_params,
    unb64url,
    use_passkey,
    use_passkeys,
)
from tests.helpers.soft_authenticator import SoftAuthenticator

__all__ = ["provider"]

PHR = "phr"


async def _claims(provider: Provider, params: dict[str, str], verifier: str) -> dict[str, Any]:
    body = await provider.exchange(params["code"], verifier, client_id=PUBLIC, secret=None)
    return await check_id_token(provider, body["id_token"], client_id=PUBLIC, nonce="n")


def _request(**extra: str) -> tuple[str, dict[str, str]]:
    verifier, challenge = pkce_pair()
    return verifier, query(code_challenge=challenge, nonce="n", **extra)


async def _password_session(provider: Provider) -> dict[str, Any]:
    verifier, params = _request()
    return await _claims(provider, await sign_in(provider.browser, params), verifier)


async def _at_the_passkey_step(provider: Provider) -> tuple[Any, SoftAuthenticator, Page]:
    """alice with a passkey and a password session, shown the phr step-up: alice, her
    passkey and the page."""
    use_passkeys(provider)
    alice = await provider.store.get_user_by_username(USERNAME)
    authenticator = await enrol_passkey(provider, alice.id)
    await _password_session(provider)
    _, params = _request(acr_values=PHR)
    return alice, authenticator, await open_interaction(provider.browser, params)


async def test_passkey_step_up_from_password_session_reaches_phr(provider: Provider) -> None:
    """WebAuthn L3 §5.8.6, §5.5: a password session asked for phr is offered the
    passkey only (one button), reaches phr, auth_time moves, the session id rotates and
    the subject stays the same."""
    use_passkeys(provider)
    alice = await provider.store.get_user_by_username(USERNAME)
    authenticator = await enrol_passkey(provider, alice.id)
    before = await _password_session(provider)
    assert before["acr"] != PHR
    cookie = session_cookie(provider.browser)
    provider.clock.advance(120)

    verifier, params = _request(acr_values=PHR)
    shown = await open_interaction(provider.browser, params)
    assert shown.kinds() == ["webauthn"]
    assert shown.buttons == ["Use passkey"]
    assert shown.reasons() == ["acr_not_met"]
    assert '<script src="/static/webauthn.js" defer>' in shown.text
    options = await passkey_options(provider.browser, shown)
    assert options["userVerification"] == "required"
    assert [c["id"] for c in options["allowCredentials"]] == [
        webauthn_id(authenticator.credential_id)
    ]
    assert len(unb64url(options["challenge"])) >= 16
    credential = authenticator.get(unb64url(options["challenge"]))
    response = await submit(provider.browser, shown, "webauthn", credential=json.dumps(credential))
    after = await _claims(provider, rp_params(response), verifier)

    assert after["acr"] == PHR
    assert "pop" in after["amr"]
    assert "pwd" not in after["amr"]
    assert after["auth_time"] > before["auth_time"]
    assert after["sub"] == before["sub"]
    assert session_cookie(provider.browser) not in (None, cookie)


def webauthn_id(raw: bytes) -> str:
    from stepauth.provider.factors.webauthn import b64url

    return b64url(raw)


async def test_passkey_signs_in_as_first_factor(provider: Provider) -> None:
    """A discoverable passkey identifies the user (empty allowCredentials,
    userHandle required, §7.2 step 6)."""
    use_passkeys(provider)
    alice = await provider.store.get_user_by_username(USERNAME)
    authenticator = await enrol_passkey(provider, alice.id)
    verifier, params = _request(acr_values=PHR)
    shown = await open_interaction(provider.browser, params)
    assert shown.kinds()[0] == "webauthn"
    options = await passkey_options(provider.browser, shown)
    assert options.get("allowCredentials", []) == []
    credential = authenticator.get(unb64url(options["challenge"]))
    response = await submit(provider.browser, shown, "webauthn", credential=json.dumps(credential))
    claims = await _claims(provider, rp_params(response), verifier)
    assert claims["sub"] == alice.id
    assert claims["acr"] == PHR


async def test_step_up_with_uv_zero_refused(provider: Provider) -> None:
    """§5.8.6, §7.2 step 16: userVerification is required for step-up; UV=0 is refused."""
    _, authenticator, shown = await _at_the_passkey_step(provider)
    response = await use_passkey(provider.browser, shown, authenticator, uv=False)
    assert refused(response)
    assert "location" not in response.headers


async def test_assertion_replay_refused(provider: Provider) -> None:
    """§13.5.3: the challenge is single use. A second assertion over a consumed challenge,
    and a captured assertion replayed in a later step-up, are both refused."""
    _, authenticator, shown = await _at_the_passkey_step(provider)
    options = await passkey_options(provider.browser, shown)
    challenge = unb64url(options["challenge"])
    first = authenticator.get(challenge, uv=False)  # fails, and uses the challenge up
    assert refused(await submit(provider.browser, shown, "webauthn", credential=json.dumps(first)))
    second = authenticator.get(challenge)  # a valid assertion over the same challenge
    assert refused(await submit(provider.browser, shown, "webauthn", credential=json.dumps(second)))

    # Captured once it worked, replayed later: its challenge is no longer the server's.
    fresh = await use_passkey(provider.browser, shown, authenticator)
    rp_params(fresh)
    provider.clock.advance(5)
    _, again = _request(acr_values=PHR, prompt="login")
    shown = await open_interaction(provider.browser, again)
    options = await passkey_options(provider.browser, shown)
    stale = authenticator.get(challenge)
    assert refused(await submit(provider.browser, shown, "webauthn", credential=json.dumps(stale)))


async def test_another_users_credential_refused(provider: Provider) -> None:
    """§7.2 step 6: a credential registered to bob never steps up alice's session, with or
    without a userHandle, and the failure is generic (PSD2 RTS Art. 4(3)(a))."""
    use_passkeys(provider)
    alice = await provider.store.get_user_by_username(USERNAME)
    bob = await provider.create_user("bob", "bob's password is long enough")
    await enrol_passkey(provider, alice.id)
    bobs = await enrol_passkey(provider, bob.id)
    await _password_session(provider)
    _, params = _request(acr_values=PHR)
    shown = await open_interaction(provider.browser, params)
    for handle in (bob.id.encode(), None, alice.id.encode()):
        response = await use_passkey(provider.browser, shown, bobs, user_handle=handle)
        assert refused(response)
        assert "bob" not in response.text
    audit = await provider.store.tail_audit(10)
    assert any(e.get("result") == "failure" and e.get("user_id") == alice.id for e in audit)


async def test_sign_count_regression_flags_the_credential(provider: Provider) -> None:
    """§7.2 step 22: a signCount that does not advance refuses the assertion and disables the
    credential (a possible clone); it is not offered again."""
    alice, authenticator, shown = await _at_the_passkey_step(provider)
    rp_params(await use_passkey(provider.browser, shown, authenticator, sign_count=10))

    provider.clock.advance(5)
    _, again = _request(acr_values=PHR, prompt="login")
    shown = await open_interaction(provider.browser, again)
    second = await use_passkey(provider.browser, shown, authenticator, sign_count=7)
    # Refused; with its only passkey disabled nothing can reach phr, so the RP is told so.
    assert rp_params(second)["error"] == "access_denied"
    assert "code" not in rp_params(second)
    factors = [f for f in await provider.store.list_factors(alice.id) if f.kind == "webauthn"]
    assert [f.disabled for f in factors] == [True]
    audit = await provider.store.tail_audit(20)
    assert any(e.get("event") == "credential_flagged" for e in audit)
    # Flagged: it is not offered again, even to a first sign-in.
    other = provider.new_browser()
    shown = await open_interaction(other, _request(acr_values=PHR)[1])
    assert refused(await use_passkey(other, shown, authenticator, sign_count=20))


async def test_backup_eligibility_change_flags_the_credential(provider: Provider) -> None:
    """§7.2 step 18: BE must never change after registration; an assertion that flips it is
    refused and the credential is disabled."""
    alice, authenticator, shown = await _at_the_passkey_step(provider)
    response = await use_passkey(provider.browser, shown, authenticator, be=True, bs=True)
    assert "code" not in response.headers.get("location", "")
    factors = [f for f in await provider.store.list_factors(alice.id) if f.kind == "webauthn"]
    assert [f.disabled for f in factors] == [True]


async def test_trusted_security_key_reaches_phrh_untrusted_stays_phr(
    provider: Provider,
) -> None:
    """hwk (phrh) only with an attestation chain to the configured trust
    store; without one the same key is a plain passkey at most phr."""
    import os

    from stepauth.provider.factors import webauthn
    from stepauth.provider.factors.webauthn.attestation import MetadataEntry, TrustStore
    from tests.helpers.soft_authenticator import make_test_ca

    use_passkeys(provider)
    alice = await provider.store.get_user_by_username(USERNAME)
    aaguid = os.urandom(16)
    ca = make_test_ca(aaguid)
    trust = TrustStore([MetadataEntry(aaguid=aaguid.hex(), root_certificates=(ca.root,))])
    key = SoftAuthenticator(
        rp_id="localhost",
        origin="http://localhost:8080",
        user_handle=alice.id.encode(),
        aaguid=aaguid,
        ca=ca,
    )
    challenge = b"security-key-registration-challenge"
    verified = webauthn.verify_registration(
        credential=key.create(challenge, attestation="packed"),
        expected_challenge=challenge,
        expected_rp_id="localhost",
        expected_origins=["http://localhost:8080"],
        trust=trust,
    )
    assert verified.attestation_trusted
    await provider.store.add_factor(
        alice.id,
        "webauthn",
        verified.to_stored(alice.id.encode()).to_data(),
        label="security key",
        credential_id=webauthn.b64url(verified.credential_id),
        now=provider.clock(),
    )
    await _password_session(provider)

    provider.state.trust = None  # untrusted: a plain passkey
    verifier, params = _request(acr_values=PHR)
    shown = await open_interaction(provider.browser, params)
    claims = await _claims(
        provider, rp_params(await use_passkey(provider.browser, shown, key)), verifier
    )
    assert claims["acr"] == PHR
    assert "hwk" not in claims["amr"]

    provider.state.trust = trust
    provider.clock.advance(5)
    verifier, params = _request(acr_values="phrh", prompt="login")
    shown = await open_interaction(provider.browser, params)
    claims = await _claims(
        provider, rp_params(await use_passkey(provider.browser, shown, key)), verifier
    )
    assert claims["acr"] == "phrh"
    assert "hwk" in claims["amr"]
