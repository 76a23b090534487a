"""Passkey and security-key registration on /account (WebAuthn L3 §7.1, §5.4.7)."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from stepauth.cli.users_factors import confirm_factor
from stepauth.provider.factors.webauthn.attestation import MetadataEntry, TrustStore
from tests.helpers.account_pages import account_page, csrf_of, outbox, sign_in
from tests.helpers.harness import ISSUER, Provider
from tests.helpers.soft_authenticator import SoftAuthenticator, make_test_ca

RP_ID = "localhost"


def _bytes(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def _options(provider: Provider, csrf: str, kind: str) -> dict[str, Any]:
    response = await provider.browser.post(
        "/account/webauthn/options", json={"csrf": csrf, "type": kind}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _register(
    provider: Provider, csrf: str, ceremony: str, credential: dict[str, Any], label: str = ""
) -> Any:
    return await provider.browser.post(
        "/account/webauthn/register",
        json={"csrf": csrf, "ceremony": ceremony, "credential": credential, "label": label},
    )


async def test_add_passkey(provider: Provider) -> None:
    user = await sign_in(provider)
    csrf = csrf_of(await account_page(provider.browser))
    started = await _options(provider, csrf, "passkey")
    options = started["publicKey"]
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["attestation"] == "none"
    assert _bytes(options["user"]["id"]) == user.id.encode()
    authenticator = SoftAuthenticator(
        rp_id=RP_ID, origin=ISSUER, backup_eligible=True, backup_state=True
    )
    credential = authenticator.create(_bytes(options["challenge"]))
    response = await _register(provider, csrf, started["ceremony"], credential, "Laptop")
    assert response.status_code == 200, response.text
    (factor,) = await provider.store.list_factors(user.id)
    assert factor.kind == "webauthn"
    assert factor.label == "Laptop"
    assert factor.data["type"] == "passkey"
    assert factor.data["backup_eligible"] is True
    assert factor.data["attestation_trusted"] is False
    assert factor.credential_id == credential["rawId"]
    assert "A sign-in method was added to your account: passkey." in outbox()[-1]
    # the challenge was single use
    again = await _register(provider, csrf, started["ceremony"], credential)
    assert again.status_code == 400


async def test_passkey_registration_needs_a_fresh_step_up(provider: Provider) -> None:
    await sign_in(provider)
    csrf = csrf_of(await account_page(provider.browser))
    provider.clock.advance(301)
    response = await provider.browser.post(
        "/account/webauthn/options", json={"csrf": csrf, "type": "passkey"}
    )
    assert response.status_code == 401
    assert response.json()["reauth"].startswith("/account/reauth")


async def test_passkey_registration_needs_csrf(provider: Provider) -> None:
    await sign_in(provider)
    response = await provider.browser.post("/account/webauthn/options", json={"type": "passkey"})
    assert response.status_code == 403


async def test_registration_for_a_wrong_origin_is_refused(provider: Provider) -> None:
    user = await sign_in(provider)
    csrf = csrf_of(await account_page(provider.browser))
    started = await _options(provider, csrf, "passkey")
    authenticator = SoftAuthenticator(rp_id=RP_ID, origin="https://evil.example")
    credential = authenticator.create(_bytes(started["publicKey"]["challenge"]))
    response = await _register(provider, csrf, started["ceremony"], credential)
    assert response.status_code == 400
    assert await provider.store.list_factors(user.id) == []


async def test_registration_without_user_verification_is_refused(provider: Provider) -> None:
    user = await sign_in(provider)
    csrf = csrf_of(await account_page(provider.browser))
    started = await _options(provider, csrf, "passkey")
    authenticator = SoftAuthenticator(rp_id=RP_ID, origin=ISSUER, user_verified=False)
    credential = authenticator.create(_bytes(started["publicKey"]["challenge"]))
    response = await _register(provider, csrf, started["ceremony"], credential)
    assert response.status_code == 400
    assert await provider.store.list_factors(user.id) == []


async def test_security_key_with_trusted_attestation(provider: Provider) -> None:
    """``direct`` attestation whose chain reaches a configured root: attestation_trusted."""
    user = await sign_in(provider)
    authenticator = SoftAuthenticator(rp_id=RP_ID, origin=ISSUER)
    authenticator.ca = make_test_ca(authenticator.aaguid)
    aaguid = str(uuid.UUID(bytes=authenticator.aaguid))
    provider.state.trust = TrustStore(
        [MetadataEntry(aaguid=aaguid, root_certificates=(authenticator.ca.root,))]
    )
    csrf = csrf_of(await account_page(provider.browser))
    started = await _options(provider, csrf, "security-key")
    assert started["publicKey"]["attestation"] == "direct"
    credential = authenticator.create(
        _bytes(started["publicKey"]["challenge"]), attestation="packed"
    )
    response = await _register(provider, csrf, started["ceremony"], credential)
    assert response.status_code == 200, response.text
    (factor,) = await provider.store.list_factors(user.id)
    assert factor.data["type"] == "security-key"
    assert factor.data["attestation_trusted"] is True
    assert "A sign-in method was added to your account: security key." in outbox()[-1]


async def test_security_key_without_trust_store_stays_untrusted(provider: Provider) -> None:
    user = await sign_in(provider)
    authenticator = SoftAuthenticator(rp_id=RP_ID, origin=ISSUER)
    authenticator.ca = make_test_ca(authenticator.aaguid)
    csrf = csrf_of(await account_page(provider.browser))
    started = await _options(provider, csrf, "security-key")
    credential = authenticator.create(
        _bytes(started["publicKey"]["challenge"]), attestation="packed"
    )
    response = await _register(provider, csrf, started["ceremony"], credential)
    assert response.status_code == 200, response.text
    (factor,) = await provider.store.list_factors(user.id)
    assert factor.data["attestation_trusted"] is False


async def test_duplicate_credential_is_refused(provider: Provider) -> None:
    """WebAuthn L3 §7.1 step 26: a credential ID registered before (here by another user)
    is refused."""
    await sign_in(provider)
    authenticator = SoftAuthenticator(rp_id=RP_ID, origin=ISSUER)
    other = await provider.create_user("bob", "another password 123")
    await provider.store.add_factor(
        other.id,
        "webauthn",
        {"credential_id": base64.urlsafe_b64encode(authenticator.credential_id).decode()},
        label="bob",
        credential_id=base64.urlsafe_b64encode(authenticator.credential_id).rstrip(b"=").decode(),
        now=provider.clock(),
    )
    csrf = csrf_of(await account_page(provider.browser))
    started = await _options(provider, csrf, "passkey")
    credential = authenticator.create(_bytes(started["publicKey"]["challenge"]))
    response = await _register(provider, csrf, started["ceremony"], credential)
    assert response.status_code == 400


async def test_stale_session_steps_up_with_the_passkey(provider: Provider) -> None:
    """ASVS 5.0 7.5.1 with a phishing-resistant factor: once the passkey counts (its hold
    ended by the operator), /account/reauth asks for the passkey only — the account's
    binding level is phr — and the change goes through; the step-up is audited phr."""
    user = await sign_in(provider)
    authenticator = SoftAuthenticator(rp_id=RP_ID, origin=ISSUER, user_handle=user.id.encode())
    csrf = csrf_of(await account_page(provider.browser))
    started = await _options(provider, csrf, "passkey")
    created = authenticator.create(_bytes(started["publicKey"]["challenge"]))
    added = await _register(provider, csrf, started["ceremony"], created)
    assert added.status_code == 200
    assert "is on hold until" in await account_page(provider.browser)
    await confirm_factor(provider.store, user, added.json()["factor"])
    assert "is on hold until" not in await account_page(provider.browser)
    provider.clock.advance(301)
    stale = await provider.browser.post("/account/recovery", data={"csrf": csrf})
    assert stale.status_code == 303
    page = await provider.browser.get(stale.headers["location"])
    assert "Use passkey" in page.text
    assert 'data-factor="password"' not in page.text
    options = await provider.browser.post(
        "/account/reauth/webauthn", json={"csrf": csrf_of(page.text)}
    )
    assert options.status_code == 200, options.text
    public_key = options.json()["publicKey"]
    assert public_key["userVerification"] == "required"
    assert public_key["allowCredentials"][0]["id"] == created["rawId"]
    assertion = authenticator.get(_bytes(public_key["challenge"]))
    form = {"csrf": csrf_of(page.text), "factor": "webauthn", "credential": json.dumps(assertion)}

    response = await provider.browser.post(
        "/account/reauth?next=/account",
        data=form,
    )
    assert response.status_code == 303, response.text[:400]
    fresh = await provider.browser.post("/account/recovery", data={"csrf": csrf})
    assert fresh.status_code == 200
    step_up = [e for e in await provider.store.tail_audit(50) if e["event"] == "step_up"][-1]
    assert step_up["acr_after"] == "phr"
    assert step_up["method"][0] == "pop"
    # the assertion was single use
    replay = await provider.browser.post(
        "/account/reauth?next=/account",
        data=form,
    )
    assert replay.status_code == 400


async def test_added_key_is_confirmed_with_a_way_back_to_a_registered_app(
    provider: Provider,
) -> None:
    """After **Add passkey** the page says the key was added; ``?return_to=<client_id>``
    links back to that client's registered origin, and to nothing it was not given (an
    unknown client or a URL in the query: no open redirect, RFC 9700 §4.11)."""
    from urllib.parse import urlsplit

    from tests.helpers.harness import CONFIDENTIAL, REDIRECT_URI

    await sign_in(provider)
    csrf = csrf_of(await account_page(provider.browser))
    started = await _options(provider, csrf, "passkey")
    authenticator = SoftAuthenticator(rp_id=RP_ID, origin=ISSUER)
    credential = authenticator.create(_bytes(started["publicKey"]["challenge"]))
    response = await _register(provider, csrf, started["ceremony"], credential, "Laptop")
    assert response.status_code == 200, response.text
    redirect = response.json()["redirect"]
    assert redirect == f"/account?added={response.json()['factor']}"

    page = await provider.browser.get(f"{redirect}&return_to={CONFIDENTIAL}")
    added = page.text[page.text.index('id="factor-added"') :]
    assert added.startswith('id="factor-added">Added “Laptop”.'), added[:300]
    # A password-only account binds at one factor: the page says the key is on hold.
    assert "(Laptop) is on hold until" in added[: added.index("</p>")]
    origin = "{0.scheme}://{0.netloc}/".format(urlsplit(REDIRECT_URI))
    assert f'<a href="{origin}">Back to {CONFIDENTIAL}</a>' in page.text

    for return_to in ("unknown-client", "https://evil.example/"):
        page = await provider.browser.get("/account", params={"return_to": return_to})
        assert page.status_code == 200
        assert "Back to" not in page.text
        assert "evil.example" not in page.text
    other = await provider.browser.get("/account", params={"added": "not-a-factor-of-hers"})
    assert 'id="factor-added"' not in other.text
