"""Provider-issued DPoP nonces (RFC 9449 §8) with ``[dpop] require_nonce = true``.

A proof without a nonce, with an expired one or a forged one is ``400 use_dpop_nonce``
with a fresh ``DPoP-Nonce`` header; every /token response, error or not, carries one
(§8.2).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.client_side import DPoPKey, code_grant
from tests.helpers.harness import CONFIDENTIAL, Provider
from tests.provider.dpop_proofs import (
    PAR_URL,
    assert_error,
    bogus_code_grant,
    code_for,
    dpop_provider,
    post_token,
)

LIFETIME = 120


@pytest.fixture
async def provider(tmp_path: Path) -> AsyncIterator[Provider]:
    dpop = {"require_nonce": True, "nonce_lifetime": LIFETIME}
    async with dpop_provider(tmp_path, dpop=dpop) as running:
        yield running


def assert_nonce_error(response: httpx.Response) -> str:
    assert_error(response, 400, "use_dpop_nonce")
    nonce = response.headers["dpop-nonce"]
    assert nonce
    return nonce


async def _nonce(provider: Provider) -> str:
    """A nonce the Provider hands out (here, on the error of a proof without one)."""
    response = await post_token(
        provider,
        bogus_code_grant(),
        proof=DPoPKey().proof(now=provider.clock()),
        client_id=CONFIDENTIAL,
    )
    return assert_nonce_error(response)


async def test_proof_without_a_nonce_gets_use_dpop_nonce(provider: Provider) -> None:
    await _nonce(provider)


async def test_proof_with_the_issued_nonce_succeeds(provider: Provider) -> None:
    nonce = await _nonce(provider)
    code, verifier = await code_for(provider, client_id=CONFIDENTIAL)
    response = await post_token(
        provider,
        code_grant(code, verifier),
        proof=DPoPKey().proof(now=provider.clock(), nonce=nonce),
        client_id=CONFIDENTIAL,
    )
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"
    # RFC 9449 §8.2: the success carries the next nonce too.
    assert response.headers["dpop-nonce"]


async def test_expired_nonce_gets_use_dpop_nonce(provider: Provider) -> None:
    nonce = await _nonce(provider)
    provider.clock.advance(LIFETIME + 1)
    response = await post_token(
        provider,
        bogus_code_grant(),
        proof=DPoPKey().proof(now=provider.clock(), nonce=nonce),
        client_id=CONFIDENTIAL,
    )
    fresh = assert_nonce_error(response)
    assert fresh != nonce


async def test_forged_nonce_gets_use_dpop_nonce(provider: Provider) -> None:
    """A nonce the Provider did not seal (one character changed) is no nonce."""
    nonce = await _nonce(provider)
    forged = nonce[:10] + ("A" if nonce[10] != "A" else "B") + nonce[11:]
    response = await post_token(
        provider,
        bogus_code_grant(),
        proof=DPoPKey().proof(now=provider.clock(), nonce=forged),
        client_id=CONFIDENTIAL,
    )
    assert_nonce_error(response)


async def test_made_up_nonce_gets_use_dpop_nonce(provider: Provider) -> None:
    response = await post_token(
        provider,
        bogus_code_grant(),
        proof=DPoPKey().proof(now=provider.clock(), nonce=str(int(provider.clock()))),
        client_id=CONFIDENTIAL,
    )
    assert_nonce_error(response)


async def test_every_token_error_carries_a_nonce(provider: Provider) -> None:
    """RFC 9449 §8.2: a fresh nonce on every response, here a refused client."""
    response = await post_token(
        provider, bogus_code_grant(), client_id=CONFIDENTIAL, secret="wrong-secret-0123456789"
    )
    assert_error(response, 401, "invalid_client")
    assert response.headers["dpop-nonce"]


async def test_par_proof_without_a_nonce_gets_use_dpop_nonce(provider: Provider) -> None:
    """RFC 9449 §8 holds at every authorization server endpoint that takes proofs."""
    response = await provider.browser.post(
        "/par",
        data={"response_type": "code"},
        auth=(CONFIDENTIAL, "s3cr3t-" + "x" * 24),
        headers={"DPoP": DPoPKey().proof(now=provider.clock(), htu=PAR_URL)},
    )
    assert_nonce_error(response)


async def test_nonce_of_one_instance_is_accepted_by_another(tmp_path: Path) -> None:
    """Nonces are stateless (the sealed issue time under a key derived from the Provider
    secret): an instance that never saw a nonce accepts it, as behind a load balancer."""
    dpop = {"require_nonce": True, "nonce_lifetime": LIFETIME}
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    async with (
        dpop_provider(tmp_path / "one", dpop=dpop) as one,
        dpop_provider(tmp_path / "two", dpop=dpop) as two,
    ):
        nonce = await _nonce(one)
        response = await post_token(
            two,
            bogus_code_grant(),
            proof=DPoPKey().proof(now=two.clock(), nonce=nonce),
            client_id=CONFIDENTIAL,
        )
        assert_error(response, 400, "invalid_grant")  # the proof, nonce included, passed
