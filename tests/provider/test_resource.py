"""Resource Indicators (RFC 8707): the access token's ``aud`` is the API it was asked for.

Before, every access token named the issuer as its audience, so an API checking ``aud``
accepted any client's token, even a public client's from a silent ``prompt=none``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from stepauth.errors import ConfigError
from stepauth.provider.config import ProviderConfig
from tests.helpers.frontchannel import query, rp_params, sign_in
from tests.helpers.harness import (
    CONFIDENTIAL,
    ISSUER,
    PUBLIC,
    REDIRECT_URI,
    SECRET,
    Provider,
    config_data,
    decode_unverified,
    pkce_pair,
    running_provider,
)

PAYMENTS = "https://payments.example/api"
DEFAULT = "https://accounts.example/api"


def _config(tmp_path: Path) -> dict[str, Any]:
    data = config_data(tmp_path / "stepauth.db", default_resource=DEFAULT)
    for client in data["clients"]:
        if client["client_id"] == CONFIDENTIAL:
            client["resources"] = [PAYMENTS]
    return data


@pytest.fixture
async def provider(tmp_path: Path) -> AsyncIterator[Provider]:
    data = _config(tmp_path)
    overrides = {"default_resource": DEFAULT, "clients": data["clients"]}
    async with running_provider(tmp_path, **overrides) as running:
        await running.create_user()
        yield running


async def _code(provider: Provider, **params: str) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    result = await provider.authorize(code_challenge=challenge, **params)
    return result.code, verifier


def _code_request(code: str, verifier: str, **extra: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        **extra,
    }


async def test_access_token_audience_is_the_requested_resource(provider: Provider) -> None:
    """RFC 8707 §2 / RFC 9068 §2.2: ``aud`` is the resource; ``client_id`` is always there."""
    code, verifier = await _code(provider, resource=PAYMENTS)
    body = await provider.exchange(code, verifier)
    access = decode_unverified(body["access_token"])
    assert access["aud"] == PAYMENTS
    assert access["client_id"] == CONFIDENTIAL


async def test_request_without_resource_gets_the_default_resource(provider: Provider) -> None:
    code, verifier = await _code(provider)
    body = await provider.exchange(code, verifier)
    access = decode_unverified(body["access_token"])
    assert access["aud"] == DEFAULT
    assert access["client_id"] == CONFIDENTIAL


async def test_public_client_cannot_get_a_token_for_another_clients_api(
    provider: Provider,
) -> None:
    """A client may ask only for its registered resources (or the default): the public
    client asking for the payments API hears ``invalid_target`` at its redirect_uri."""
    await sign_in(provider.browser, query())
    result = rp_params(
        await provider.browser.get(
            "/authorize", params=query(prompt="none", resource=PAYMENTS, state="rs-1")
        )
    )
    assert result["error"] == "invalid_target"
    assert result["state"] == "rs-1"
    assert result["iss"] == ISSUER
    assert "code" not in result


@pytest.mark.parametrize(
    "resource", [PAYMENTS + "#frag", "/api", "payments.example/api", "https://pay ments.example"]
)
async def test_malformed_resource_is_invalid_target(provider: Provider, resource: str) -> None:
    """RFC 8707 §2: an absolute URI without a fragment, else ``invalid_target``."""
    await sign_in(provider.browser, query(client_id=CONFIDENTIAL))
    result = rp_params(
        await provider.browser.get(
            "/authorize", params=query(CONFIDENTIAL, prompt="none", resource=resource)
        )
    )
    assert result["error"] == "invalid_target"


async def test_token_request_cannot_switch_the_granted_resource(provider: Provider) -> None:
    """RFC 8707 §2.2: a grant for one resource gives no token for another."""
    code, verifier = await _code(provider, resource=PAYMENTS)
    response = await provider.token(_code_request(code, verifier, resource=DEFAULT))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


async def test_token_request_names_an_allowed_resource(provider: Provider) -> None:
    code, verifier = await _code(provider)
    response = await provider.token(_code_request(code, verifier, resource=PAYMENTS))
    assert response.status_code == 200, response.text
    assert decode_unverified(response.json()["access_token"])["aud"] == PAYMENTS


async def test_token_request_for_a_resource_not_allowed_is_invalid_target(
    provider: Provider,
) -> None:
    code, verifier = await _code(provider, client_id=PUBLIC)
    response = await provider.token(
        _code_request(code, verifier, resource=PAYMENTS), client_id=PUBLIC, secret=None
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


async def test_pushed_request_for_a_resource_not_allowed_is_refused(provider: Provider) -> None:
    """RFC 9126 §2.1: a pushed request is validated like an authorization request."""
    _, challenge = pkce_pair()
    data = query(CONFIDENTIAL, code_challenge=challenge, resource="https://evil.example/api")
    response = await provider.browser.post("/par", data=data, auth=(CONFIDENTIAL, SECRET))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"
    allowed = query(CONFIDENTIAL, code_challenge=challenge, resource=PAYMENTS)
    pushed = await provider.browser.post("/par", data=allowed, auth=(CONFIDENTIAL, SECRET))
    assert pushed.status_code == 201, pushed.text


async def test_refresh_keeps_the_granted_resource(provider: Provider) -> None:
    """A refresh cannot move the grant to another API, and being refused for it does not
    use the refresh token up."""
    code, verifier = await _code(provider, resource=PAYMENTS, scope="openid offline_access")
    body = await provider.exchange(code, verifier)
    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    moved = await provider.token({**refresh, "resource": DEFAULT})
    assert moved.status_code == 400
    assert moved.json()["error"] == "invalid_target"
    renewed = await provider.token(refresh)
    assert renewed.status_code == 200, renewed.text
    assert decode_unverified(renewed.json()["access_token"])["aud"] == PAYMENTS


@pytest.mark.parametrize("resource", ["https://api.example/#x", "not a uri", "/relative"])
def test_config_refuses_a_resource_that_is_not_an_absolute_uri(
    tmp_path: Path, resource: str
) -> None:
    data = config_data(tmp_path / "stepauth.db", default_resource=resource)
    with pytest.raises(ConfigError, match="default_resource"):
        ProviderConfig.from_dict(data)
    data = config_data(tmp_path / "stepauth.db")
    data["clients"][0]["resources"] = [resource]
    with pytest.raises(ConfigError, match=r"clients\[0\]\.resources"):
        ProviderConfig.from_dict(data)
