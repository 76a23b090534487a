"""POST /introspect (RFC 7662) with the step-up members of RFC 9470 §6.2."""

from __future__ import annotations

from tests.helpers.harness import (
    CONFIDENTIAL,
    ISSUER,
    POST_CLIENT,
    PUBLIC,
    SECRET,
    Provider,
    provider,
)

__all__ = ["provider"]


async def test_active_access_token_carries_assurance(provider: Provider) -> None:
    body, claims = await provider.login_and_exchange()
    answer = await provider.introspect(body["access_token"])
    assert answer["active"] is True
    assert answer["sub"] == claims["sub"]
    assert answer["client_id"] == CONFIDENTIAL
    assert answer["iss"] == ISSUER
    assert answer["acr"] == claims["acr"]
    assert answer["amr"] == claims["amr"]
    assert answer["auth_time"] == claims["auth_time"]
    assert answer["scope"] == "openid"
    assert answer["token_type"] == "Bearer"
    assert "authorization_details" not in answer


async def test_unknown_token_is_inactive(provider: Provider) -> None:
    assert await provider.introspect("no-such-token") == {"active": False}
    assert await provider.introspect("a.b.c") == {"active": False}


async def test_expired_access_token_is_inactive(provider: Provider) -> None:
    body, _ = await provider.login_and_exchange()
    provider.clock.advance(provider.state.config.ttl.access_token + 1)
    assert await provider.introspect(body["access_token"]) == {"active": False}


async def test_refresh_token_introspection_is_for_its_client_only(provider: Provider) -> None:
    body, claims = await provider.login_and_exchange(scope="openid offline_access")
    own = await provider.introspect(body["refresh_token"])
    assert own["active"] is True
    assert own["auth_time"] == claims["auth_time"]
    other = await provider.browser.post(
        "/introspect",
        data={"token": body["refresh_token"], "client_id": POST_CLIENT, "client_secret": SECRET},
    )
    assert other.json() == {"active": False}


async def test_public_client_cannot_use_introspection_as_a_token_oracle(
    provider: Provider,
) -> None:
    """RFC 7662 §2.1: only an authenticated (confidential) client may introspect; a public
    client, which anyone can name, learns nothing about a token it found."""
    body, _ = await provider.login_and_exchange(scope="openid offline_access")
    for token in (body["access_token"], body["refresh_token"]):
        response = await provider.browser.post(
            "/introspect", data={"token": token, "client_id": PUBLIC}
        )
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert "active" not in response.json()


async def test_introspection_requires_client_authentication(provider: Provider) -> None:
    body, _ = await provider.login_and_exchange()
    response = await provider.browser.post("/introspect", data={"token": body["access_token"]})
    assert response.status_code == 401
    wrong = await provider.browser.post(
        "/introspect", data={"token": body["access_token"]}, auth=(CONFIDENTIAL, SECRET + "!")
    )
    assert wrong.status_code == 401


async def test_introspection_requires_a_token(provider: Provider) -> None:
    response = await provider.browser.post("/introspect", data={}, auth=(CONFIDENTIAL, SECRET))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_rotated_refresh_token_is_inactive(provider: Provider) -> None:
    body, _ = await provider.login_and_exchange(scope="openid offline_access")
    rotated = await provider.token(
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    )
    assert rotated.status_code == 200
    assert await provider.introspect(body["refresh_token"]) == {"active": False}
    assert (await provider.introspect(rotated.json()["refresh_token"]))["active"] is True
