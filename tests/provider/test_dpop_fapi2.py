"""FAPI 2.0 Security Profile §5.3.2.1 token-side rules for a client with ``profile = "fapi2"``.

DPoP on every token request, authorization codes that live at most 60 s (even with a
longer ``[ttl] code``), and refresh tokens that are not rotated; an ordinary client keeps
rotating, and a client may choose either way with ``rotate_refresh_tokens``.

The fapi2 client passes the authorization side of the profile first: its codes come
through PAR with a signed request object and private_key_jwt (:func:`fapi_code`), and it
authenticates at the token endpoint with a client assertion.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stepauth.errors import ConfigError
from stepauth.provider.config import ProviderConfig
from stepauth.provider.profiles.fapi2 import code_lifetime
from tests.helpers.client_side import DPoPKey, code_grant, refresh_grant
from tests.helpers.harness import (
    CONFIDENTIAL,
    Provider,
    config_data,
    decode_header,
    pkce_pair,
    running_provider,
)
from tests.provider.dpop_proofs import (
    FAPI,
    assert_error,
    code_for,
    dpop_clients,
    dpop_provider,
    fapi_code,
    post_token,
)
from tests.provider.fapi import (
    assert_error_page,
    auth_params,
)

OFFLINE = "openid offline_access"


@pytest.fixture
async def provider(tmp_path: Path) -> AsyncIterator[Provider]:
    async with dpop_provider(tmp_path, ttl={"code": 300}) as running:
        yield running


async def _fapi_tokens(provider: Provider, key: DPoPKey) -> dict[str, str]:
    code, verifier = await fapi_code(provider, scope=OFFLINE)
    response = await post_token(
        provider, code_grant(code, verifier), proof=key.proof(now=provider.clock()), client_id=FAPI
    )
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


async def test_fapi2_client_with_a_proof_gets_dpop_tokens(provider: Provider) -> None:
    """The whole profile on one client: PAR + signed request object + private_key_jwt,
    then a DPoP-bound access token and an ES256 ID token (§5.4)."""
    tokens = await _fapi_tokens(provider, DPoPKey())
    assert tokens["token_type"] == "DPoP"
    assert decode_header(tokens["id_token"])["alg"] == "ES256"


async def test_fapi2_client_at_plain_authorize_is_refused(provider: Provider) -> None:
    """§5.3.2.2: the fixture's client is held to PAR (an unpushed request is refused)."""
    _, challenge = pkce_pair()
    response = await provider.browser.get("/authorize", params=auth_params(challenge, FAPI))
    assert_error_page(response, "invalid_request")


async def test_fapi2_client_without_a_proof_is_refused(provider: Provider) -> None:
    code, verifier = await fapi_code(provider)
    response = await post_token(provider, code_grant(code, verifier), client_id=FAPI)
    assert_error(response, 400, "invalid_dpop_proof")


async def test_fapi2_code_older_than_60_seconds_is_refused(provider: Provider) -> None:
    """FAPI 2.0 §5.3.2.1: codes live at most 60 s, whatever [ttl] code (300 here) says."""
    code, verifier = await fapi_code(provider)
    provider.clock.advance(61)
    response = await post_token(
        provider,
        code_grant(code, verifier),
        proof=DPoPKey().proof(now=provider.clock()),
        client_id=FAPI,
    )
    assert_error(response, 400, "invalid_grant")


async def test_ordinary_client_code_keeps_the_configured_lifetime(provider: Provider) -> None:
    code, verifier = await code_for(provider, client_id=CONFIDENTIAL)
    provider.clock.advance(61)
    body = await provider.exchange(code, verifier)
    assert body["access_token"]


async def test_fapi2_refresh_token_is_not_rotated(provider: Provider) -> None:
    """FAPI 2.0 §5.3.2.1: no refresh-token rotation; the same token keeps working."""
    key = DPoPKey()
    tokens = await _fapi_tokens(provider, key)
    for _ in range(2):
        response = await post_token(
            provider,
            refresh_grant(tokens["refresh_token"]),
            proof=key.proof(now=provider.clock()),
            client_id=FAPI,
        )
        assert response.status_code == 200, response.text
        assert response.json()["refresh_token"] == tokens["refresh_token"]
        assert response.json()["token_type"] == "DPoP"


async def test_fapi2_refresh_without_a_proof_is_refused(provider: Provider) -> None:
    tokens = await _fapi_tokens(provider, DPoPKey())
    response = await post_token(provider, refresh_grant(tokens["refresh_token"]), client_id=FAPI)
    assert_error(response, 400, "invalid_dpop_proof")


async def test_fapi2_client_that_opts_in_rotates_its_refresh_token(tmp_path: Path) -> None:
    """``rotate_refresh_tokens = true`` on the fapi2 client: a new refresh token on each
    refresh (still DPoP-bound), and the old one is then single use (RFC 9700 §4.14.2)."""
    clients = dpop_clients(tmp_path)
    clients[-1]["rotate_refresh_tokens"] = True
    async with running_provider(tmp_path, clients=clients) as provider:
        await provider.create_user()
        key = DPoPKey()
        tokens = await _fapi_tokens(provider, key)
        response = await post_token(
            provider,
            refresh_grant(tokens["refresh_token"]),
            proof=key.proof(now=provider.clock()),
            client_id=FAPI,
        )
        assert response.status_code == 200, response.text
        assert response.json()["refresh_token"] != tokens["refresh_token"]
        assert response.json()["token_type"] == "DPoP"
        again = await post_token(
            provider,
            refresh_grant(tokens["refresh_token"]),
            proof=key.proof(now=provider.clock()),
            client_id=FAPI,
        )
        assert_error(again, 400, "invalid_grant")


async def test_ordinary_client_refresh_token_is_still_rotated(provider: Provider) -> None:
    """RFC 9700 §4.14.2: every other client rotates, and a rotated token is single use."""
    code, verifier = await code_for(provider, client_id=CONFIDENTIAL, scope=OFFLINE)
    first = await provider.exchange(code, verifier)
    response = await post_token(
        provider, refresh_grant(first["refresh_token"]), client_id=CONFIDENTIAL
    )
    assert response.json()["refresh_token"] != first["refresh_token"]
    again = await post_token(
        provider, refresh_grant(first["refresh_token"]), client_id=CONFIDENTIAL
    )
    assert_error(again, 400, "invalid_grant")


def test_rotation_follows_the_client_setting_over_the_profile(tmp_path: Path) -> None:
    clients = dpop_clients(tmp_path)
    clients[-1]["rotate_refresh_tokens"] = True  # the fapi2 client opts in
    clients[0]["rotate_refresh_tokens"] = False  # an ordinary client opts out
    config = ProviderConfig.from_dict(config_data(tmp_path / "x.db", clients=clients))
    fapi, ordinary = config.client(FAPI), config.client(CONFIDENTIAL)
    assert fapi is not None
    assert ordinary is not None
    assert fapi.rotates_refresh_tokens is True
    assert ordinary.rotates_refresh_tokens is False
    assert fapi.requires_dpop
    assert not ordinary.requires_dpop
    assert code_lifetime(config, fapi) == 60


def test_unknown_profile_is_a_config_error(tmp_path: Path) -> None:
    clients = dpop_clients(tmp_path)
    clients[-1]["profile"] = "fapi1"
    with pytest.raises(ConfigError) as raised:
        ProviderConfig.from_dict(config_data(tmp_path / "x.db", clients=clients))
    assert raised.value.key == f"clients[{len(clients) - 1}].profile"
