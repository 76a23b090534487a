"""POST /revoke (RFC 7009)."""

from __future__ import annotations

from tests.helpers.harness import CONFIDENTIAL, PUBLIC, SECRET, Provider, provider

__all__ = ["provider"]


async def _revoke(provider: Provider, token: str, **data: str) -> int:
    response = await provider.browser.post(
        "/revoke", data={"token": token, **data}, auth=(CONFIDENTIAL, SECRET)
    )
    return response.status_code


async def test_revoking_a_refresh_token_revokes_the_grant(provider: Provider) -> None:
    """RFC 7009 §2.1: the access tokens of the same grant die with the refresh token."""
    body, _ = await provider.login_and_exchange(scope="openid offline_access")
    assert await _revoke(provider, body["refresh_token"], token_type_hint="refresh_token") == 200
    assert await provider.introspect(body["access_token"]) == {"active": False}
    refresh = await provider.token(
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    )
    assert refresh.status_code == 400


async def test_revoking_an_access_token(provider: Provider) -> None:
    body, _ = await provider.login_and_exchange(scope="openid offline_access")
    assert await _revoke(provider, body["access_token"]) == 200
    assert await provider.introspect(body["access_token"]) == {"active": False}
    # The grant itself lives on.
    assert (await provider.introspect(body["refresh_token"]))["active"] is True


async def test_unknown_token_still_answers_200(provider: Provider) -> None:
    assert await _revoke(provider, "nothing-here") == 200


async def test_revoking_another_clients_token_is_refused_and_it_stays_active(
    provider: Provider,
) -> None:
    """RFC 7009 §2.1: the server verifies the token was issued to the requesting client;
    if not, "the request is refused and the client is informed of the error"."""
    body, _ = await provider.login_and_exchange(scope="openid offline_access")
    for token in (body["refresh_token"], body["access_token"]):
        response = await provider.browser.post(
            "/revoke", data={"token": token, "client_id": PUBLIC}
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"
    assert (await provider.introspect(body["refresh_token"]))["active"] is True
    assert (await provider.introspect(body["access_token"]))["active"] is True


async def test_revocation_requires_client_authentication(provider: Provider) -> None:
    response = await provider.browser.post("/revoke", data={"token": "x"})
    assert response.status_code == 401
