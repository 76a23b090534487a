"""POST /token: authorization_code and refresh_token grants (RFC 6749 §4.1.3, §6; RFC 7636).

Attacks each have their own test: a replayed code revokes what it issued, PKCE missing or
wrong, redirect_uri mismatch, a code of another client, a reused refresh token revokes the
grant, and a refresh never upgrades assurance (OIDC Core §12.2;
RFC 9470 §6.1; NIST SP 800-63B-4 §5.1).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from tests.helpers.harness import (
    CONFIDENTIAL,
    PUBLIC,
    REDIRECT_URI,
    SECRET,
    Provider,
    check_id_token,
    decode_unverified,
    pkce_pair,
    provider,
    provider_on_each_db,
)

__all__ = ["provider", "provider_on_each_db"]

#: RFC 6749 §5.2: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ).
ALLOWED_DESCRIPTION = frozenset(
    chr(c) for c in [*range(0x20, 0x22), *range(0x23, 0x5C), *range(0x5D, 0x7F)]
)


def form_body_pairs(pairs: list[tuple[str, str]]) -> str:
    return urlencode(pairs)


async def _code(provider: Provider, **params: str) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    result = await provider.authorize(code_challenge=challenge, nonce="n", **params)
    return result.code, verifier


def _code_request(code: str, verifier: str | None, **extra: str) -> dict[str, str]:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    if verifier is not None:
        data["code_verifier"] = verifier
    data.update(extra)
    return data


async def test_code_exchange_response(provider: Provider) -> None:
    """RFC 6749 §5.1 / OIDC Core §3.1.3.3: the token response, never cached."""
    code, verifier = await _code(provider)
    response = await provider.token(_code_request(code, verifier))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "openid"
    assert body["expires_in"] > 0
    assert "refresh_token" not in body  # no offline_access asked
    access = decode_unverified(body["access_token"])
    assert access["client_id"] == CONFIDENTIAL
    assert access["acr"]
    assert access["amr"] == ["pwd"]
    assert isinstance(access["auth_time"], int)


async def test_replayed_code_revokes_tokens(provider_on_each_db: Provider) -> None:
    """RFC 6749 §4.1.2: a code used twice fails and every token it issued stops working."""
    provider = provider_on_each_db
    code, verifier = await _code(provider, scope="openid offline_access")
    first = await provider.exchange(code, verifier)
    assert (await provider.introspect(first["access_token"]))["active"] is True
    replay = await provider.token(_code_request(code, verifier))
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert await provider.introspect(first["access_token"]) == {"active": False}
    refresh = await provider.token(
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"
    userinfo = await provider.browser.get(
        "/userinfo", headers={"Authorization": f"Bearer {first['access_token']}"}
    )
    assert userinfo.status_code == 401


async def test_pkce_wrong_verifier_is_rejected(provider: Provider) -> None:
    code, _ = await _code(provider)
    other, _ = pkce_pair()
    response = await provider.token(_code_request(code, other))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_pkce_missing_verifier_is_rejected(provider: Provider) -> None:
    code, _ = await _code(provider)
    response = await provider.token(_code_request(code, None))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_pkce_malformed_verifier_is_rejected(provider: Provider) -> None:
    """RFC 7636 §4.1: 43–128 unreserved characters; a short verifier never matches."""
    code, _ = await _code(provider)
    response = await provider.token(_code_request(code, "short"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_code_is_burnt_by_a_failed_pkce_attempt(provider: Provider) -> None:
    """A stolen code tried with a guessed verifier is gone for good (single use)."""
    code, verifier = await _code(provider)
    wrong, _ = pkce_pair()
    assert (await provider.token(_code_request(code, wrong))).status_code == 400
    assert (await provider.token(_code_request(code, verifier))).status_code == 400


async def test_redirect_uri_mismatch_is_rejected(provider: Provider) -> None:
    code, verifier = await _code(provider)
    response = await provider.token(
        _code_request(code, verifier, redirect_uri="https://rp.example/callback/other")
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_code_of_another_client_is_rejected(provider: Provider) -> None:
    code, verifier = await _code(provider)
    response = await provider.token(_code_request(code, verifier), client_id=PUBLIC, secret=None)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_unknown_code_is_invalid_grant(provider: Provider) -> None:
    _, verifier = pkce_pair()
    response = await provider.token(_code_request("not-a-code", verifier))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_expired_code_is_invalid_grant(provider: Provider) -> None:
    code, verifier = await _code(provider)
    provider.clock.advance(provider.state.config.ttl.code + 1)
    response = await provider.token(_code_request(code, verifier))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_unsupported_grant_type(provider: Provider) -> None:
    response = await provider.token({"grant_type": "password", "username": "a", "password": "b"})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_repeated_parameter_is_invalid_request(provider: Provider) -> None:
    response = await provider.browser.post(
        "/token",
        content="grant_type=authorization_code&code=a&code=b",
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=(CONFIDENTIAL, "s3cr3t-" + "x" * 24),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "body",
    [
        b"grant_type=authorization_code&code=%FF%FE",  # not UTF-8 once decoded
        b"grant_type=authorization_code&code=\xff",  # not UTF-8 on the wire
        b"&".join(b"p%d=1" % i for i in range(1001)),  # more fields than any request needs
    ],
)
async def test_malformed_form_body_is_invalid_request(provider: Provider, body: bytes) -> None:
    """RFC 6749 §3.2: the token endpoint takes a well-formed urlencoded body; anything
    else fails closed with invalid_request (never a partial parse)."""
    response = await provider.browser.post(
        "/token",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=(CONFIDENTIAL, "s3cr3t-" + "x" * 24),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_form_with_charset_is_read(provider: Provider) -> None:
    """A urlencoded body with a charset parameter is still the form (RFC 6749 §3.2)."""
    response = await provider.browser.post(
        "/token",
        content="grant_type=password",
        headers={"content-type": "application/x-www-form-urlencoded; charset=UTF-8"},
        auth=(CONFIDENTIAL, "s3cr3t-" + "x" * 24),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def _refresh(provider: Provider, token: str, **extra: str) -> Any:
    return await provider.token({"grant_type": "refresh_token", "refresh_token": token, **extra})


async def test_refresh_token_is_rotated(provider: Provider) -> None:
    body, _ = await provider.login_and_exchange(scope="openid offline_access")
    first = await _refresh(provider, body["refresh_token"])
    assert first.status_code == 200
    second = await _refresh(provider, first.json()["refresh_token"])
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first.json()["refresh_token"]


async def test_reused_refresh_token_revokes_the_grant(provider_on_each_db: Provider) -> None:
    """RFC 9700 §4.14.2: a rotated refresh token presented again ends the whole grant."""
    provider = provider_on_each_db
    body, _ = await provider.login_and_exchange(scope="openid offline_access")
    rotated = (await _refresh(provider, body["refresh_token"])).json()
    reuse = await _refresh(provider, body["refresh_token"])
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    # The legitimate holder's newer tokens are dead too.
    assert (await _refresh(provider, rotated["refresh_token"])).status_code == 400
    assert await provider.introspect(rotated["access_token"]) == {"active": False}
    assert await provider.introspect(body["access_token"]) == {"active": False}


async def test_refresh_never_upgrades_acr_or_auth_time(provider: Provider) -> None:
    """OIDC Core §12.2 (RFC 9470 §6.1; NIST SP 800-63B-4 §5.1): a refresh repeats the original
    auth_time/acr/amr, even after the same user re-authenticated in the browser since."""
    body, first = await provider.login_and_exchange(scope="openid offline_access")
    provider.clock.advance(120)
    _, relogin = await provider.login_and_exchange(prompt="login")
    assert relogin["auth_time"] > first["auth_time"]
    provider.clock.advance(5)
    response = await _refresh(provider, body["refresh_token"])
    assert response.status_code == 200
    refreshed = response.json()
    claims = await check_id_token(
        provider, refreshed["id_token"], client_id=CONFIDENTIAL, nonce=None
    )
    assert claims["auth_time"] == first["auth_time"]
    assert claims["acr"] == first["acr"]
    assert claims["amr"] == first["amr"]
    assert "nonce" not in claims
    access = decode_unverified(refreshed["access_token"])
    assert access["auth_time"] == first["auth_time"]
    assert access["acr"] == first["acr"]


async def test_refresh_scope_cannot_widen(provider: Provider) -> None:
    body, _ = await provider.login_and_exchange(scope="openid offline_access")
    response = await _refresh(provider, body["refresh_token"], scope="openid offline_access admin")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_refresh_token_of_another_client_is_rejected(provider: Provider) -> None:
    body, _ = await provider.login_and_exchange(scope="openid offline_access")
    response = await provider.token(
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        client_id=PUBLIC,
        secret=None,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_disabled_user_cannot_refresh(provider: Provider) -> None:
    body, claims = await provider.login_and_exchange(scope="openid offline_access")
    await provider.store.set_user_disabled(claims["sub"], True)
    response = await _refresh(provider, body["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_refused_refresh_does_not_consume_the_refresh_token(provider: Provider) -> None:
    """A refresh refused for its scope is checked before the single atomic consume: the
    token stays usable (the old code consumed first, so the next use "replayed" it and the
    whole grant was revoked)."""
    body, _ = await provider.login_and_exchange(scope="openid offline_access")
    refused = await _refresh(provider, body["refresh_token"], scope="openid admin")
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"
    retried = await _refresh(provider, body["refresh_token"])
    assert retried.status_code == 200, retried.text
    assert (await provider.introspect(retried.json()["access_token"]))["active"] is True


async def test_another_client_cannot_burn_a_refresh_token(provider: Provider) -> None:
    """Another client presenting a stolen refresh token is refused without consuming it, so
    it cannot end its owner's grant."""
    body, _ = await provider.login_and_exchange(scope="openid offline_access")
    stolen = await provider.token(
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        client_id=PUBLIC,
        secret=None,
    )
    assert stolen.status_code == 400
    own = await _refresh(provider, body["refresh_token"])
    assert own.status_code == 200, own.text


@pytest.mark.parametrize(
    "grant_type",
    ['bad"quote', "back\\slash", "caf\u00e9 \u2603", "line\r\nbreak", "<script>x</script>"],
)
async def test_error_description_never_echoes_raw_input(
    provider: Provider, grant_type: str
) -> None:
    """RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E, and it never
    repeats what the client sent."""
    response = await provider.token({"grant_type": grant_type})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "unsupported_grant_type"
    description = body["error_description"]
    assert all(c in ALLOWED_DESCRIPTION for c in description), description
    assert grant_type not in description


@pytest.mark.parametrize("name", ['x"y', "a\\b", "\u00e9t\u00e9"])
async def test_repeated_parameter_description_has_no_raw_name(
    provider: Provider, name: str
) -> None:
    response = await provider.browser.post(
        "/token",
        content=form_body_pairs([(name, "1"), (name, "2")]),
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=(CONFIDENTIAL, SECRET),
    )
    assert response.status_code == 400
    description = response.json()["error_description"]
    assert all(c in ALLOWED_DESCRIPTION for c in description), description
    assert name not in description
