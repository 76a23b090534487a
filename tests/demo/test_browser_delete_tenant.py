"""Deleting a tenant in the admin console, in Chromium: ``phrh`` now, bound to that tenant.

``phrh`` needs a device-bound key (BE=0, UV=1) whose attestation chains to a root the
Provider trusts (WebAuthn L3 §7.1 steps 22-23). Chromium's DevTools virtual authenticator
answers ``attestation: "direct"`` with a ``packed`` statement whose single certificate
("Batch Certificate", AAGUID 01020304-0506-0708-0102-030405060708) is signed by the
authenticator's fixed attestation key. The Provider here trusts that key as an enterprise
deployment trusts its own keys' root, through its configuration
(``webauthn.attestation_roots``): a trust anchor is a name and a public key (RFC 5280
§6.1.1 (d)), so the anchor certificate carries the batch certificate's subject and public
key — nothing else about the browser's statement is taken on faith. (The first-time
journey, ``test_browser_journey``, uses a root generated in the test instead.)

A synced passkey (BE=1) with the same trusted attestation never reaches ``phrh``: the
Provider answers ``unmet_authentication_requirements`` and the tenant stays.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import add_virtual_authenticator
from tests.demo.browser import add_key, delete_tenant, sign_in
from tests.demo.conftest import BankStack, serve_bank_stack

pytestmark = pytest.mark.browser

PROBE_URL = "http://localhost/attestation-probe"

_CREATE_DIRECT = """async () => {
  const credential = await navigator.credentials.create({publicKey: {
    challenge: crypto.getRandomValues(new Uint8Array(32)),
    rp: {id: "localhost", name: "attestation probe"},
    user: {id: crypto.getRandomValues(new Uint8Array(16)), name: "probe", displayName: "probe"},
    pubKeyCredParams: [{type: "public-key", alg: -7}],
    attestation: "direct",
    authenticatorSelection: {userVerification: "required"},
  }});
  const bytes = new Uint8Array(credential.response.attestationObject);
  return btoa(String.fromCharCode(...bytes));
}"""


def _chromium_attestation_anchor(chromium: Any) -> bytes:
    """The trust anchor for Chromium's virtual authenticators, as a CA certificate (DER).

    One ``direct`` registration on a page served by Playwright (not by the Provider) shows
    the batch certificate; the anchor takes its subject and public key.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from webauthn.helpers import parse_attestation_object

    context = chromium.new_context()
    try:
        page = context.new_page()
        add_virtual_authenticator(context, page, transport="usb")
        page.route(
            PROBE_URL,
            lambda route: route.fulfill(body="<!doctype html><title>probe</title>"),
        )
        page.goto(PROBE_URL)
        attestation = parse_attestation_object(base64.b64decode(page.evaluate(_CREATE_DIRECT)))
    finally:
        context.close()
    assert attestation.fmt == "packed"
    assert attestation.att_stmt.x5c, "Chromium's virtual authenticator sent no certificate"
    batch = x509.load_der_x509_certificate(attestation.att_stmt.x5c[0])
    now = dt.datetime.now(tz=dt.UTC)
    anchor = (
        x509.CertificateBuilder()
        .subject_name(batch.subject)
        .issuer_name(batch.subject)
        .public_key(batch.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        # The anchor's own signature is never checked (RFC 5280 §6.1.1 (d)); any key signs it.
        .sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())
    )
    return anchor.public_bytes(serialization.Encoding.DER)


@pytest.fixture
def trusted_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chromium: Any
) -> Iterator[BankStack]:
    """The demo on ``http://localhost`` with a Provider configured to trust Chromium's
    batch key (``webauthn.attestation_roots``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    anchor = x509.load_der_x509_certificate(_chromium_attestation_anchor(chromium))
    root = tmp_path / "chromium-batch-anchor.pem"
    root.write_bytes(anchor.public_bytes(Encoding.PEM))
    monkeypatch.setenv("STEPAUTH_SECRET_KEY", "demo-test-" + "k" * 40)
    yield from serve_bank_stack(tmp_path, None, host="localhost", attestation_roots=[root])


def _webauthn_keys(tmp_path: Path) -> list[tuple[bool, bool]]:
    """(attestation trusted, backup eligible) of each WebAuthn factor the Provider stored."""
    from stepauth.store import open_store

    async def read() -> list[tuple[bool, bool]]:
        store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'stepauth.db'}")
        try:
            alice = await store.get_user_by_username("alice")
            assert alice is not None
            factors = await store.list_factors(alice.id)
            return [
                (bool(f.data["attestation_trusted"]), bool(f.data["backup_eligible"]))
                for f in factors
                if f.kind == "webauthn"
            ]
        finally:
            await store.close()

    # A thread of its own: Playwright's sync API holds this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()


def _sign_in_and_add(page: Any, stack: BankStack, kind: str, label: str) -> None:
    """Password sign-in at the bank, then add a key on the Provider's /account page."""
    sign_in(page, stack)
    page.goto(f"{stack.issuer}/account")
    add_key(page, stack, kind, label)


def test_delete_tenant_with_an_attested_security_key_reaches_phrh(
    trusted_stack: BankStack, chromium: Any, tmp_path: Path
) -> None:
    """A trusted device-bound key approves deleting exactly t-42; the token
    says phrh with hwk; the other tenants stay."""
    stack = trusted_stack
    context = chromium.new_context()
    page = context.new_page()
    add_virtual_authenticator(context, page, transport="usb")
    _sign_in_and_add(page, stack, "Add security key", "YubiKey")
    assert _webauthn_keys(tmp_path) == [(True, False)]  # trusted attestation, device-bound

    listing = delete_tenant(page, stack, "t-42")
    assert "t-77" in listing
    context.close()


def test_synced_passkey_cannot_delete_a_tenant(
    trusted_stack: BankStack, chromium: Any, tmp_path: Path
) -> None:
    """A synced passkey (BE=1) is at most phr even when registered as a security key
    whose attestation the Provider trusts: the step-up for delete_tenant fails closed and
    the tenant stays."""
    stack = trusted_stack
    context = chromium.new_context()
    page = context.new_page()
    add_virtual_authenticator(
        context, page, transport="usb", defaultBackupEligibility=True, defaultBackupState=True
    )
    _sign_in_and_add(page, stack, "Add security key", "Synced key")
    assert _webauthn_keys(tmp_path) == [(True, True)]  # trusted attestation, but synced

    page.goto(f"{stack.bank_url}/admin")
    page.get_by_role("button", name="Delete t-42").click()
    # No factor of alice's can meet phrh: the Provider answers at once , no prompt.
    page.wait_for_url(f"{stack.bank_url}/callback?**")
    assert "error=unmet_authentication_requirements" in page.url
    main = page.locator("main").inner_text()
    assert "Your account has no such key yet" in page.get_by_test_id("need").inner_text()
    assert "delete_tenant requires phrh" in main
    assert "Deleted tenant" not in main
    admin = page.goto(f"{stack.bank_url}/admin")
    assert admin is not None
    assert "t-42" in page.locator("table").nth(1).inner_text()
    context.close()
