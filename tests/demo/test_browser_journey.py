"""The first-time customer's journey in Chromium, each step checked on screen and in what
the resulting ID token says (shown by the bank: acr, amr, auth_time):

sign in with a password (the bank says: first, add a passkey) → a €1,250.00 transfer with
no passkey yet (kept as typed, explained in words, a link to add one) → add a passkey at
the Provider (after her authenticator app's code: password + TOTP is her binding level;
the Provider confirms and leads back to the bank) → view personal data (``phr``) → the
transfer again (bound step-up; the Provider shows amount and payee) → €20 (exempt) →
change payout details (fresh step-up, bound) → grant a role (bound, named at the Provider) →
delete a tenant with no attested key (the page says exactly that) → add a security key
whose ``packed`` attestation chains to a root generated here and configured as the
Provider's ``webauthn.attestation_roots`` → delete the tenant (``phrh``, ``hwk``).

The security key is a soft authenticator for its registration (Chromium's virtual
authenticator cannot sign with a test CA's key) and a virtual authenticator holding the
same key pair for its assertions: see :mod:`tests.demo.browser`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import add_virtual_authenticator
from tests.demo.browser import (
    add_key,
    approve_bound,
    delete_tenant,
    refused_without_passkey,
    register_security_key,
    send_exempt,
    send_transfer,
    sign_in,
    token,
    use_passkey,
    watch,
)
from tests.demo.conftest import BankStack, serve_bank_stack
from tests.helpers.soft_authenticator import AttestationCA, make_test_ca

pytestmark = pytest.mark.browser

AAGUID = os.urandom(16)


@pytest.fixture
def attested_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[BankStack, AttestationCA]]:
    """The demo on ``http://localhost`` whose Provider also trusts a test attestation root,
    given as configuration (``webauthn.attestation_roots``, a PEM file)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    ca = make_test_ca(AAGUID)
    root = tmp_path / "test-attestation-root.pem"
    root.write_bytes(ca.root.public_bytes(Encoding.PEM))
    monkeypatch.setenv("STEPAUTH_SECRET_KEY", "demo-test-" + "k" * 40)
    for stack in serve_bank_stack(tmp_path, None, host="localhost", attestation_roots=[root]):
        yield stack, ca


def test_first_time_customer_journey(
    attested_stack: tuple[BankStack, AttestationCA], chromium: Any
) -> None:
    """Step-ups at the right places, each result in the token, no dead end: every refusal
    says what to add and links to it."""
    stack, ca = attested_stack
    context = chromium.new_context()
    page = context.new_page()
    problems = watch(page)
    laptop_cdp, laptop = add_virtual_authenticator(context, page)

    # Signed in with the password only: the bank says what to do first.
    sign_in(page, stack)
    assert "acr urn:stepauth:acr:1fa" in page.get_by_test_id("session").inner_text()
    assert "First: add a passkey" in page.get_by_test_id("first-step").inner_text()

    # €1,250.00 with no passkey yet: the Provider cannot approve it; the bank keeps the
    # form as typed and says in words what is missing, with a link to add it.
    refused_without_passkey(page, stack, "1250.00", "Invoice 2026-117")

    # The link leads to the Provider's account page; adding asks for her code once more.
    page.get_by_role("link", name="Add a passkey at your identity provider").click()
    page.wait_for_url(f"{stack.issuer}/account?return_to=acme-bank")
    add_key(page, stack, "Add passkey", "Laptop")
    added = page.locator("#factor-added").inner_text()
    assert "You can use it now." in added  # bound at her binding level: no hold
    page.get_by_role("link", name="Back to Acme Bank").click()
    page.wait_for_url(f"{stack.bank_url}/dashboard")

    # Personal data: phr within 15 minutes.
    page.goto(f"{stack.bank_url}/profile/full")
    use_passkey(page, stack)
    assert page.url == f"{stack.bank_url}/profile/full"
    assert "alice@example.com" in page.get_by_test_id("pii").inner_text()
    assert "view_pii requires phr with max_age=900" in page.locator("pre.explain").inner_text()
    assert "phr" in token(page)
    assert "s ago" in token(page)
    page.goto(f"{stack.bank_url}/dashboard")
    assert page.get_by_test_id("first-step").count() == 0

    # The transfer again: the Provider shows exactly what is approved; the bank's confirm
    # page shows the action it stored.
    send_transfer(page, stack, "1250.00", "Invoice 2026-117")
    shown = approve_bound(page, stack, "EUR 1,250.00", "Jane Doe")
    assert "€1,250.00" in shown
    assert "Invoice 2026-117" in shown
    assert page.get_by_role("heading", name="Sent €1,250.00 to Jane Doe").is_visible()
    assert "Why Acme Bank asked you to verify" in page.content()
    assert "phr" in token(page)

    # €20: exempt (the counters restarted at the SCA above), no trip to the Provider.
    send_exempt(page, stack)

    # Change payout details: a new step-up now (max_age=0), bound to the new account.
    page.goto(f"{stack.bank_url}/payout")
    page.get_by_label("New IBAN").fill("DE44 5001 0517 5407 3249 31")
    page.get_by_role("button", name="Change payout account").click()
    assert "DE44 5001 0517 5407 3249 31" in approve_bound(
        page, stack, "DE44 5001 0517 5407 3249 31"
    )
    assert page.get_by_role("heading", name="Payout details changed").is_visible()
    assert "max_age=0" in page.locator("pre.explain").inner_text()
    assert "phr" in token(page)

    # Admin: granting a role is approved for that user and role; the Provider names them
    # as it names a payment's amount and payee.
    page.goto(f"{stack.bank_url}/admin")
    page.get_by_label("User").select_option("bob")
    page.get_by_label("Role").select_option("support")
    page.get_by_role("button", name="Grant role").click()
    assert "support" in approve_bound(page, stack, "User\nbob\nNew role\nsupport")
    assert page.get_by_role("heading", name="Granted support to bob").is_visible()

    # Delete a tenant: phrh, which no key of hers reaches yet; the page says exactly that.
    page.goto(f"{stack.bank_url}/admin")
    page.get_by_role("button", name="Delete t-42").click()
    page.wait_for_url(f"{stack.bank_url}/callback?**")
    need = page.get_by_test_id("need").inner_text()
    assert "security key whose attestation your identity provider trusts" in need
    assert "Your account has no such key yet" in need
    assert "Add a passkey" not in need
    assert "unmet_authentication_requirements" not in page.content()

    # Add a security key whose attestation chains to the configured test root, then
    # reach for it: the laptop's authenticator steps aside.
    page.get_by_role("link", name="Add a security key at your identity provider").click()
    page.wait_for_url(f"{stack.issuer}/account?return_to=acme-bank")
    laptop_cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": laptop})
    register_security_key(context, page, stack, ca, AAGUID, "Test security key")
    page.get_by_role("link", name="Back to Acme Bank").click()
    page.wait_for_url(f"{stack.bank_url}/dashboard")

    delete_tenant(page, stack, "t-42")

    dashboard = page.goto(f"{stack.bank_url}/dashboard")
    assert dashboard is not None
    text = page.locator("main").inner_text()
    assert "bound step-up" in text
    assert "low_value exemption" in text
    assert problems == [], problems  # no script error, CSP violation or 404 (favicon)
    context.close()
