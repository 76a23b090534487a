"""RP-Initiated Logout 1.0 at /logout (end_session_endpoint)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Connection, text

from stepauth.provider.sessions import revoke_session
from tests.helpers.harness import (
    CONFIDENTIAL,
    LOGOUT_REDIRECT_URI,
    REDIRECT_URI,
    Provider,
    decode_unverified,
    pkce_pair,
    provider,
)

__all__ = ["provider"]


async def _is_signed_in(provider: Provider) -> bool:
    _, challenge = pkce_pair()
    result = await provider.authorize(code_challenge=challenge, prompt="none")
    return "code" in result.params


async def test_logout_with_id_token_hint_ends_the_session(provider: Provider) -> None:
    body, _ = await provider.login_and_exchange()
    assert await _is_signed_in(provider)
    response = await provider.browser.get(
        "/logout",
        params={
            "id_token_hint": body["id_token"],
            "post_logout_redirect_uri": LOGOUT_REDIRECT_URI,
            "state": "bye",
        },
    )
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location._replace(query="").geturl() == LOGOUT_REDIRECT_URI
    assert parse_qs(location.query) == {"state": ["bye"]}
    assert not await _is_signed_in(provider)


async def test_expired_id_token_hint_still_identifies(provider: Provider) -> None:
    body, _ = await provider.login_and_exchange()
    provider.clock.advance(provider.state.config.ttl.id_token + 60)
    response = await provider.browser.get("/logout", params={"id_token_hint": body["id_token"]})
    assert response.status_code == 200
    assert "signed out" in response.text


@pytest.mark.parametrize(
    "uri",
    ["https://evil.example/", LOGOUT_REDIRECT_URI + "/x", LOGOUT_REDIRECT_URI + "?a=1"],
)
async def test_unregistered_post_logout_redirect_is_never_followed(
    provider: Provider, uri: str
) -> None:
    """No open redirector: only an exactly registered URI is followed."""
    body, _ = await provider.login_and_exchange()
    response = await provider.browser.get(
        "/logout", params={"id_token_hint": body["id_token"], "post_logout_redirect_uri": uri}
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert await _is_signed_in(provider)


async def test_redirect_without_hint_or_client_id_is_refused(provider: Provider) -> None:
    response = await provider.browser.get(
        "/logout", params={"post_logout_redirect_uri": LOGOUT_REDIRECT_URI}
    )
    assert response.status_code == 400


async def test_forged_id_token_hint_is_refused(provider: Provider) -> None:
    body, _ = await provider.login_and_exchange()
    header, payload, signature = body["id_token"].split(".")
    response = await provider.browser.get(
        "/logout", params={"id_token_hint": f"{header}.{payload}.{signature[::-1]}"}
    )
    assert response.status_code == 400
    assert await _is_signed_in(provider)


async def test_access_token_is_refused_as_logout_id_token_hint(provider: Provider) -> None:
    """RP-Initiated Logout §2: the hint is an ID Token; an access token (same key, same
    sub) does not end the session."""
    body, _ = await provider.login_and_exchange()
    response = await provider.browser.get("/logout", params={"id_token_hint": body["access_token"]})
    assert response.status_code == 400
    assert await _is_signed_in(provider)


async def test_logout_without_hint_asks_for_confirmation(provider: Provider) -> None:
    """Without a hint a cross-site GET cannot end the session: a CSRF-protected form asks."""
    await provider.login_and_exchange()
    page = await provider.browser.get(
        "/logout",
        params={"client_id": CONFIDENTIAL, "post_logout_redirect_uri": LOGOUT_REDIRECT_URI},
    )
    assert page.status_code == 200
    assert await _is_signed_in(provider)
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match
    confirmed = await provider.browser.post("/logout", data={"csrf": match.group(1)})
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == LOGOUT_REDIRECT_URI
    assert not await _is_signed_in(provider)


async def test_logout_confirmation_with_a_forged_csrf_token_fails(provider: Provider) -> None:
    await provider.login_and_exchange()
    response = await provider.browser.post("/logout", data={"csrf": "guessed"})
    assert response.status_code == 400
    assert await _is_signed_in(provider)


async def test_logout_confirmation_token_is_single_use(provider: Provider) -> None:
    await provider.login_and_exchange()
    page = await provider.browser.get("/logout")
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match
    assert (
        await provider.browser.post("/logout", data={"csrf": match.group(1)})
    ).status_code == 200
    assert (
        await provider.browser.post("/logout", data={"csrf": match.group(1)})
    ).status_code == 400


async def test_hint_for_another_user_needs_confirmation(provider: Provider) -> None:
    """A hint naming someone else never ends this browser's session silently."""
    await provider.create_user("bob", "bob's long password 123")
    bob = provider.new_browser()
    verifier, challenge = pkce_pair()
    result = await provider.authorize(
        browser=bob,
        code_challenge=challenge,
        nonce="n",
        username="bob",
        password="bob's long password 123",
    )
    bob_tokens = await provider.exchange(result.code, verifier)
    await provider.login_and_exchange()  # alice in the main browser
    response = await provider.browser.get(
        "/logout", params={"id_token_hint": bob_tokens["id_token"]}
    )
    assert response.status_code == 200
    assert 'name="csrf"' in response.text
    assert await _is_signed_in(provider)


async def _refresh(provider: Provider, token: str) -> dict[str, object]:
    response = await provider.token({"grant_type": "refresh_token", "refresh_token": token})
    body: dict[str, object] = response.json()
    body["status"] = response.status_code
    return body


async def test_logout_revokes_what_the_session_issued(provider: Provider) -> None:
    """Logout ends the session's grants, including those from before a re-authentication
    (the id rotated, the ``sid`` did not): refresh → invalid_grant, introspection → inactive,
    an unredeemed code → invalid_grant. Another browser's session of the same user keeps
    its tokens (NIST SP 800-63B-4 §5.1, §5.1.1: session secrets erased at logout; ASVS 3.3.1)."""
    first, first_claims = await provider.login_and_exchange(scope="openid offline_access")
    second, second_claims = await provider.login_and_exchange(
        scope="openid offline_access", prompt="login"
    )
    assert first_claims["sid"] == second_claims["sid"]
    verifier, challenge = pkce_pair()
    pending = await provider.authorize(code_challenge=challenge, expect_login=False)

    elsewhere = provider.new_browser()
    other_verifier, other_challenge = pkce_pair()
    result = await provider.authorize(
        browser=elsewhere, code_challenge=other_challenge, scope="openid offline_access"
    )
    other = await provider.exchange(result.code, other_verifier)
    assert decode_unverified(other["id_token"])["sid"] != first_claims["sid"]

    response = await provider.browser.get("/logout", params={"id_token_hint": second["id_token"]})
    assert response.status_code == 200
    assert not await _is_signed_in(provider)

    for body in (first, second):
        refreshed = await _refresh(provider, str(body["refresh_token"]))
        assert refreshed["status"] == 400
        assert refreshed["error"] == "invalid_grant"
        assert (await provider.introspect(str(body["refresh_token"]))) == {"active": False}
        assert (await provider.introspect(str(body["access_token"]))) == {"active": False}
    redeemed = await provider.token(
        {
            "grant_type": "authorization_code",
            "code": pending.code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        }
    )
    assert redeemed.status_code == 400
    assert redeemed.json()["error"] == "invalid_grant"

    assert (await provider.introspect(str(other["access_token"])))["active"] is True
    assert (await _refresh(provider, str(other["refresh_token"])))["status"] == 200


async def test_confirmed_logout_revokes_the_session_refresh_token(provider: Provider) -> None:
    """Logout without a hint (confirmed on the CSRF-protected page) revokes as well."""
    body, _ = await provider.login_and_exchange(scope="openid offline_access")
    page = await provider.browser.get("/logout")
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match is not None
    confirmed = await provider.browser.post("/logout", data={"csrf": match.group(1)})
    assert confirmed.status_code == 200
    refreshed = await _refresh(provider, str(body["refresh_token"]))
    assert refreshed["error"] == "invalid_grant"
    assert (await provider.introspect(str(body["refresh_token"]))) == {"active": False}


async def test_refresh_in_flight_when_the_session_ends_hands_out_nothing(
    provider: Provider,
) -> None:
    """A refresh that took its token just before the logout revoked the session's items,
    and stores its new tokens only after it: it answers invalid_grant, and nothing it
    stored stays live (ASVS 3.3.1: no token outlives the logout)."""
    body, claims = await provider.login_and_exchange(scope="openid offline_access")
    sid = str(claims["sid"])
    store = provider.store
    put = store.put

    async def put_after_logout(kind: str, key: str, payload: Any, **kwargs: Any) -> None:
        if kind == "refresh_token":  # the logout lands between the take and this store
            store.put = put
            await revoke_session(provider.state, sid)
        await put(kind, key, payload, **kwargs)

    store.put = put_after_logout
    refreshed = await _refresh(provider, str(body["refresh_token"]))
    assert (refreshed["status"], refreshed["error"]) == (400, "invalid_grant")

    def live(conn: Connection) -> int:
        query = text(
            "SELECT count(*) FROM items WHERE sid = :sid AND NOT revoked"
            " AND kind IN ('refresh_token', 'access_token')"
        )
        return int(conn.execute(query, {"sid": sid}).scalar_one())

    assert await store.run_sync(live) == 0
