"""Passkey helpers for the Provider tests: enrol a software authenticator, run the button.

The software authenticator (:mod:`tests.helpers.soft_authenticator`) signs real P-256
assertions; enrolment goes through the real registration verifier.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urljoin

import httpx

from stepauth.provider.factors import totp as totp_factor
from stepauth.provider.factors import webauthn
from stepauth.provider.factors.base import FactorRegistry
from stepauth.provider.factors.password import PasswordFactor
from tests.helpers.frontchannel import Page, rp_params, submit
from tests.helpers.harness import ISSUER, Provider
from tests.helpers.soft_authenticator import SoftAuthenticator


def use_passkeys(provider: Provider) -> None:
    """Offer the passkey (first), TOTP and the password."""
    provider.state.factors = FactorRegistry([webauthn.plugin, totp_factor.plugin, PasswordFactor()])


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def enrol_passkey(provider: Provider, user_id: str, **options: Any) -> SoftAuthenticator:
    """Register a software passkey for ``user_id`` (user handle = the user's id)."""
    authenticator = SoftAuthenticator(
        rp_id="localhost", origin=ISSUER, user_handle=user_id.encode(), **options
    )
    challenge = b"registration-challenge-" + user_id.encode()[:9]
    verified = webauthn.verify_registration(
        credential=authenticator.create(challenge),
        expected_challenge=challenge,
        expected_rp_id="localhost",
        expected_origins=[ISSUER],
    )
    stored = verified.to_stored(user_id.encode())
    await provider.store.add_factor(
        user_id,
        "webauthn",
        stored.to_data(),
        label="passkey",
        credential_id=webauthn.b64url(verified.credential_id),
        now=provider.clock(),
    )
    return authenticator


async def passkey_options(browser: httpx.AsyncClient, shown: Page) -> dict[str, Any]:
    """What the **Use passkey** button fetches: the request options of this interaction."""
    form = shown.form("webauthn")
    csrf = next(i["value"] for i in form["inputs"] if i.get("name") == "csrf")
    url = urljoin(str(shown.response.url), str(shown.response.url.path) + "/webauthn")
    response = await browser.post(url, json={"csrf": csrf})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    options: dict[str, Any] = response.json()["publicKey"]
    return options


async def use_passkey(
    browser: httpx.AsyncClient,
    shown: Page,
    authenticator: SoftAuthenticator,
    **assertion: Any,
) -> httpx.Response:
    """One click on **Use passkey**: options, ``credentials.get()``, the form post."""
    options = await passkey_options(browser, shown)
    credential = authenticator.get(unb64url(options["challenge"]), **assertion)
    return await submit(browser, shown, "webauthn", credential=json.dumps(credential))


def refused(response: httpx.Response) -> bool:
    """The page came back with the generic failure, and no code went to the RP."""
    return response.status_code == 400 and 'role="alert"' in response.text


__all__ = [
    "enrol_passkey",
    "passkey_options",
    "refused",
    "rp_params",
    "unb64url",
    "use_passkey",
    "use_passkeys",
]
