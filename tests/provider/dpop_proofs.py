"""DPoP proofs (RFC 9449 §4.2) signed with joserfc, and a Provider with DPoP clients.

The proofs are made by :class:`tests.helpers.client_side.DPoPKey`, with a JOSE library other
than the Provider's own verifier, so a test checks the Provider against an independent
reading of the format. Forged proofs (``none``, ``HS256``) are assembled by hand: no library
signs them.

The fapi2 client ``FAPI`` is a real FAPI 2.0 client (private_key_jwt with its own key,
ES256 ID tokens and request objects): :func:`code_for` gets its codes through PAR with a
signed request object and :func:`post_token` authenticates it with a client assertion,
the helpers of :mod:`tests.provider.fapi`.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from joserfc.jwk import ECKey

from tests.helpers.client_side import b64, b64json, code_grant
from tests.helpers.harness import (
    ISSUER,
    REDIRECT_URI,
    SECRET,
    Provider,
    config_data,
    pkce_pair,
    running_provider,
)
from tests.provider.fapi import client_auth, request_claims, sign

USERINFO_URL = ISSUER + "/userinfo"
PAR_URL = ISSUER + "/par"
#: A confidential client registered with ``dpop_bound_access_tokens = true``.
BOUND = "bound-app"
#: A FAPI 2.0 client (``profile = "fapi2"``): private_key_jwt, signed request objects.
FAPI = "fapi-app"
#: ``FAPI``'s signing key (client assertions, request objects); only its public half is
#: registered.
FAPI_KEY = ECKey.generate_key("P-256", parameters={"kid": "fapi-app-es"}, private=True)
#: A public client (PKCE only) whose refresh tokens DPoP binds.
SPA = "spa"


def unsigned_proof(header: Mapping[str, Any], claims: Mapping[str, Any], signature: bytes) -> str:
    """A proof assembled by hand (for ``alg: none`` and ``HS256`` forgeries)."""
    return f"{b64json(header)}.{b64json(claims)}.{b64(signature)}"


def dpop_clients(tmp_path: Path) -> list[dict[str, Any]]:
    """The harness's clients plus a DPoP-bound one and a FAPI 2.0 one (both confidential)."""
    clients: list[dict[str, Any]] = list(config_data(tmp_path / "unused.db")["clients"])
    clients.append(
        {
            "client_id": BOUND,
            "client_secret": SECRET,
            "redirect_uris": [REDIRECT_URI],
            "dpop_bound_access_tokens": True,
        }
    )
    clients.append(
        {
            "client_id": FAPI,
            "profile": "fapi2",
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [FAPI_KEY.as_dict(private=False)]},
            "redirect_uris": [REDIRECT_URI],
            "id_token_signed_response_alg": "ES256",
            "request_object_signing_alg": "ES256",
        }
    )
    return clients


@asynccontextmanager
async def dpop_provider(tmp_path: Path, **overrides: Any) -> AsyncIterator[Provider]:
    """A running Provider with the DPoP clients and the user ``alice``."""
    async with running_provider(tmp_path, clients=dpop_clients(tmp_path), **overrides) as running:
        await running.create_user()
        yield running


async def post_token(
    provider: Provider,
    data: Mapping[str, str],
    *,
    proof: str | None = None,
    proofs: list[str] | None = None,
    client_id: str,
    secret: str | None = SECRET,
) -> httpx.Response:
    """POST /token as ``client_id`` with zero, one (``proof``) or several DPoP headers;
    ``FAPI`` authenticates with a client assertion (RFC 7523), the others with ``secret``
    (HTTP Basic) or as public clients (``secret=None``)."""
    headers: list[tuple[str, str]] = [("DPoP", p) for p in (proofs or [])]
    if proof is not None:
        headers.append(("DPoP", proof))
    body = dict(data)
    if client_id == FAPI:
        body |= {"client_id": FAPI, **client_auth(provider, FAPI, key=FAPI_KEY)}
        return await provider.browser.post("/token", data=body, headers=headers)
    auth = (client_id, secret) if secret is not None else None
    if secret is None:
        body["client_id"] = client_id
    return await provider.browser.post("/token", data=body, auth=auth, headers=headers)


async def code_for(
    provider: Provider, *, client_id: str, scope: str = "openid", **params: str
) -> tuple[str, str]:
    """An authorization code for ``client_id`` and its PKCE verifier; ``FAPI``'s comes
    through PAR (:func:`fapi_code`)."""
    if client_id == FAPI:
        return await fapi_code(provider, scope=scope, **params)
    verifier, challenge = pkce_pair()
    result = await provider.authorize(
        client_id=client_id, code_challenge=challenge, scope=scope, **params
    )
    return result.code, verifier


async def fapi_code(provider: Provider, *, scope: str = "openid", **params: str) -> tuple[str, str]:
    """FAPI 2.0 Security Profile §5.3.2.2: ``FAPI`` pushes a signed request object (PKCE
    S256, its registered ES256) with private_key_jwt, then sends only the request_uri."""
    verifier, challenge = pkce_pair()
    claims = request_claims(provider, FAPI, code_challenge=challenge, scope=scope, **params)
    body = {
        "client_id": FAPI,
        "request": sign(claims, FAPI_KEY),
        **client_auth(provider, FAPI, key=FAPI_KEY),
    }
    pushed = await provider.browser.post("/par", data=body)
    assert pushed.status_code == 201, pushed.text
    result = await provider.authorize_raw(
        {"client_id": FAPI, "request_uri": pushed.json()["request_uri"]}
    )
    return result.code, verifier


def bogus_code_grant() -> dict[str, str]:
    """A code exchange that fails only *after* the DPoP proof was checked (and its jti used)."""
    verifier, _ = pkce_pair()
    return code_grant(secrets.token_urlsafe(32), verifier)


def assert_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text
    assert response.headers["cache-control"] == "no-store"
