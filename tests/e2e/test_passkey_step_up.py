"""Passkey step-up in a real browser (Debian Chromium, Playwright, DevTools virtual
authenticator) against the Provider served by uvicorn.

alice signs in with her password and an authenticator-app code, adds a passkey on
``/account`` (**Add passkey**), then an RP asks for ``phr``: the page asks for the passkey
only and one click on **Use passkey** answers (RFC 9470 §3; WebAuthn L3 §5.5
``allowCredentials``, §5.8.6 ``required``). With UV impossible the step-up fails (WebAuthn L3
§7.1 step 16); a passkey of bob's cannot step up alice's session (WebAuthn L3 §7.2 step 6); a
€1,250.00 payment pushed with PAR is shown exactly, its assertion's challenge is the hash of
those details (PSD2 RTS Art. 5(1)(b); RFC 9396 §2; SPC CollectedClientPaymentData; WebAuthn L3
§13.5.3) and the token executes that transfer once (RFC 9396 §9; ASVS 5.0 10.3.2).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import pyotp
import pytest

from stepauth.rar import canonical_json, transaction_challenge
from stepauth.sdk.sql_ledger import SQLLedger
from stepauth.sdk.transaction import TransactionError, require_transaction
from tests.conftest import add_virtual_authenticator
from tests.helpers.bank import BANK, PAYMENT, PHR
from tests.helpers.browser_provider import (
    ACR_2FA,
    RP,
    Served,
    enrol_foreign_passkey,
    goto,
    in_store,
    run,
    setup_users,
    unb64url,
    wait_for_factor,
)
from tests.helpers.harness import PASSWORD, USERNAME, decode_unverified

pytestmark = pytest.mark.browser


def _txn_record(served: Served, txn: str) -> dict[str, Any]:
    async def work(store: Any) -> dict[str, Any]:
        item = await store.get("txn_record", txn, now=time.time())
        assert item is not None, "no txn_record for the token's txn"
        return dict(item.payload)

    return in_store(served, work)


async def _execute_twice(served: Served, claims: dict[str, Any]) -> list[str]:
    """The bound action run twice with one token through the SDK's ledger."""
    ledger = SQLLedger.from_url(served.db_url.replace("stepauth.db", "rs-ledger.db"))
    await ledger.create_schema()
    outcomes: list[str] = []
    try:
        for _ in range(2):
            try:
                await require_transaction(PAYMENT, claims=claims, ledger=ledger, now=served.clock())
                outcomes.append("executed")
            except TransactionError as exc:
                outcomes.append(exc.error)
    finally:
        await ledger.close()
    return outcomes


def test_passkey_step_up_in_chromium(served: Served, chromium: Any) -> None:
    """Passkey step-up and transaction binding in one browser session (see the module docstring)."""
    alice_id, bob_id, secret = setup_users(served)
    context = chromium.new_context()
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    cdp, authenticator = add_virtual_authenticator(context, page)
    rp = RP(served, page)

    # 1. password + authenticator-app code
    verifier, url = rp.request(acr_values=ACR_2FA)
    goto(page, url)
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("One-time code").fill(pyotp.TOTP(secret).now())
    back = rp.follow(page.get_by_role("button", name="Continue").click)
    signed_in = decode_unverified(rp.redeem(back["code"], verifier)["id_token"])
    assert signed_in["acr"] == ACR_2FA
    assert signed_in["sub"] == alice_id

    # 2. add a passkey on /account
    page.goto(f"{served.issuer}/account")
    page.get_by_role("button", name="Add passkey").click()
    page.wait_for_function("() => document.body.innerText.includes('Passkey')", timeout=15_000)
    wait_for_factor(served, alice_id, "webauthn")
    held = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(held) == 1

    # 3. the RP asks for phr: the passkey only, one click
    served.clock.offset += 120
    verifier, url = rp.request(acr_values=PHR)
    goto(page, url)
    assert page.locator("form.factor").count() == 1
    assert page.locator("form.factor[data-factor=webauthn]").count() == 1
    back = rp.follow(page.get_by_role("button", name="Use passkey").click)
    stepped = decode_unverified(rp.redeem(back["code"], verifier)["id_token"])
    assert stepped["acr"] == PHR
    assert "pop" in stepped["amr"]
    assert "pwd" not in stepped["amr"]
    assert stepped["auth_time"] > signed_in["auth_time"]
    assert stepped["sub"] == alice_id

    # 4. user verification impossible: the step-up fails
    cdp.send(
        "WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": False}
    )
    served.clock.offset += 60
    callbacks = len(rp.callbacks)
    _, url = rp.request(acr_values=PHR, prompt="login")
    goto(page, url)
    page.get_by_role("button", name="Use passkey").click()
    status = page.locator("#webauthn-status")
    status.filter(has_text="could not verify").wait_for(timeout=15_000)
    assert "/interaction/" in page.url
    assert len(rp.callbacks) == callbacks
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": True})

    # 5. bob's passkey in alice's authenticator cannot step up alice's session
    # (alice's own is set aside with its current signCount: putting back an older count
    # would rightly be taken for a clone)
    held = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    cdp.send(
        "WebAuthn.addCredential",
        {"authenticatorId": authenticator, "credential": enrol_foreign_passkey(served, bob_id)},
    )
    cdp.send(
        "WebAuthn.removeCredential",
        {"authenticatorId": authenticator, "credentialId": held[0]["credentialId"]},
    )
    _, url = rp.request(acr_values=PHR, prompt="login")
    goto(page, url)
    page.get_by_role("button", name="Use passkey").click()
    page.locator("#webauthn-status").filter(has_text="could not verify").wait_for(timeout=15_000)
    assert len(rp.callbacks) == callbacks
    cdp.send("WebAuthn.clearCredentials", {"authenticatorId": authenticator})
    cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator, "credential": held[0]})

    # 6. €1,250.00 to Merchant A, pushed with PAR: shown exactly, signed exactly
    verifier, url = rp.push(PAYMENT, acr_values=PHR)
    goto(page, url)
    approving = page.locator("section[aria-labelledby=details-heading]")
    assert "EUR 1,250.00" in approving.inner_text()
    assert "Merchant A" in approving.inner_text()
    assert "DE02100100109307118603" not in page.content()
    back = rp.follow(page.get_by_role("button", name="Use passkey").click)
    assert "code" in back, back
    tokens = rp.redeem(back["code"], verifier, client_id=BANK)
    access = decode_unverified(tokens["access_token"])
    assert access["authorization_details"] == PAYMENT
    record = _txn_record(served, access["txn"])
    assert record["authorization_details"] == PAYMENT
    client_data = json.loads(unb64url(record["client_data_json"]))
    nonce = unb64url(record["nonce"])
    assert unb64url(client_data["challenge"]) == transaction_challenge(nonce, PAYMENT)
    assert (
        unb64url(client_data["challenge"])
        == hashlib.sha256(nonce + canonical_json(PAYMENT)).digest()
    )
    assert client_data["origin"] == served.issuer
    # ... and the token executes that transfer once at a resource server
    # (RFC 9396 §9; ASVS 5.0 10.3.2)
    assert run(_execute_twice(served, access)) == ["executed", "transaction_replayed"]
    assert violations == []
    context.close()


def test_sub_hinted_sign_in_without_session_uses_a_discoverable_passkey(
    served: Served, chromium: Any
) -> None:
    """An RP names alice's ``sub`` (``claims``) to a browser with no session: the page
    is the plain sign-in page (no username, no credential ID of hers), the passkey
    ceremony is discoverable, bob's passkey is refused with the generic message and
    alice's signs her in (OIDC Core §5.5.1; WebAuthn L3 §7.2 step 6)."""
    alice_id, bob_id, _ = setup_users(served)
    alices = enrol_foreign_passkey(served, alice_id)
    bobs = enrol_foreign_passkey(served, bob_id)
    context = chromium.new_context()
    page = context.new_page()
    cdp, authenticator = add_virtual_authenticator(context, page)
    cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator, "credential": bobs})
    rp = RP(served, page)
    options: list[dict[str, Any]] = []

    def read_options(route: Any) -> None:
        response = route.fetch()
        options.append(response.json())
        route.fulfill(response=response)

    page.route("**/interaction/*/webauthn", read_options)
    claims = json.dumps({"id_token": {"sub": {"value": alice_id}}})

    verifier, url = rp.request(acr_values=PHR, claims=claims)
    page.goto(url)
    html = page.content()
    assert page.get_by_role("heading", name="Sign in").count() == 1
    assert USERNAME not in html
    assert alice_id not in html
    assert alices["credentialId"] not in html
    page.get_by_role("button", name="Use passkey").click()
    page.locator("p[role=alert]").filter(has_text="could not verify").wait_for(timeout=15_000)
    assert rp.callbacks == []
    assert options[-1]["publicKey"].get("allowCredentials", []) == []

    cdp.send("WebAuthn.clearCredentials", {"authenticatorId": authenticator})
    cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator, "credential": alices})
    back = rp.follow(page.get_by_role("button", name="Use passkey").click)
    assert "code" in back, back
    assert options[-1]["publicKey"].get("allowCredentials", []) == []
    claimed = decode_unverified(rp.redeem(back["code"], verifier)["id_token"])
    assert claimed["sub"] == alice_id
    assert claimed["acr"] == PHR
    context.close()
