"""A bound step-up the way a payer does it: password sign-in, then the passkey approval.

Bound ``authorization_details`` are approved only by a factor that binds them (PSD2 RTS
Art. 5(1): a passkey whose challenge is ``SHA-256(nonce ‖ JCS(details))``), so tests that
need a granted transaction enrol a software passkey and press **Use passkey**.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.helpers.bank import PAYMENT, PHR, bank_client, front, push_details
from tests.helpers.frontchannel import open_interaction, page, query, rp_params, sign_in
from tests.helpers.harness import PUBLIC, REDIRECT_URI, USERNAME, Provider, running_provider
from tests.helpers.passkeys import enrol_passkey, use_passkey, use_passkeys
from tests.helpers.soft_authenticator import SoftAuthenticator

__all__ = [
    "Pushed",
    "approve",
    "approve_with_passkey",
    "authorize",
    "bank_provider",
    "interaction_of",
    "passkey_payer",
    "push",
]


async def passkey_payer(provider: Provider, username: str = USERNAME) -> SoftAuthenticator:
    """Offer passkeys, enrol one for ``username`` and sign them in with the password."""
    use_passkeys(provider)
    user = await provider.store.get_user_by_username(username)
    assert user is not None, username
    authenticator = await enrol_passkey(provider, user.id)
    await sign_in(provider.browser, query())
    return authenticator


async def approve_with_passkey(
    provider: Provider,
    params: Mapping[str, str],
    authenticator: SoftAuthenticator | None = None,
) -> str:
    """Open the bound request ``params`` and approve it with the passkey; returns the code."""
    if authenticator is None:
        authenticator = await passkey_payer(provider)
    shown = await open_interaction(provider.browser, params)
    assert "binding_required" in shown.reasons(), shown.reasons()
    return rp_params(await use_passkey(provider.browser, shown, authenticator))["code"]


@asynccontextmanager
async def bank_provider(tmp_path: Path) -> AsyncIterator[Provider]:
    """A running Provider with the bank (a confidential client that pushes its bound
    requests) and a public client, and the user."""
    clients = [bank_client(), {"client_id": PUBLIC, "redirect_uris": [REDIRECT_URI]}]
    async with running_provider(tmp_path, clients=clients) as running:
        await running.create_user()
        yield running


class Pushed:
    """One bound request pushed by the bank: its front-channel query and PKCE verifier."""

    def __init__(self, verifier: str, request_uri: str, state: str) -> None:
        self.verifier = verifier
        self.front = front(request_uri)
        self.state = state


async def push(
    provider: Provider, details: Any = PAYMENT, *, state: str = "s", acr: str = PHR
) -> Pushed:
    extra = {"acr_values": acr} if acr else {}
    verifier, request_uri = await push_details(provider, details, state=state, **extra)
    return Pushed(verifier, request_uri, state)


async def authorize(browser: httpx.AsyncClient, pushed: Pushed) -> httpx.Response:
    return await browser.get("/authorize", params=pushed.front)


def interaction_of(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text[:300]
    location = response.headers["location"]
    assert "/interaction/" in location, location
    return location


async def approve(
    browser: httpx.AsyncClient, location: str, passkey: SoftAuthenticator
) -> dict[str, str]:
    shown = page(await browser.get(location))
    assert shown.reasons()[0] == "binding_required"
    return rp_params(await use_passkey(browser, shown, passkey))
