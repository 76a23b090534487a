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

import asyncio
import base64
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pyotp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from stepauth.rar import canonical_json, transaction_challenge
from tests.conftest import add_virtual_authenticator, free_port
from tests.helpers.bank import BANK, PAYMENT, PHR, bank_client, code_request, front, par_body
from tests.helpers.harness import (
    PASSWORD,
    REDIRECT_URI,
    SECRET,
    USERNAME,
    config_data,
    decode_unverified,
    pkce_pair,
)
from tests.helpers.soft_authenticator import cose_es256

pytestmark = pytest.mark.browser

SPA = "spa"
ACR_2FA = "urn:stepauth:acr:2fa"
T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Store work on another thread: sync Playwright holds an event loop on this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Clock:
    """Wall time plus an offset the test moves forward (auth_time must visibly move)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Served:
    issuer: str
    db_url: str
    clock: Clock
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    import uvicorn

    from stepauth.provider import create_app
    from stepauth.provider.config import ProviderConfig

    os.environ.setdefault("STEPAUTH_SECRET_KEY", base64.urlsafe_b64encode(b"k" * 32).decode())
    port = free_port()
    issuer = f"http://localhost:{port}"
    clients = [{"client_id": SPA, "redirect_uris": [REDIRECT_URI]}, bank_client()]
    data = config_data(
        tmp_path / "stepauth.db",
        issuer=issuer,
        webauthn={"rp_id": "localhost", "rp_name": "stepauth test", "origins": [issuer]},
        clients=clients,
    )
    config = ProviderConfig.from_dict(data)
    clock = Clock()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config, clock=clock),
            host="127.0.0.1",
            port=port,
            lifespan="on",
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    running = Served(issuer, config.database.url, clock, server, thread)
    try:
        yield running
    finally:
        running.stop()


def _in_store(served: Served, work: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    """Run ``work`` on the served Provider's store (opened for it with the Provider's
    secret, then closed)."""
    from stepauth.keying import secret_from_env
    from stepauth.store import open_store

    async def go() -> T:
        store = await open_store(served.db_url, secret=secret_from_env())
        try:
            return await work(store)
        finally:
            await store.close()

    return _run(go())


def _setup_users(served: Served) -> tuple[str, str, str]:
    """alice (password + TOTP) and bob (password); returns (alice id, bob id, TOTP secret)."""
    from stepauth.provider.factors.password import hash_password
    from stepauth.provider.factors.totp import TotpParams, generate_secret

    async def work(store: Any) -> tuple[str, str, str]:
        alice = await store.create_user(USERNAME, hash_password(PASSWORD))
        bob = await store.create_user("bob", hash_password("bob's password is long enough"))
        secret = generate_secret()
        await store.add_factor(
            alice.id, "totp", TotpParams(secret=secret).to_data(), label="phone", now=time.time()
        )
        return alice.id, bob.id, secret

    return _in_store(served, work)


class RP:
    """A relying party in the test: builds requests, catches the callback, redeems codes."""

    def __init__(self, served: Served, page: Any) -> None:
        self.served = served
        self.page = page
        self.callbacks: list[dict[str, str]] = []
        page.on("request", self._seen)
        # answer the callback in the browser, so its navigation ends on a page rather than
        # on a late DNS error page that would interrupt the test's next goto
        page.route(f"{REDIRECT_URI}**", lambda route: route.fulfill(status=200, body="rp"))

    def _seen(self, request: Any) -> None:
        # The RP does not exist: the browser's navigation to it is what the test reads.
        if request.url.startswith(REDIRECT_URI):
            query = parse_qs(urlsplit(request.url).query)
            self.callbacks.append({k: v[0] for k, v in query.items()})

    def request(self, client_id: str = SPA, **params: str) -> tuple[str, str]:
        """(code_verifier, authorization URL)."""
        verifier, challenge = pkce_pair()
        query = code_request(challenge, client_id, **params)
        return verifier, f"{self.served.issuer}/authorize?{urlencode(query)}"

    def push(self, details: Any, **params: str) -> tuple[str, str]:
        verifier, data = par_body(details, **params)
        response = httpx.post(f"{self.served.issuer}/par", data=data, auth=(BANK, SECRET))
        assert response.status_code == 201, response.text
        query = urlencode(front(response.json()["request_uri"]))
        return verifier, f"{self.served.issuer}/authorize?{query}"

    def follow(self, action: Callable[[], None]) -> dict[str, str]:
        """Run ``action`` and return the parameters the browser carried back to the RP."""
        with self.page.expect_request(
            lambda r: r.url.startswith(REDIRECT_URI), timeout=15_000
        ) as info:
            action()
        query = parse_qs(urlsplit(info.value.url).query)
        return {k: v[0] for k, v in query.items()}

    def redeem(self, code: str, verifier: str, client_id: str = SPA) -> dict[str, Any]:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        }
        auth = (BANK, SECRET) if client_id == BANK else None
        if auth is None:
            data["client_id"] = client_id
        response = httpx.post(f"{self.served.issuer}/token", data=data, auth=auth)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def _factor_kinds(served: Served, user_id: str) -> list[tuple[str, bool]]:
    async def work(store: Any) -> list[tuple[str, bool]]:
        return [(f.kind, f.disabled) for f in await store.list_factors(user_id)]

    return _in_store(served, work)


def _enrol_foreign_passkey(served: Served, user_id: str) -> dict[str, Any]:
    """A passkey of ``user_id`` made here; returns it as a DevTools credential."""
    from stepauth.provider.factors.webauthn import StoredCredential

    key = ec.generate_private_key(ec.SECP256R1())
    credential_id = os.urandom(32)
    stored = StoredCredential(
        credential_id=credential_id,
        public_key=cose_es256(key.public_key()),
        sign_count=0,
        user_handle=user_id.encode(),
        backup_eligible=False,
    )

    async def work(store: Any) -> None:
        await store.add_factor(
            user_id,
            "webauthn",
            stored.to_data(),
            label="bob's passkey",
            credential_id=b64url(credential_id),
            now=time.time(),
        )

    _in_store(served, work)
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {
        "credentialId": base64.b64encode(credential_id).decode(),
        "isResidentCredential": True,
        "rpId": "localhost",
        "privateKey": base64.b64encode(pkcs8).decode(),
        "userHandle": base64.b64encode(user_id.encode()).decode(),
        "signCount": 0,
    }


def _txn_record(served: Served, txn: str) -> dict[str, Any]:
    async def work(store: Any) -> dict[str, Any]:
        item = await store.get("txn_record", txn, now=time.time())
        assert item is not None, "no txn_record for the token's txn"
        return dict(item.payload)

    return _in_store(served, work)


async def _execute_twice(served: Served, claims: dict[str, Any]) -> list[str]:
    """The bound action run twice with one token through the SDK's ledger."""
    from stepauth.sdk.sql_ledger import SQLLedger
    from stepauth.sdk.transaction import TransactionError, require_transaction

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


def _goto(page: Any, url: str) -> None:
    """Open ``url``. Chromium may still be finishing the previous step's navigation to the
    unreachable RP callback (``chrome-error://``), which interrupts a new ``goto``: wait
    for it to settle and open ``url`` once more."""
    try:
        page.goto(url)
    except Exception as exc:  # playwright's Error: "interrupted by another navigation"
        if "interrupted by another navigation" not in str(exc):
            raise
        page.wait_for_load_state()
        page.goto(url)


def test_passkey_step_up_in_chromium(served: Served, chromium: Any) -> None:
    """Passkey step-up and transaction binding in one browser session (see the module docstring)."""
    alice_id, bob_id, secret = _setup_users(served)
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
    _goto(page, url)
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
    deadline = time.monotonic() + 15
    while ("webauthn", False) not in _factor_kinds(served, alice_id):
        assert time.monotonic() < deadline, "the passkey was not registered"
        time.sleep(0.1)
    held = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(held) == 1

    # 3. the RP asks for phr: the passkey only, one click
    served.clock.offset += 120
    verifier, url = rp.request(acr_values=PHR)
    _goto(page, url)
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
    _goto(page, url)
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
        {"authenticatorId": authenticator, "credential": _enrol_foreign_passkey(served, bob_id)},
    )
    cdp.send(
        "WebAuthn.removeCredential",
        {"authenticatorId": authenticator, "credentialId": held[0]["credentialId"]},
    )
    _, url = rp.request(acr_values=PHR, prompt="login")
    _goto(page, url)
    page.get_by_role("button", name="Use passkey").click()
    page.locator("#webauthn-status").filter(has_text="could not verify").wait_for(timeout=15_000)
    assert len(rp.callbacks) == callbacks
    cdp.send("WebAuthn.clearCredentials", {"authenticatorId": authenticator})
    cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator, "credential": held[0]})

    # 6. €1,250.00 to Merchant A, pushed with PAR: shown exactly, signed exactly
    verifier, url = rp.push(PAYMENT, acr_values=PHR)
    _goto(page, url)
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
    assert _run(_execute_twice(served, access)) == ["executed", "transaction_replayed"]
    assert violations == []
    context.close()


def test_sub_hinted_sign_in_without_session_uses_a_discoverable_passkey(
    served: Served, chromium: Any
) -> None:
    """An RP names alice's ``sub`` (``claims``) to a browser with no session: the page
    is the plain sign-in page (no username, no credential ID of hers), the passkey
    ceremony is discoverable, bob's passkey is refused with the generic message and
    alice's signs her in (OIDC Core §5.5.1; WebAuthn L3 §7.2 step 6)."""
    alice_id, bob_id, _ = _setup_users(served)
    alices = _enrol_foreign_passkey(served, alice_id)
    bobs = _enrol_foreign_passkey(served, bob_id)
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
