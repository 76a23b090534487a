"""GET/POST /userinfo (OIDC Core §5.3) with RFC 6750 bearer tokens."""

from __future__ import annotations

import json

from tests.helpers.harness import USERNAME, Provider, provider

__all__ = ["provider"]


async def test_userinfo_get_with_bearer_header(provider: Provider) -> None:
    body, claims = await provider.login_and_exchange(scope="openid profile")
    response = await provider.browser.get(
        "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {"sub": claims["sub"], "preferred_username": USERNAME}


async def test_userinfo_post_with_form_token(provider: Provider) -> None:
    """RFC 6750 §2.2: the token in a form-encoded body."""
    body, claims = await provider.login_and_exchange()
    response = await provider.browser.post("/userinfo", data={"access_token": body["access_token"]})
    assert response.status_code == 200
    assert response.json() == {"sub": claims["sub"]}


async def test_userinfo_claims_request_member(provider: Provider) -> None:
    """OIDC Core §5.5: the userinfo member asks for claims without the profile scope."""
    request = json.dumps({"userinfo": {"preferred_username": None, "name": {"essential": True}}})
    body, _ = await provider.login_and_exchange(claims=request)
    response = await provider.browser.get(
        "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert response.json()["preferred_username"] == USERNAME
    assert "name" not in response.json()  # not known: left out, never an error (OIDC Core §5.5.1)


async def test_userinfo_without_token_is_challenged(provider: Provider) -> None:
    response = await provider.browser.get("/userinfo")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="stepauth"'


async def test_userinfo_rejects_a_forged_token(provider: Provider) -> None:
    body, _ = await provider.login_and_exchange()
    header, payload, signature = body["access_token"].split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    response = await provider.browser.get(
        "/userinfo", headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_userinfo_rejects_an_id_token_as_access_token(provider: Provider) -> None:
    """RFC 9068 §4: only ``typ: at+jwt`` is an access token (token confusion)."""
    body, _ = await provider.login_and_exchange()
    response = await provider.browser.get(
        "/userinfo", headers={"Authorization": f"Bearer {body['id_token']}"}
    )
    assert response.status_code == 401


async def test_userinfo_rejects_an_expired_token(provider: Provider) -> None:
    body, _ = await provider.login_and_exchange()
    provider.clock.advance(provider.state.config.ttl.access_token + 1)
    response = await provider.browser.get(
        "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert response.status_code == 401


async def test_userinfo_rejects_a_revoked_token(provider: Provider) -> None:
    body, _ = await provider.login_and_exchange()
    revoked = await provider.browser.post(
        "/revoke", data={"token": body["access_token"]}, auth=("bank-app", "s3cr3t-" + "x" * 24)
    )
    assert revoked.status_code == 200
    response = await provider.browser.get(
        "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert response.status_code == 401
