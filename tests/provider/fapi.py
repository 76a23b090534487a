"""Helpers of the FAPI 2.0 and JAR tests: clients with keys, request objects, PAR calls.

The Provider is the black-box harness's (:mod:`tests.helpers.harness`) with three
more clients: ``FAPI`` (fapi2, request objects required, ES256), ``FAPI_PAR`` (fapi2 with
plain pushed requests) and ``JAR`` (an ordinary private_key_jwt client that may send
request objects by value or pushed).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc.jwk import ECKey, OKPKey, RSAKey

from tests.helpers.client_side import assertion_form, sign
from tests.helpers.harness import (
    ISSUER,
    REDIRECT_URI,
    Provider,
    config_data,
    pkce_pair,
    running_provider,
)

FAPI = "bank-fapi"
FAPI_PAR = "bank-fapi-par"
JAR = "jar-client"
#: Each client's signing keys; only the public halves are registered.
FAPI_KEY = ECKey.generate_key("P-256", parameters={"kid": "fapi-es"}, private=True)
FAPI_ED_KEY = OKPKey.generate_key("Ed25519", parameters={"kid": "fapi-ed"}, private=True)
FAPI_PAR_KEY = ECKey.generate_key("P-256", parameters={"kid": "fapi-par-es"}, private=True)
FAPI_PAR_RSA = RSAKey.generate_key(2048, parameters={"kid": "fapi-par-rsa"}, private=True)
JAR_KEY = ECKey.generate_key("P-256", parameters={"kid": "jar-es"}, private=True)
KEYS = {FAPI: FAPI_KEY, FAPI_PAR: FAPI_PAR_KEY, JAR: JAR_KEY}


def fapi_clients() -> list[dict[str, Any]]:
    return [
        {
            "client_id": FAPI,
            "profile": "fapi2",
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [FAPI_KEY.as_dict(private=False), FAPI_ED_KEY.as_dict(private=False)]},
            "redirect_uris": [REDIRECT_URI],
            "id_token_signed_response_alg": "ES256",
            "request_object_signing_alg": "ES256",
        },
        {
            "client_id": FAPI_PAR,
            "profile": "fapi2",
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {
                "keys": [FAPI_PAR_KEY.as_dict(private=False), FAPI_PAR_RSA.as_dict(private=False)]
            },
            "redirect_uris": [REDIRECT_URI],
            "id_token_signed_response_alg": "EdDSA",
        },
        {
            "client_id": JAR,
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [JAR_KEY.as_dict(private=False)]},
            "redirect_uris": [REDIRECT_URI],
        },
    ]


def fapi_config(tmp_path: Path) -> dict[str, Any]:
    data = config_data(tmp_path / "stepauth.db")
    data["clients"] = [*data["clients"], *fapi_clients()]
    return data


@pytest.fixture
async def fapi_provider(tmp_path: Path) -> AsyncIterator[Provider]:
    """The harness Provider with the FAPI and JAR clients, and the user ``alice``."""
    clients = [*config_data(tmp_path / "stepauth.db")["clients"], *fapi_clients()]
    async with running_provider(tmp_path, clients=clients) as running:
        await running.create_user()
        yield running


def auth_params(challenge: str, client_id: str = FAPI, **extra: Any) -> dict[str, Any]:
    """A valid authorization request of ``client_id`` (PKCE S256) plus ``extra``."""
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "nonce": secrets.token_urlsafe(8),
        "state": secrets.token_urlsafe(8),
        **extra,
    }


def request_claims(
    provider: Provider, client_id: str = FAPI, *, lifetime: int = 300, **extra: Any
) -> dict[str, Any]:
    """The claims of a valid request object: the request plus iss, aud, nbf, exp, jti."""
    now = int(provider.clock())
    _, challenge = pkce_pair()
    claims = {
        **auth_params(challenge, client_id),
        "iss": client_id,
        "aud": ISSUER,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(12),
    }
    claims.update(extra)
    return {k: v for k, v in claims.items() if v is not None}


def request_object(provider: Provider, client_id: str = FAPI, **extra: Any) -> str:
    return sign(request_claims(provider, client_id, **extra), KEYS[client_id])


def client_auth(
    provider: Provider, client_id: str, *, key: Any = None, alg: str = "ES256"
) -> dict[str, str]:
    """private_key_jwt client authentication (RFC 7523) for a PAR request."""
    return assertion_form(client_id, ISSUER, key or KEYS[client_id], now=provider.clock(), alg=alg)


async def push(provider: Provider, client_id: str, data: dict[str, Any]) -> httpx.Response:
    """POST /par as ``client_id`` (authenticated with private_key_jwt)."""
    body = {"client_id": client_id, **data, **client_auth(provider, client_id)}
    return await provider.browser.post("/par", data=body)


async def push_object(
    provider: Provider, client_id: str, token: str, **outer: Any
) -> httpx.Response:
    return await push(provider, client_id, {"request": token, **outer})


def assert_error(
    response: httpx.Response, error: str, *, status: int = 400, because: str = ""
) -> None:
    """A JSON error ``error``; its description names the failed check (``because``)."""
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text
    assert because in response.json().get("error_description", ""), response.text


def assert_error_page(response: httpx.Response, error: str) -> None:
    """An error page (never a redirect) naming ``error``."""
    assert response.status_code == 400, response.text
    assert "location" not in response.headers
    assert f"<strong>{error}</strong>" in response.text
