"""Pushed authorization requests at the authorization endpoint (RFC 9126 §4).

The request_uri is used once, only by the client that pushed it, and only while it lives.
"""

from __future__ import annotations

import secrets

from tests.helpers.frontchannel import query, rp_params, sign_in
from tests.helpers.harness import CONFIDENTIAL, PUBLIC, Provider


async def _pushed(provider: Provider, item: dict[str, object]) -> str:
    """A request pushed straight into the store (RFC 9126), live for 60 s; its request_uri."""
    request_uri = "urn:ietf:params:oauth:request_uri:" + secrets.token_urlsafe(16)
    await provider.store.put("par", request_uri, item, expires_at=provider.clock() + 60)
    return request_uri


async def test_pushed_request_uri_is_single_use(provider: Provider) -> None:
    """RFC 9126 §4: the pushed parameters are used once, by the client that pushed them."""
    await sign_in(provider.browser, query())
    request_uri = await _pushed(
        provider, {"client_id": PUBLIC, "params": query(state="pushed", prompt="none")}
    )
    front = {"client_id": PUBLIC, "request_uri": request_uri}
    result = rp_params(await provider.browser.get("/authorize", params=front))
    assert result["state"] == "pushed"
    assert result["code"]
    replay = await provider.browser.get("/authorize", params=front)
    assert replay.status_code == 400
    assert "invalid_request_uri" in replay.text


async def test_pushed_request_uri_of_another_client(provider: Provider) -> None:
    request_uri = await _pushed(
        provider, {"client_id": CONFIDENTIAL, "params": query(client_id=CONFIDENTIAL)}
    )
    response = await provider.browser.get(
        "/authorize", params={"client_id": PUBLIC, "request_uri": request_uri}
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "invalid_request_uri" in response.text


async def test_expired_pushed_request_uri(provider: Provider) -> None:
    request_uri = await _pushed(provider, {"client_id": PUBLIC, "params": query()})
    provider.clock.advance(61)
    response = await provider.browser.get(
        "/authorize", params={"client_id": PUBLIC, "request_uri": request_uri}
    )
    assert response.status_code == 400
    assert "invalid_request_uri" in response.text


async def test_another_client_cannot_burn_a_pushed_request_uri(provider: Provider) -> None:
    """RFC 9126 §4: the request_uri is checked against the presenting client *before* it is
    consumed; another client's attempt leaves it usable by the client that pushed it."""
    await sign_in(provider.browser, query())
    request_uri = await _pushed(
        provider, {"client_id": PUBLIC, "params": query(state="mine", prompt="none")}
    )
    stolen = await provider.browser.get(
        "/authorize", params={"client_id": CONFIDENTIAL, "request_uri": request_uri}
    )
    assert stolen.status_code == 400
    assert "invalid_request_uri" in stolen.text
    front = {"client_id": PUBLIC, "request_uri": request_uri}
    result = rp_params(await provider.browser.get("/authorize", params=front))
    assert result["state"] == "mine"
    assert result["code"]
