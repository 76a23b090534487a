"""The main front-channel flow on PostgreSQL (the scale-out store)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.frontchannel import (
    code_payload,
    open_interaction,
    query,
    rp_params,
    session_cookie,
    sign_in,
    submit,
)
from tests.helpers.harness import ACR_1FA, PASSWORD, USERNAME, running_provider

pytestmark = pytest.mark.postgres


async def test_code_flow_and_reprompt_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    """Sign in, silent re-use, prompt=login with rotation, PAR-free happy path (OpenID conformance
    suite: oidcc-prompt-login; OpenID conformance suite: oidcc-prompt-none-logged-in).
    """
    async with running_provider(tmp_path, database={"url": postgres_url}) as provider:
        await provider.create_user()
        first = await sign_in(provider.browser, query(state="pg"))
        assert first["state"] == "pg"
        payload = await code_payload(provider, first["code"])
        assert payload["acr"] == ACR_1FA
        old = session_cookie(provider.browser)

        silent = rp_params(await provider.browser.get("/authorize", params=query(prompt="none")))
        assert "code" in silent

        provider.clock.advance(1)
        shown = await open_interaction(provider.browser, query(prompt="login"))
        assert shown.reasons() == ["prompt_login"]
        again = rp_params(
            await submit(provider.browser, shown, "password", username=USERNAME, password=PASSWORD)
        )
        later = await code_payload(provider, again["code"])
        assert int(later["auth_time"]) > int(payload["auth_time"])  # type: ignore[call-overload]
        assert session_cookie(provider.browser) != old
        assert await provider.store.get_session(str(old), now=provider.clock()) is None
