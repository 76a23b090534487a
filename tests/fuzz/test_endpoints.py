"""Every endpoint of the discovery document and every interaction and account route,
fuzzed in-process through the ASGI app on a real SQLite store: never a 5xx, never a
traceback in the body (RFC 6749 §5.2 and OIDC Core §3.1.2.6 define the errors to answer)."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, reject
from hypothesis import strategies as st

from tests.fuzz.conftest import Target
from tests.fuzz.profiles import FUZZ
from tests.fuzz.strategies import FuzzRequest, requests

PROTOCOL = (
    "/authorize",
    "/par",
    "/token",
    "/userinfo",
    "/introspect",
    "/revoke",
    "/jwks",
    "/logout",
    "/.well-known/openid-configuration",
)

ACCOUNT = (
    "/account",
    "/account/reauth",
    "/account/reauth/webauthn",
    "/account/totp",
    "/account/totp/confirm",
    "/account/recovery",
    "/account/factors/x/rename",
    "/account/factors/x/remove",
    "/account/password",
    "/account/sessions/end-others",
    "/account/not-me",
    "/account/webauthn/options",
    "/account/webauthn/register",
)


async def _send(target: Target, request: FuzzRequest) -> None:
    client = target.provider.new_browser()
    try:
        try:
            built = client.build_request(
                request.method,
                request.path,
                params=request.query,
                content=request.body,
                headers=request.headers,
            )
        except httpx.InvalidURL:
            reject()  # longer than any URL a client can send (httpx's own limit)
        response = await client.send(built)
    finally:
        await client.aclose()
        target.provider.extra_clients.remove(client)
    assert response.status_code < 500, (request, response.status_code, response.text[:500])
    assert "Traceback" not in response.text, (request, response.text[:500])


def _known(target: Target) -> dict[str, str]:
    return {
        "csrf": target.account_csrf,
        "access_token": target.access_token,
        "refresh_token": target.refresh_token,
        "interaction": target.interaction,
    }


@pytest.mark.parametrize("path", PROTOCOL)
@FUZZ
@given(data=st.data())
async def test_protocol_endpoint_never_answers_5xx(
    target: Target, path: str, data: st.DataObject
) -> None:
    request = data.draw(requests(path, cookies=target.cookies, known=_known(target)))
    await _send(target, request)


@pytest.mark.parametrize("route", ["", "/webauthn", "/unknown"])
@FUZZ
@given(data=st.data())
async def test_interaction_route_never_answers_5xx(
    target: Target, route: str, data: st.DataObject
) -> None:
    path = target.interaction + route if route != "/unknown" else "/interaction/unknown"
    request = data.draw(requests(path, cookies=target.cookies, known=_known(target)))
    await _send(target, request)


@pytest.mark.parametrize("path", ACCOUNT)
@FUZZ
@given(data=st.data())
async def test_account_route_never_answers_5xx(
    target: Target, path: str, data: st.DataObject
) -> None:
    request = data.draw(requests(path, cookies=target.cookies, known=_known(target)))
    await _send(target, request)
