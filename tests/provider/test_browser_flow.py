"""The login form and form_post response in a real browser (Debian Chromium, Playwright).

Checks what only a browser can: the page works under the CSP with no inline script
(the form_post page submits itself through its static script), and the form is usable
by its labels (**Username**, **Password**, **Continue**).
"""

from __future__ import annotations

import asyncio
import base64
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest

from tests.conftest import free_port
from tests.helpers.harness import (
    PASSWORD,
    PUBLIC,
    REDIRECT_URI,
    USERNAME,
    config_data,
    pkce_pair,
)
from tests.helpers.served import ServedApp

pytestmark = pytest.mark.browser


async def _create_user(url: str) -> None:
    from stepauth.provider.factors.password import hash_password
    from stepauth.store import open_store

    store = await open_store(url)
    try:
        await store.create_user(USERNAME, hash_password(PASSWORD))
    finally:
        await store.close()


def test_password_sign_in_and_form_post_in_chromium(tmp_path: Path, chromium: Any) -> None:
    from stepauth.provider import create_app
    from stepauth.provider.config import ProviderConfig

    os.environ.setdefault("STEPAUTH_SECRET_KEY", base64.urlsafe_b64encode(b"k" * 32).decode())
    port = free_port()
    issuer = f"http://localhost:{port}"
    data = config_data(
        tmp_path / "stepauth.db",
        issuer=issuer,
        webauthn={"rp_id": "localhost", "rp_name": "stepauth test", "origins": [issuer]},
    )
    config = ProviderConfig.from_dict(data)
    # sync Playwright holds an event loop on this thread: set the store up on another one
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _create_user(config.database.url)).result()
    served = ServedApp(create_app(config), port=port)
    try:
        _, challenge = pkce_pair()
        query = {
            "response_type": "code",
            "response_mode": "form_post",
            "client_id": PUBLIC,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "browser-state",
            "nonce": "browser-nonce",
        }
        page = chromium.new_page()
        violations: list[str] = []
        page.on(
            "console",
            lambda msg: (
                violations.append(msg.text) if "Content Security Policy" in msg.text else None
            ),
        )
        posted: dict[str, Any] = {}

        def rp(route: Any) -> None:
            posted["method"] = route.request.method
            posted["body"] = route.request.post_data or ""
            route.fulfill(status=200, content_type="text/plain", body="signed in")

        page.route("https://rp.example/**", rp)
        page.goto(f"{issuer}/authorize?{urlencode(query)}")
        page.get_by_label("Username").fill(USERNAME)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(f"{REDIRECT_URI}*", timeout=15_000)
        assert posted["method"] == "POST"
        fields = {k: v[0] for k, v in parse_qs(posted["body"]).items()}
        assert fields["state"] == "browser-state"
        assert fields["iss"] == issuer
        assert fields["code"]
        assert violations == []
        page.close()
    finally:
        served.stop()
