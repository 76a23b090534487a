"""OpenID conformance behaviours (the OpenID Foundation
suite's oidcc-* tests) as black-box tests over HTTP.

Each test reproduces one ``oidcc-*`` test of the OpenID Foundation suite against a running
Provider: a real login form, a real store, the standard ID Token checks of
``PerformStandardIdTokenChecks`` on every ID Token.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from tests.helpers.harness import (
    ACR_1FA,
    ACR_2FA,
    CONFIDENTIAL,
    PUBLIC,
    Provider,
    check_id_token,
    decode_header,
    pkce_pair,
)


async def _again(
    provider: Provider, *, expect_login: bool, nonce: str = "n2", **params: str
) -> dict[str, Any]:
    """A further authorization in the same browser, redeemed; its checked ID Token claims."""
    verifier, challenge = pkce_pair()
    result = await provider.authorize(
        code_challenge=challenge, nonce=nonce, expect_login=expect_login, **params
    )
    body = await provider.exchange(result.code, verifier)
    return await check_id_token(provider, body["id_token"], client_id=CONFIDENTIAL, nonce=nonce)


async def test_oidcc_server_standard_id_token_checks(provider: Provider) -> None:
    """OpenID conformance suite: PerformStandardIdTokenChecks: a plain code flow yields an ID
    Token passing the standard checks.
    """
    body, claims = await provider.login_and_exchange()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int)
    assert body["access_token"]
    assert "auth_time" in claims
    assert claims["amr"] == ["pwd"]


async def test_oidcc_server_public_client_es256(provider: Provider) -> None:
    """OpenID conformance suite: PerformStandardIdTokenChecks for a public client (auth method
    ``none`` + PKCE) with ES256 ID Tokens.
    """
    body, claims = await provider.login_and_exchange(client_id=PUBLIC, secret=None)
    assert decode_header(body["id_token"])["alg"] == "ES256"
    assert claims["aud"] == PUBLIC


async def test_oidcc_max_age_1(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-max-age-1: after 2 s, ``max_age=1`` shows the login page
    again; auth_time moves forward.
    """
    _, first = await provider.login_and_exchange()
    provider.clock.advance(2)
    second = await _again(provider, nonce=secrets.token_urlsafe(8), max_age="1", expect_login=True)
    assert "auth_time" in second  # CheckIdTokenAuthTimeClaimPresentDueToMaxAge
    assert second["auth_time"] > first["auth_time"]  # CheckSecondIdTokenAuthTimeIsLaterIfPresent
    assert abs(provider.clock() - second["auth_time"]) <= 1 + 300  # ...IsRecentIfPresent
    assert second["sub"] == first["sub"]


async def test_oidcc_max_age_10000(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-max-age-10000: ``max_age=15000``
    then ``max_age=10000``: no second login, same auth_time.
    """
    _, first = await provider.login_and_exchange(max_age="15000")
    provider.clock.advance(2)
    second = await _again(provider, max_age="10000", expect_login=False)
    assert "auth_time" in first
    assert "auth_time" in second
    assert second["auth_time"] == first["auth_time"]
    assert second["sub"] == first["sub"]


async def test_oidcc_prompt_login(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-prompt-login: ``prompt=login`` re-authenticates; a later
    auth_time (equal is a failure).
    """
    _, first = await provider.login_and_exchange()
    provider.clock.advance(1)
    second = await _again(provider, prompt="login", expect_login=True)
    assert second["auth_time"] > first["auth_time"]


async def test_oidcc_prompt_none_logged_in(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-prompt-none-logged-in: with a session, ``prompt=none``
    succeeds silently with the same sub/auth_time.
    """
    _, first = await provider.login_and_exchange()
    provider.clock.advance(1)
    second = await _again(provider, prompt="none", expect_login=False)
    assert second["sub"] == first["sub"]
    assert second["auth_time"] == first["auth_time"]


async def test_oidcc_prompt_none_not_logged_in(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-prompt-none-not-logged-in: no session + ``prompt=none`` → an
    error that needs UI; 128-char state intact.
    """
    state = secrets.token_hex(64)
    assert len(state) == 128
    _, challenge = pkce_pair()
    result = await provider.authorize(
        code_challenge=challenge, prompt="none", state=state, expect_login=False
    )
    assert result.params["error"] in {
        "interaction_required",
        "login_required",
        "account_selection_required",
        "consent_required",
    }
    assert result.params["state"] == state
    assert "code" not in result.params


async def test_oidcc_id_token_hint(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-id-token-hint: ``prompt=none`` + ``id_token_hint`` = the
    first ID Token succeeds at once.
    """
    body, first = await provider.login_and_exchange()
    provider.clock.advance(1)
    second = await _again(
        provider, prompt="none", id_token_hint=body["id_token"], expect_login=False
    )
    assert second["sub"] == first["sub"]
    assert second["auth_time"] == first["auth_time"]


async def test_oidcc_ensure_request_with_acr_values_succeeds(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-ensure-request-with-acr-values-succeeds: ``acr_values`` = all
    of ``acr_values_supported`` must not fail the request.
    """
    metadata = (await provider.browser.get("/.well-known/openid-configuration")).json()
    supported = metadata["acr_values_supported"]
    assert ACR_1FA in supported
    assert ACR_2FA in supported
    # Exactly as the suite sends it: every supported value, in the advertised order.
    _, claims = await provider.login_and_exchange(acr_values=" ".join(supported))
    assert claims["acr"] in supported


async def test_oidcc_ensure_request_with_acr_values_succeeds_for_enforcing_client(
    provider: Provider,
) -> None:
    """OpenID conformance suite: oidcc-ensure-request-with-acr-values-succeeds for a client that
    enforces acr_values (the default): a met value succeeds.
    """
    metadata = (await provider.browser.get("/.well-known/openid-configuration")).json()
    _, claims = await provider.login_and_exchange(
        client_id=PUBLIC, secret=None, acr_values=" ".join(metadata["acr_values_supported"])
    )
    assert claims["acr"] in metadata["acr_values_supported"]


async def test_oidcc_claims_essential(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-claims-essential:
    an essential userinfo claim (``name``) must not fail the request.
    """
    claims_request = json.dumps({"userinfo": {"name": {"essential": True}}})
    body, id_claims = await provider.login_and_exchange(claims=claims_request)
    assert "name" not in id_claims  # requested for userinfo only
    response = await provider.browser.get(
        "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert response.status_code == 200
    assert response.json()["sub"] == id_claims["sub"]


async def test_oidcc_claims_essential_acr_value(provider: Provider) -> None:
    """OpenID conformance suite: PerformStandardIdTokenChecks
    (``ValidateIdTokenACRClaimAgainstRequest``): an essential acr ``value`` is honoured.
    """
    claims_request = json.dumps({"id_token": {"acr": {"essential": True, "value": ACR_1FA}}})
    _, claims = await provider.login_and_exchange(claims=claims_request, requested_acr=[ACR_1FA])
    assert claims["acr"] == ACR_1FA


async def test_oidcc_codereuse(provider: Provider) -> None:
    """oidcc-codereuse: the second use of a code fails, and the first tokens stop working."""
    verifier, challenge = pkce_pair()
    result = await provider.authorize(code_challenge=challenge, nonce="n")
    body = await provider.exchange(result.code, verifier)
    assert (await provider.introspect(body["access_token"]))["active"] is True
    again = await provider.token(
        {
            "grant_type": "authorization_code",
            "code": result.code,
            "redirect_uri": "https://rp.example/callback",
            "code_verifier": verifier,
        }
    )
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert (await provider.introspect(body["access_token"])) == {"active": False}


async def test_oidcc_refresh_token(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-refresh-token: the refreshed ID
    Token keeps iss, sub, aud and auth_time; new iat; no nonce.
    """
    body, first = await provider.login_and_exchange(scope="openid offline_access")
    assert body["refresh_token"]
    provider.clock.advance(30)
    response = await provider.token(
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    )
    assert response.status_code == 200, response.text
    refreshed = response.json()
    assert refreshed["refresh_token"] != body["refresh_token"]
    second = await check_id_token(
        provider, refreshed["id_token"], client_id=CONFIDENTIAL, nonce=None
    )
    for name in ("iss", "sub", "aud", "auth_time", "acr", "amr"):
        assert second[name] == first[name], name
    assert second["iat"] > first["iat"]


async def test_oidcc_ensure_request_with_unknown_parameter_succeeds(provider: Provider) -> None:
    """OIDC Core §3.1.2.2: unrecognised request parameters are ignored."""
    _, claims = await provider.login_and_exchange(
        extra_param="ignored", another_unknown="x y z", acr_values="urn:example:unknown"
    )
    assert claims["sub"]
