"""DPoP-bound tokens: codes (``dpop_jkt``), refresh tokens, introspection, discovery.

RFC 9449 §5 (public clients' refresh tokens bound to the key), §6 (``cnf.jkt`` in the
access token and in introspection), §10 (``dpop_jkt`` at /authorize), §10.1 (a proof at
PAR binds the pushed request), §5.1 (discovery).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers.client_side import DPoPKey, code_grant, refresh_grant
from tests.helpers.harness import (
    CONFIDENTIAL,
    PUBLIC,
    REDIRECT_URI,
    SECRET,
    Provider,
    decode_unverified,
    pkce_pair,
)
from tests.provider.dpop_proofs import (
    PAR_URL,
    assert_error,
    code_for,
    dpop_provider,
    post_token,
)

OFFLINE = "openid offline_access"


@pytest.fixture
async def provider(tmp_path: Path) -> AsyncIterator[Provider]:
    async with dpop_provider(tmp_path) as running:
        yield running


async def _public_tokens(provider: Provider, key: DPoPKey) -> dict[str, str]:
    code, verifier = await code_for(provider, client_id=PUBLIC, scope=OFFLINE)
    response = await post_token(
        provider,
        code_grant(code, verifier),
        proof=key.proof(now=provider.clock()),
        client_id=PUBLIC,
        secret=None,
    )
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    assert body["token_type"] == "DPoP"
    return body


async def test_code_bound_by_dpop_jkt_is_refused_with_another_key(provider: Provider) -> None:
    """RFC 9449 §10: the code is redeemed only with a proof by the key dpop_jkt names."""
    key, other = DPoPKey(), DPoPKey()
    code, verifier = await code_for(provider, client_id=CONFIDENTIAL, dpop_jkt=key.thumbprint)
    response = await post_token(
        provider,
        code_grant(code, verifier),
        proof=other.proof(now=provider.clock()),
        client_id=CONFIDENTIAL,
    )
    assert_error(response, 400, "invalid_grant")


async def test_code_bound_by_dpop_jkt_is_refused_without_a_proof(provider: Provider) -> None:
    key = DPoPKey()
    code, verifier = await code_for(provider, client_id=CONFIDENTIAL, dpop_jkt=key.thumbprint)
    response = await post_token(provider, code_grant(code, verifier), client_id=CONFIDENTIAL)
    assert_error(response, 400, "invalid_dpop_proof")


async def test_code_bound_by_dpop_jkt_is_redeemed_with_its_key(provider: Provider) -> None:
    key = DPoPKey()
    code, verifier = await code_for(provider, client_id=CONFIDENTIAL, dpop_jkt=key.thumbprint)
    response = await post_token(
        provider,
        code_grant(code, verifier),
        proof=key.proof(now=provider.clock()),
        client_id=CONFIDENTIAL,
    )
    assert response.status_code == 200, response.text
    assert decode_unverified(response.json()["access_token"])["cnf"] == {"jkt": key.thumbprint}


async def test_malformed_dpop_jkt_is_refused_at_authorize(provider: Provider) -> None:
    """RFC 9449 §10: dpop_jkt is a JWK SHA-256 thumbprint; anything else is invalid_request,
    sent back to the verified redirect_uri."""
    _, challenge = pkce_pair()
    result = await provider.authorize(
        client_id=CONFIDENTIAL, code_challenge=challenge, dpop_jkt="not a thumbprint"
    )
    assert result.params["error"] == "invalid_request"


async def _push(provider: Provider, proof: str | None, **params: str) -> dict[str, str]:
    verifier, challenge = pkce_pair()
    headers = {"DPoP": proof} if proof is not None else {}
    response = await provider.browser.post(
        "/par",
        data={
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "scope": "openid",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **params,
        },
        auth=(CONFIDENTIAL, SECRET),
        headers=headers,
    )
    return {"status": str(response.status_code), "verifier": verifier, **response.json()}


async def test_par_with_a_proof_binds_the_code_to_its_key(provider: Provider) -> None:
    """RFC 9449 §10.1: a DPoP proof at PAR binds the request, so the code, to its key."""
    key, other = DPoPKey(), DPoPKey()
    pushed = await _push(provider, key.proof(now=provider.clock(), htu=PAR_URL))
    assert pushed["status"] == "201", pushed
    result = await provider.authorize_raw(
        {"client_id": CONFIDENTIAL, "request_uri": pushed["request_uri"]}
    )
    grant = code_grant(result.code, pushed["verifier"])
    refused = await post_token(
        provider, grant, proof=other.proof(now=provider.clock()), client_id=CONFIDENTIAL
    )
    assert_error(refused, 400, "invalid_grant")


async def test_par_with_a_proof_and_another_dpop_jkt_is_refused(provider: Provider) -> None:
    """RFC 9449 §10.1: both mechanisms at once must name the same key."""
    key, other = DPoPKey(), DPoPKey()
    proof = key.proof(now=provider.clock(), htu=PAR_URL)
    pushed = await _push(provider, proof, dpop_jkt=other.thumbprint)
    assert pushed["status"] == "400"
    assert pushed["error"] == "invalid_dpop_proof"


async def test_par_dpop_jkt_binds_the_code(provider: Provider) -> None:
    key = DPoPKey()
    pushed = await _push(provider, None, dpop_jkt=key.thumbprint)
    assert pushed["status"] == "201", pushed
    result = await provider.authorize_raw(
        {"client_id": CONFIDENTIAL, "request_uri": pushed["request_uri"]}
    )
    response = await post_token(
        provider,
        code_grant(result.code, pushed["verifier"]),
        proof=key.proof(now=provider.clock()),
        client_id=CONFIDENTIAL,
    )
    assert response.status_code == 200, response.text


async def test_public_client_refresh_with_another_key_is_refused(provider: Provider) -> None:
    """RFC 9449 §5: a public client's refresh token is bound to its DPoP key."""
    key, other = DPoPKey(), DPoPKey()
    tokens = await _public_tokens(provider, key)
    response = await post_token(
        provider,
        refresh_grant(tokens["refresh_token"]),
        proof=other.proof(now=provider.clock()),
        client_id=PUBLIC,
        secret=None,
    )
    assert_error(response, 400, "invalid_grant")
    # The refused attempt did not use the token up: its owner still refreshes.
    owner = await post_token(
        provider,
        refresh_grant(tokens["refresh_token"]),
        proof=key.proof(now=provider.clock()),
        client_id=PUBLIC,
        secret=None,
    )
    assert owner.status_code == 200, owner.text
    assert owner.json()["token_type"] == "DPoP"
    assert decode_unverified(owner.json()["access_token"])["cnf"] == {"jkt": key.thumbprint}


async def test_public_client_refresh_without_a_proof_is_refused(provider: Provider) -> None:
    tokens = await _public_tokens(provider, DPoPKey())
    response = await post_token(
        provider, refresh_grant(tokens["refresh_token"]), client_id=PUBLIC, secret=None
    )
    assert_error(response, 400, "invalid_dpop_proof")


async def test_confidential_refresh_needs_a_proof_for_a_dpop_token(provider: Provider) -> None:
    """RFC 9449 §5: a confidential client's refresh token is not bound to the key, but only
    a refresh with a proof gets a DPoP-bound access token."""
    key = DPoPKey()
    code, verifier = await code_for(provider, client_id=CONFIDENTIAL, scope=OFFLINE)
    first = await post_token(
        provider,
        code_grant(code, verifier),
        proof=key.proof(now=provider.clock()),
        client_id=CONFIDENTIAL,
    )
    assert first.json()["token_type"] == "DPoP"
    plain = await post_token(
        provider, refresh_grant(first.json()["refresh_token"]), client_id=CONFIDENTIAL
    )
    assert plain.status_code == 200, plain.text
    assert plain.json()["token_type"] == "Bearer"
    assert "cnf" not in decode_unverified(plain.json()["access_token"])
    bound = await post_token(
        provider,
        refresh_grant(plain.json()["refresh_token"]),
        proof=key.proof(now=provider.clock()),
        client_id=CONFIDENTIAL,
    )
    assert bound.json()["token_type"] == "DPoP"
    assert decode_unverified(bound.json()["access_token"])["cnf"] == {"jkt": key.thumbprint}


async def test_introspection_shows_cnf_jkt(provider: Provider) -> None:
    """RFC 9449 §6.2: introspection returns cnf.jkt and token_type DPoP."""
    key = DPoPKey()
    code, verifier = await code_for(provider, client_id=CONFIDENTIAL)
    response = await post_token(
        provider,
        code_grant(code, verifier),
        proof=key.proof(now=provider.clock()),
        client_id=CONFIDENTIAL,
    )
    answer = await provider.introspect(response.json()["access_token"])
    assert answer["active"] is True
    assert answer["token_type"] == "DPoP"
    assert answer["cnf"] == {"jkt": key.thumbprint}


async def test_introspection_of_a_bearer_token_has_no_cnf(provider: Provider) -> None:
    code, verifier = await code_for(provider, client_id=CONFIDENTIAL)
    body = await provider.exchange(code, verifier)
    answer = await provider.introspect(body["access_token"])
    assert answer["token_type"] == "Bearer"
    assert "cnf" not in answer


async def test_discovery_lists_the_dpop_algorithms(provider: Provider) -> None:
    """RFC 9449 §5.1: dpop_signing_alg_values_supported, asymmetric only."""
    metadata = (await provider.browser.get("/.well-known/openid-configuration")).json()
    algs = metadata["dpop_signing_alg_values_supported"]
    assert {"ES256", "RS256", "PS256", "EdDSA"} <= set(algs)
    assert "none" not in algs
    assert not any(alg.startswith("HS") for alg in algs)
