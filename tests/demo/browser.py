"""The steps the demo's Chromium journeys share: sign in, add a key at the Provider, send a
transfer (exempt, or refused for want of a passkey), approve a bound step-up with the
passkey and confirm at the bank, delete a tenant with a trusted key, and a security key
whose ``packed`` attestation a test root signs.

Chromium's DevTools virtual authenticator signs its attestations with one fixed batch key,
so it cannot present a chain to a root made in the test. :func:`register_security_key`
is the honest stand-in for a certified key: a Python soft authenticator
(``tests/helpers/soft_authenticator.py``) answers the Provider's own registration
options (fetched and posted by the page, with its cookies and CSRF token, as
``account.js`` does) with a ``packed`` statement from a test CA; the key pair is then
imported into a virtual authenticator of its own (``WebAuthn.addCredential``), so every
later assertion is made by Chromium.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pyotp

from stepauth.demo.launcher import DEMO_USERS
from tests.conftest import add_virtual_authenticator
from tests.demo.conftest import TOTP_SECRET, BankStack
from tests.helpers.soft_authenticator import AttestationCA, SoftAuthenticator

__all__ = [
    "add_key",
    "approve_bound",
    "confirm",
    "delete_tenant",
    "refused_without_passkey",
    "register_security_key",
    "send_exempt",
    "send_transfer",
    "sign_in",
    "token",
    "totp_reauth",
    "use_passkey",
    "watch",
]


def watch(page: Any) -> list[str]:
    """Script errors, CSP violations and 404s of the page, as they happen."""
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "console",
        lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.on(
        "response",
        lambda r: problems.append(f"404 {r.url}") if r.status == 404 else None,
    )
    return problems


def sign_in(page: Any, stack: BankStack, username: str = "alice") -> None:
    """Password sign-in at the Provider, from the bank's Sign in; lands on the dashboard."""
    page.goto(stack.bank_url)
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_USERS[username])
    page.locator("form[data-factor=password]").get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{stack.bank_url}/dashboard")


def totp_reauth(page: Any, stack: BankStack) -> None:
    """The account's step-up page asks for alice's binding level: password + TOTP; her
    password is fresh, so it asks for the authenticator app's code only."""
    page.wait_for_url(f"{stack.issuer}/account/reauth**")
    assert page.locator("form[data-factor=password]").count() == 0
    page.get_by_label("One-time code").fill(pyotp.TOTP(TOTP_SECRET).now())
    page.locator("form[data-factor=totp]").get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{stack.issuer}/account**")


def add_key(page: Any, stack: BankStack, button: str, label: str) -> None:
    """On the Provider's /account page: the button, the step-up it asks for, then the key
    is added and the page says so."""
    page.get_by_role("button", name=button).click()
    totp_reauth(page, stack)
    page.get_by_label("Name for the new passkey or key").fill(label)
    page.get_by_role("button", name=button).click()
    page.wait_for_url(f"{stack.issuer}/account?added=**")
    assert f"Added “{label}”." in page.locator("#factor-added").inner_text()
    assert page.locator("[data-factor-id]", has_text=label).count() == 1


def use_passkey(page: Any, stack: BankStack) -> None:
    """At the Provider's step-up page: one click on Use passkey, back to the bank."""
    page.wait_for_url(f"{stack.issuer}/**")
    page.get_by_role("button", name="Use passkey").click()
    page.wait_for_url(f"{stack.bank_url}/**")


def confirm(page: Any) -> str:
    """The bank's confirm page after a bound step-up: what it shows, then Confirm."""
    assert "/confirm?" in page.url, page.locator("main").inner_text()
    shown = str(page.get_by_test_id("confirm").inner_text())
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()
    return shown


def token(page: Any) -> str:
    return str(page.get_by_test_id("token").inner_text())


def send_transfer(page: Any, stack: BankStack, amount: str, reference: str = "") -> None:
    """The bank's transfer form to Jane Doe, filled and sent."""
    page.goto(f"{stack.bank_url}/transfer")
    page.get_by_label("Amount (EUR)").fill(amount)
    page.get_by_label("Reference").fill(reference)
    page.get_by_role("button", name="Send").click()


def send_exempt(page: Any, stack: BankStack) -> None:
    """€20: exempt under ``low_value`` (PSD2 RTS Art. 16), no trip to the Provider."""
    send_transfer(page, stack, "20")
    page.wait_for_url(f"{stack.bank_url}/transfer")
    assert page.get_by_role("heading", name="Sent €20.00 to Jane Doe").is_visible()
    assert "exempt under low_value" in page.locator("pre.explain").inner_text()


def refused_without_passkey(page: Any, stack: BankStack, amount: str, reference: str) -> None:
    """A bound transfer of a payer with no passkey: the Provider cannot approve it (PSD2 RTS
    Art. 5: a one-time code cannot bind amount and payee); the bank keeps the form as typed
    and says in words what is missing, never the bare error code."""
    send_transfer(page, stack, amount, reference)
    page.wait_for_url(f"{stack.bank_url}/callback?**")
    assert "error=unmet_authentication_requirements" in page.url
    assert "unmet_authentication_requirements" not in page.content()
    assert "passkey" in page.get_by_test_id("need").inner_text()
    assert "your account has none that can approve it yet" in page.locator("main").inner_text()
    assert page.get_by_label("Amount (EUR)").input_value() == amount
    assert page.get_by_label("Reference").input_value() == reference
    assert page.locator("[role=alert]").count() == 1


def approve_bound(page: Any, stack: BankStack, *shown: str) -> str:
    """A bound step-up: the Provider shows each of ``shown`` in what is approved, one click
    on Use passkey, then the bank's confirm page (what it shows is returned)."""
    page.wait_for_url(f"{stack.issuer}/**")
    approving = page.locator("section[aria-labelledby=details-heading]").inner_text()
    for text in shown:
        assert text in approving, approving
    use_passkey(page, stack)
    return confirm(page)


def delete_tenant(page: Any, stack: BankStack, tenant: str = "t-42") -> str:
    """Delete ``tenant`` in the admin console with a trusted device-bound key: approved for
    exactly that tenant, ``phrh`` with ``hwk`` in the token, the other tenants stay.
    Returns the admin console's tenant listing afterwards."""
    page.goto(f"{stack.bank_url}/admin")
    page.get_by_role("button", name=f"Delete {tenant}").click()
    assert tenant in approve_bound(page, stack, tenant)
    assert page.get_by_role("heading", name=f"Deleted tenant {tenant}").is_visible()
    assert "delete_tenant requires phrh" in page.locator("pre.explain").inner_text()
    assert "phrh" in token(page)
    assert "hwk" in token(page)
    assert page.goto(f"{stack.bank_url}/admin") is not None
    listing = str(page.locator("table").nth(1).inner_text())
    assert tenant not in listing
    assert "t-43" in listing
    return listing


_POST = """async ([url, body]) => {
  const csrf = document.getElementById("webauthn-add").dataset.csrf;
  const response = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: {"content-type": "application/json"},
    body: JSON.stringify(Object.assign({csrf: csrf}, body)),
  });
  return {status: response.status, body: await response.json()};
}"""


def register_security_key(
    context: Any, page: Any, stack: BankStack, ca: AttestationCA, aaguid: bytes, label: str
) -> SoftAuthenticator:
    """Add a security key on the Provider's /account page (open) whose ``packed``
    attestation chains to ``ca``; then put its key pair in a new virtual USB
    authenticator (the caller detaches any other, as a customer reaches for the key)."""
    key = SoftAuthenticator(rp_id="localhost", origin=stack.issuer, aaguid=aaguid, ca=ca)
    started = page.evaluate(_POST, ["/account/webauthn/options", {"type": "security-key"}])
    if started["status"] == 401:  # the step-up at her binding level first, as account.js
        back = page.url.removeprefix(stack.issuer)
        assert started["body"]["reauth"].startswith("/account/reauth?")
        page.goto(f"{stack.issuer}/account/reauth?next={quote(back, safe='')}")
        totp_reauth(page, stack)
        started = page.evaluate(_POST, ["/account/webauthn/options", {"type": "security-key"}])
    assert started["status"] == 200, started
    options = started["body"]["publicKey"]
    assert options["attestation"] == "direct"
    challenge = base64.urlsafe_b64decode(options["challenge"] + "==")
    credential = key.create(challenge, attestation="packed")
    done = page.evaluate(
        _POST,
        [
            "/account/webauthn/register",
            {"ceremony": started["body"]["ceremony"], "credential": credential, "label": label},
        ],
    )
    assert done["status"] == 200, json.dumps(done)
    # As account.js: the way back to the app (?return_to=) survives the reload.
    return_to = parse_qs(urlsplit(page.url).query).get("return_to", [])
    back = urlencode({"return_to": return_to}, doseq=True)
    page.goto(f"{stack.issuer}{done['body']['redirect']}&{back}")
    assert f"Added “{label}”." in page.locator("#factor-added").inner_text()

    from cryptography.hazmat.primitives import serialization

    cdp, authenticator = add_virtual_authenticator(
        context, page, transport="usb", hasResidentKey=False
    )
    pkcs8 = key.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cdp.send(
        "WebAuthn.addCredential",
        {
            "authenticatorId": authenticator,
            "credential": {
                "credentialId": base64.b64encode(key.credential_id).decode(),
                "isResidentCredential": False,
                "rpId": "localhost",
                "privateKey": base64.b64encode(pkcs8).decode(),
                "signCount": key.sign_count,
            },
        },
    )
    return key
