"""Shared by the binding-level tests of ``/account`` (NIST SP 800-63B-4 §6.1.2.1): the test
Provider with the bank's client, alice's account with every kind of factor, bob's
password-only account adding a passkey, and the form posts and checks the tests share."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from stepauth.provider.factors import recovery, totp
from tests.helpers.account_pages import account_page, add_passkey, csrf_of, reauth
from tests.helpers.bank import bank_client
from tests.helpers.harness import PASSWORD, USERNAME, Provider, config_data, running_provider
from tests.helpers.passkeys import enrol_passkey
from tests.helpers.soft_authenticator import SoftAuthenticator

__all__ = [
    "THEFT",
    "Victim",
    "bob_adds_a_passkey",
    "factor_kinds",
    "factor_of",
    "make_victim",
    "post_form",
    "provider",
    "sent_to_step_up",
    "sign_in_with_password",
]

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


async def make_victim(provider: Provider) -> Victim:
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


async def sign_in_with_password(browser: httpx.AsyncClient) -> None:
    """Sign in on /account with the password alone."""
    await reauth(browser, "password", username=USERNAME, password=PASSWORD)


async def factor_of(provider: Provider, user_id: str, kind: str) -> Any:
    return next(f for f in await provider.store.list_factors(user_id) if f.kind == kind)


async def post_form(browser: httpx.AsyncClient, path: str, **form: str) -> httpx.Response:
    csrf = csrf_of(await account_page(browser))
    return await browser.post(path, data={"csrf": csrf, **form})


def sent_to_step_up(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith(
        "/account/reauth"
    )


def factor_kinds(html: str) -> list[str]:
    return re.findall(r'class="factor" data-factor="([a-z]+)"', html)


async def bob_adds_a_passkey(provider: Provider) -> tuple[Any, Any, SoftAuthenticator]:
    """A password-only account adds a passkey over HTTP: (user, factor, authenticator)."""
    user = await provider.create_user()
    await sign_in_with_password(provider.browser)
    response, authenticator = await add_passkey(provider, user.id)
    assert response.status_code == 200, response.text
    factor = await provider.store.get_factor(response.json()["factor"])
    return user, factor, authenticator
