"""A DPoP-bound access token at /userinfo (RFC 9449 §7): only with a proof by its key.

The proof names the request (``htm``, ``htu`` = the published UserInfo URL) and the token
(``ath``); the bound token sent as a Bearer token is refused with a ``DPoP`` challenge
(§7.2), and so is a proof by another key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers.client_side import DPoPKey, code_grant
from tests.helpers.harness import CONFIDENTIAL, Provider
from tests.provider.dpop_proofs import (
    USERINFO_URL,
    code_for,
    dpop_provider,
    post_token,
)


@pytest.fixture
async def provider(tmp_path: Path) -> AsyncIterator[Provider]:
    async with dpop_provider(tmp_path) as running:
        yield running


async def _bound_token(provider: Provider, key: DPoPKey) -> str:
    code, verifier = await code_for(provider, client_id=CONFIDENTIAL)
    response = await post_token(
        provider,
        code_grant(code, verifier),
        proof=key.proof(now=provider.clock()),
        client_id=CONFIDENTIAL,
    )
    assert response.json()["token_type"] == "DPoP"
    token: str = response.json()["access_token"]
    return token


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_bound_token_with_its_proof_is_accepted(provider: Provider, method: str) -> None:
    key = DPoPKey()
    token = await _bound_token(provider, key)
    proof = key.proof(now=provider.clock(), htm=method, htu=USERINFO_URL, access_token=token)
    response = await provider.browser.request(
        method, "/userinfo", headers={"Authorization": f"DPoP {token}", "DPoP": proof}
    )
    assert response.status_code == 200, response.text
    assert response.json()["sub"]


async def test_bound_token_presented_as_bearer_is_refused(provider: Provider) -> None:
    """RFC 9449 §7.2: a DPoP-bound token is not a bearer token."""
    token = await _bound_token(provider, DPoPKey())
    response = await provider.browser.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith('DPoP error="invalid_token"')


async def test_bound_token_without_a_proof_is_refused(provider: Provider) -> None:
    token = await _bound_token(provider, DPoPKey())
    response = await provider.browser.get("/userinfo", headers={"Authorization": f"DPoP {token}"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_dpop_proof"
    assert response.headers["www-authenticate"].startswith('DPoP error="invalid_dpop_proof"')


async def test_bound_token_with_another_keys_proof_is_refused(provider: Provider) -> None:
    """RFC 9449 §7.1: the proof's key is the one the token is bound to."""
    token = await _bound_token(provider, DPoPKey())
    other = DPoPKey()
    proof = other.proof(now=provider.clock(), htm="GET", htu=USERINFO_URL, access_token=token)
    response = await provider.browser.get(
        "/userinfo", headers={"Authorization": f"DPoP {token}", "DPoP": proof}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_dpop_proof"
    assert response.headers["www-authenticate"].startswith('DPoP error="invalid_dpop_proof"')


async def test_proof_without_the_token_hash_is_refused(provider: Provider) -> None:
    """RFC 9449 §4.3 step 12, §7.1: ath is the hash of the token presented."""
    key = DPoPKey()
    token = await _bound_token(provider, key)
    proof = key.proof(now=provider.clock(), htm="GET", htu=USERINFO_URL, access_token="other")
    response = await provider.browser.get(
        "/userinfo", headers={"Authorization": f"DPoP {token}", "DPoP": proof}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_dpop_proof"


async def test_unbound_token_presented_as_dpop_is_refused(provider: Provider) -> None:
    """RFC 9449 §7.1: the DPoP scheme needs a token bound to the proof's key."""
    key = DPoPKey()
    code, verifier = await code_for(provider, client_id=CONFIDENTIAL)
    token = (await provider.exchange(code, verifier))["access_token"]
    proof = key.proof(now=provider.clock(), htm="GET", htu=USERINFO_URL, access_token=token)
    response = await provider.browser.get(
        "/userinfo", headers={"Authorization": f"DPoP {token}", "DPoP": proof}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith('DPoP error="invalid_token"')
