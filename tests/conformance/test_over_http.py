"""The conformance basics over a real socket: uvicorn serving the Provider, httpx as browser.

The other conformance tests drive the ASGI app in-process; this one proves the same flow
holds over HTTP (discovery, login form, code, token, userinfo, refresh) — the OpenID conformance
suite's PerformStandardIdTokenChecks and oidcc-refresh-token.
"""

from __future__ import annotations

from pathlib import Path

from tests.helpers.harness import CONFIDENTIAL, check_id_token, served_provider


async def test_code_flow_over_http(tmp_path: Path) -> None:
    async with served_provider(tmp_path) as provider:
        await provider.create_user()
        meta = (await provider.browser.get("/.well-known/openid-configuration")).json()
        assert meta["issuer"] == provider.issuer
        assert meta["token_endpoint"] == provider.issuer + "/token"
        body, claims = await provider.login_and_exchange(
            scope="openid offline_access profile", max_age="600"
        )
        assert "auth_time" in claims
        userinfo = await provider.browser.get(
            "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert userinfo.json()["sub"] == claims["sub"]
        provider.clock.advance(10)
        refreshed = await provider.token(
            {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
        )
        assert refreshed.status_code == 200
        second = await check_id_token(
            provider, refreshed.json()["id_token"], client_id=CONFIDENTIAL, nonce=None
        )
        assert second["auth_time"] == claims["auth_time"]
        assert second["sub"] == claims["sub"]
