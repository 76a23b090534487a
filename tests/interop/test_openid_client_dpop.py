"""openid-client (npm, v6) with DPoP (RFC 9449) against ``stepauth serve``.

``peers/rp-dpop.mjs`` generates its own ES256 key (``randomDPoPKeyPair``), wraps it in a
DPoP handle (``getDPoPHandle``) and runs the code flow with it: the code exchange, UserInfo
and a refresh each carry a proof. The server requires nonces (``[dpop] require_nonce``), so
openid-client first hears ``use_dpop_nonce`` with a ``DPoP-Nonce`` header (RFC 9449 §8) and
retries on its own. The Python side checks the tokens against an independent RFC 7638
thumbprint of the public key the peer printed.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench._servers import Client, stepauth_server
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from tests.interop.conftest import Provider, run_peer_rp

pytestmark = pytest.mark.node


@pytest.fixture(scope="module")
def dpop_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """``stepauth serve`` requiring DPoP nonces: confidential ``rp``, public ``spa``."""
    client = Client(client_id="rp", redirect_uri="http://127.0.0.1:9/callback")
    public = Client(client_id="spa", redirect_uri="http://127.0.0.1:9/spa", public=True)
    password = secrets.token_urlsafe(12)
    directory = tmp_path_factory.mktemp("stepauth-dpop")
    with stepauth_server(
        directory,
        client=client,
        extra_clients=[public],
        users=[("alice", password)],
        extra_toml="[dpop]\nrequire_nonce = true\n",
    ) as server:
        yield Provider(server, client, public, "alice", password)


def run_dpop_rp(
    node_peers: Path, provider: Provider, *args: str, client: Client | None = None
) -> dict[str, Any]:
    return run_peer_rp(node_peers / "rp-dpop.mjs", provider, *args, client=client)


def access_claims(provider: Provider, token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(httpx.get(f"{provider.issuer}/jwks").json())
    return dict(jwt.decode(token, keys, algorithms=["RS256"]).claims)


def check_bound(provider: Provider, result: dict[str, Any], token: str, token_type: str) -> None:
    """token_type DPoP and cnf.jkt = the RFC 7638 thumbprint of the peer's public key."""
    thumbprint = ECKey.import_key(result["public_jwk"]).thumbprint()
    assert result["jkt"] == thumbprint
    assert token_type.lower() == "dpop"
    assert access_claims(provider, token)["cnf"] == {"jkt": thumbprint}


def nonce_retries(result: dict[str, Any], path: str) -> int:
    """How often the peer heard use_dpop_nonce at ``path`` (each answered by a retry)."""
    return sum(
        1
        for exchange in result["exchanges"]
        if exchange["path"] == path
        and exchange["status"] == 400
        and exchange["error"] == "use_dpop_nonce"
        and exchange["nonce"]
    )


def test_openid_client_gets_a_dpop_bound_token_after_a_nonce_retry(
    node_peers: Path, dpop_provider: Provider
) -> None:
    """RFC 9449 §5, §6.1, §8: the first token request hears use_dpop_nonce, the retry with
    the nonce gets a DPoP token bound to the peer's key; UserInfo accepts it with a proof."""
    result = run_dpop_rp(node_peers, dpop_provider, "--refresh")
    check_bound(dpop_provider, result, result["access_token"], result["token_type"])
    assert nonce_retries(result, "/token") == 1
    token_calls = [e for e in result["exchanges"] if e["path"] == "/token"]
    assert all(e["dpop"] and e["nonce"] for e in token_calls)
    assert token_calls[1]["status"] == 200
    assert result["userinfo"]["sub"] == result["claims"]["sub"]
    refreshed = result["refreshed"]
    check_bound(dpop_provider, result, refreshed["access_token"], refreshed["token_type"])


def test_openid_client_public_client_with_dpop_and_par(
    node_peers: Path, dpop_provider: Provider
) -> None:
    """RFC 9449 §10.1: the pushed request carries a proof (after its own nonce retry), so
    the code is bound to the key; a public client's refresh token is bound to it too (§5)."""
    public = dpop_provider.public_client
    result = run_dpop_rp(node_peers, dpop_provider, "--par", "--refresh", client=public)
    assert nonce_retries(result, "/par") == 1
    check_bound(dpop_provider, result, result["access_token"], result["token_type"])
    refreshed = result["refreshed"]
    check_bound(dpop_provider, result, refreshed["access_token"], refreshed["token_type"])


def test_openid_client_with_dpop_jkt(node_peers: Path, dpop_provider: Provider) -> None:
    """RFC 9449 §10: dpop_jkt on the front channel; the code is redeemed by that key."""
    result = run_dpop_rp(node_peers, dpop_provider, "--dpop-jkt")
    assert f"dpop_jkt={result['jkt']}" in result["authorization_url"]
    check_bound(dpop_provider, result, result["access_token"], result["token_type"])
