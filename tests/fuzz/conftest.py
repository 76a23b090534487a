"""The fuzzing Provider: a real SQLite store, a user with an authenticator app, a signed-in
browser on /account, a pending interaction and an access token, so fuzzed requests reach
past the first check of each endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from stepauth.provider.factors import totp
from tests.helpers.account_pages import csrf_of
from tests.helpers.harness import (
    Provider,
    pkce_pair,
    running_provider,
)


@dataclass
class Target:
    """The running Provider and the live values fuzzed requests may reuse."""

    provider: Provider
    interaction: str
    account_csrf: str
    access_token: str
    refresh_token: str
    cookies: dict[str, str]


@pytest.fixture
async def target(tmp_path: Path) -> AsyncIterator[Target]:
    async with running_provider(tmp_path) as provider:
        user = await provider.create_user()
        params = totp.TotpParams(secret=totp.generate_secret())
        await provider.store.add_factor(
            user.id, "totp", params.to_data(), label="phone", now=provider.clock()
        )
        tokens, _ = await provider.login_and_exchange(scope="openid offline_access")
        page = await provider.browser.get("/account")
        _, challenge = pkce_pair()
        fresh = provider.new_browser()
        started = await fresh.get(
            "/authorize",
            params={
                "response_type": "code",
                "client_id": "bank-app",
                "redirect_uri": "https://rp.example/callback",
                "scope": "openid",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        cookies = {**dict(provider.browser.cookies), **dict(fresh.cookies)}
        yield Target(
            provider=provider,
            interaction=urlsplit(started.headers["location"]).path,
            account_csrf=csrf_of(page.text),
            access_token=tokens["access_token"],
            refresh_token=tokens.get("refresh_token", ""),
            cookies=cookies,
        )
