"""DPoP proofs at the token endpoint: RFC 9449 §4.3's checks, one attack per test.

Each refused proof is ``400 invalid_dpop_proof`` (RFC 9449 §5) and nothing is issued. A
proof that passes every check but comes with an unknown code gets ``invalid_grant``: that
is how a test shows the proof itself was accepted (and its ``jti`` used).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers.client_side import TOKEN_URL, DPoPKey, b64json, code_grant
from tests.helpers.harness import CONFIDENTIAL, SECRET, Provider, decode_unverified
from tests.provider.dpop_proofs import (
    BOUND,
    PAR_URL,
    assert_error,
    bogus_code_grant,
    code_for,
    dpop_provider,
    post_token,
    unsigned_proof,
)


@pytest.fixture
async def provider(tmp_path: Path) -> AsyncIterator[Provider]:
    async with dpop_provider(tmp_path) as running:
        yield running


@pytest.mark.parametrize(
    "alg",
    [
        "ES256",
        "RS256",
        "PS256",
        "Ed25519",
        # joserfc warns that RFC 9864 deprecates the polymorphic name; proofs still use it.
        pytest.param("EdDSA", marks=pytest.mark.filterwarnings("ignore:EdDSA is deprecated")),
    ],
)
async def test_valid_proof_gets_a_dpop_bound_token(provider: Provider, alg: str) -> None:
    """RFC 9449 §5, §6.1: token_type DPoP and cnf.jkt = the key's RFC 7638 thumbprint."""
    key = DPoPKey(alg)
    code, verifier = await code_for(provider, client_id=CONFIDENTIAL)
    response = await post_token(
        provider,
        code_grant(code, verifier),
        proof=key.proof(now=provider.clock()),
        client_id=CONFIDENTIAL,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "DPoP"
    assert decode_unverified(body["access_token"])["cnf"] == {"jkt": key.thumbprint}


async def test_missing_proof_for_a_dpop_bound_client_is_refused(provider: Provider) -> None:
    """RFC 9449 §5.2 ``dpop_bound_access_tokens``: a token request without a proof fails."""
    code, verifier = await code_for(provider, client_id=BOUND)
    response = await post_token(provider, code_grant(code, verifier), client_id=BOUND)
    assert_error(response, 400, "invalid_dpop_proof")
    # The code was not consumed by the refused request: with a proof it still works.
    key = DPoPKey()
    retry = await post_token(
        provider, code_grant(code, verifier), proof=key.proof(now=provider.clock()), client_id=BOUND
    )
    assert retry.status_code == 200, retry.text
    assert retry.json()["token_type"] == "DPoP"


async def test_two_dpop_headers_are_refused(provider: Provider) -> None:
    """RFC 9449 §4.3 step 1: exactly one DPoP HTTP header."""
    key = DPoPKey()
    now = provider.clock()
    response = await post_token(
        provider,
        bogus_code_grant(),
        proofs=[key.proof(now=now), key.proof(now=now)],
        client_id=CONFIDENTIAL,
    )
    assert_error(response, 400, "invalid_dpop_proof")


async def test_proof_with_wrong_typ_is_refused(provider: Provider) -> None:
    """RFC 9449 §4.3 step 4: typ is dpop+jwt (a JWT of another kind is no proof)."""
    key = DPoPKey()
    proof = key.sign(key.claims(now=provider.clock()), header={"typ": "JWT"})
    response = await post_token(provider, bogus_code_grant(), proof=proof, client_id=CONFIDENTIAL)
    assert_error(response, 400, "invalid_dpop_proof")


async def test_refusal_names_the_step_but_never_echoes_the_sent_value(
    provider: Provider,
) -> None:
    """The error_description says which check failed; the proof's own typ and htm (the
    sender's input) are not reflected to the client."""
    key = DPoPKey()
    sent = {"typ": "evil-typ-<x>"}
    typ = key.sign(key.claims(now=provider.clock()), header=sent)
    htm = key.proof(now=provider.clock(), htm="EVIL-METHOD")
    for proof, says, echoed in ((typ, "typ is not dpop+jwt", "evil"), (htm, "htm", "EVIL")):
        response = await post_token(
            provider, bogus_code_grant(), proof=proof, client_id=CONFIDENTIAL
        )
        assert_error(response, 400, "invalid_dpop_proof")
        description = response.json()["error_description"]
        assert says in description
        assert echoed not in description


async def test_proof_with_alg_none_is_refused(provider: Provider) -> None:
    """RFC 9449 §4.3 step 5: not ``none``."""
    key = DPoPKey()
    header = {"typ": "dpop+jwt", "alg": "none", "jwk": key.public_jwk}
    proof = unsigned_proof(header, key.claims(now=provider.clock()), b"")
    response = await post_token(provider, bogus_code_grant(), proof=proof, client_id=CONFIDENTIAL)
    assert_error(response, 400, "invalid_dpop_proof")


async def test_proof_with_hs256_is_refused(provider: Provider) -> None:
    """RFC 9449 §4.3 step 5: asymmetric only; an HMAC keyed with public key bytes is the
    classic algorithm confusion (RFC 8725 §2.1)."""
    key = DPoPKey()
    header = {"typ": "dpop+jwt", "alg": "HS256", "jwk": key.public_jwk}
    claims = key.claims(now=provider.clock())
    signing_input = f"{b64json(header)}.{b64json(claims)}".encode()
    mac = hmac.new(key.public_jwk["x"].encode(), signing_input, hashlib.sha256).digest()
    proof = unsigned_proof(header, claims, mac)
    response = await post_token(provider, bogus_code_grant(), proof=proof, client_id=CONFIDENTIAL)
    assert_error(response, 400, "invalid_dpop_proof")


async def test_proof_with_private_key_members_in_jwk_is_refused(provider: Provider) -> None:
    """RFC 9449 §4.3 step 7: the jwk header does not contain a private key."""
    key = DPoPKey()
    private = dict(key.key.as_dict(private=True))
    assert "d" in private
    proof = key.sign(key.claims(now=provider.clock()), header={"jwk": private})
    response = await post_token(provider, bogus_code_grant(), proof=proof, client_id=CONFIDENTIAL)
    assert_error(response, 400, "invalid_dpop_proof")


async def test_proof_with_bad_signature_is_refused(provider: Provider) -> None:
    """RFC 9449 §4.3 step 6: the signature verifies with the jwk of the header — here the
    proof is signed by another key than the one it names."""
    key, other = DPoPKey(), DPoPKey()
    proof = other.sign(key.claims(now=provider.clock()), header={"jwk": key.public_jwk})
    response = await post_token(provider, bogus_code_grant(), proof=proof, client_id=CONFIDENTIAL)
    assert_error(response, 400, "invalid_dpop_proof")


@pytest.mark.parametrize("alg", ["RS256", "PS256"])
@pytest.mark.filterwarnings("ignore:Key size should be")
async def test_proof_with_a_1024_bit_rsa_key_is_refused(provider: Provider, alg: str) -> None:
    """RFC 7518 §3.3: RS256 and PS256 keys of 2048 bits or more (RFC 9449 §11.6: signatures
    deemed secure only); a correctly signed proof with a shorter key is refused
    before its jti is used."""
    key = DPoPKey(alg, rsa_bits=1024)
    proof = key.proof(now=provider.clock())
    response = await post_token(provider, bogus_code_grant(), proof=proof, client_id=CONFIDENTIAL)
    assert_error(response, 400, "invalid_dpop_proof")
    assert "2048 bits" in response.json()["error_description"]


async def test_proof_with_wrong_htm_is_refused(provider: Provider) -> None:
    """RFC 9449 §4.3 step 8: htm is the request's method."""
    proof = DPoPKey().proof(now=provider.clock(), htm="GET")
    response = await post_token(provider, bogus_code_grant(), proof=proof, client_id=CONFIDENTIAL)
    assert_error(response, 400, "invalid_dpop_proof")


async def test_proof_for_another_path_is_refused(provider: Provider) -> None:
    """RFC 9449 §4.3 step 9: htu is this endpoint (a proof made for /par is not one)."""
    proof = DPoPKey().proof(now=provider.clock(), htu=PAR_URL)
    response = await post_token(provider, bogus_code_grant(), proof=proof, client_id=CONFIDENTIAL)
    assert_error(response, 400, "invalid_dpop_proof")


async def test_proof_for_another_host_is_refused(provider: Provider) -> None:
    """RFC 9449 §4.3 step 9: htu names the Provider's published URL, not any host's /token."""
    proof = DPoPKey().proof(now=provider.clock(), htu="http://attacker.example/token")
    response = await post_token(provider, bogus_code_grant(), proof=proof, client_id=CONFIDENTIAL)
    assert_error(response, 400, "invalid_dpop_proof")


async def test_htu_is_the_published_url_whatever_host_the_request_names(
    provider: Provider,
) -> None:
    """Behind a proxy the request may name an internal host: the proof's htu is the URL the
    Provider publishes (discovery's token_endpoint), and a proof naming the forwarded-to
    host is refused."""
    internal = {"Host": "op-internal:8080", "X-Forwarded-Host": "op-internal:8080"}
    published = DPoPKey().proof(now=provider.clock(), htu=TOKEN_URL)
    accepted = await provider.browser.post(
        "/token",
        data=bogus_code_grant(),
        auth=(CONFIDENTIAL, SECRET),
        headers={**internal, "DPoP": published},
    )
    assert_error(accepted, 400, "invalid_grant")  # the proof passed
    internal_htu = DPoPKey().proof(now=provider.clock(), htu="http://op-internal:8080/token")
    refused = await provider.browser.post(
        "/token",
        data=bogus_code_grant(),
        auth=(CONFIDENTIAL, SECRET),
        headers={**internal, "DPoP": internal_htu},
    )
    assert_error(refused, 400, "invalid_dpop_proof")


async def test_htu_is_compared_after_normalisation(provider: Provider) -> None:
    """RFC 9449 §4.3 step 9 / RFC 3986 §6.2.2-6.2.3: case of scheme and host, the query
    and the fragment do not matter."""
    htu = TOKEN_URL.replace("http://localhost", "HTTP://LocalHost") + "?x=1#f"
    proof = DPoPKey().proof(now=provider.clock(), htu=htu)
    response = await post_token(provider, bogus_code_grant(), proof=proof, client_id=CONFIDENTIAL)
    assert_error(response, 400, "invalid_grant")  # the proof passed


async def test_stale_proof_is_refused(provider: Provider) -> None:
    """RFC 9449 §4.3 step 11, §11.1: iat within [dpop] proof_max_age (60 s)."""
    proof = DPoPKey().proof(now=provider.clock() - 61)
    response = await post_token(provider, bogus_code_grant(), proof=proof, client_id=CONFIDENTIAL)
    assert_error(response, 400, "invalid_dpop_proof")


async def test_proof_from_the_future_is_refused(provider: Provider) -> None:
    """RFC 9449 §4.3 step 11: a proof made ahead of time is not accepted."""
    proof = DPoPKey().proof(now=provider.clock() + 60)
    response = await post_token(provider, bogus_code_grant(), proof=proof, client_id=CONFIDENTIAL)
    assert_error(response, 400, "invalid_dpop_proof")


async def test_replayed_proof_is_refused(provider: Provider) -> None:
    """RFC 9449 §11.1: a jti is accepted once."""
    proof = DPoPKey().proof(now=provider.clock())
    first = await post_token(provider, bogus_code_grant(), proof=proof, client_id=CONFIDENTIAL)
    assert_error(first, 400, "invalid_grant")  # proof accepted, its jti now used
    replay = await post_token(provider, bogus_code_grant(), proof=proof, client_id=CONFIDENTIAL)
    assert_error(replay, 400, "invalid_dpop_proof")
    assert "already used" in replay.json()["error_description"]


async def test_replayed_proof_of_a_successful_exchange_is_refused(provider: Provider) -> None:
    """RFC 9449 §11.1: the proof that redeemed a code cannot redeem another one."""
    proof = DPoPKey().proof(now=provider.clock())
    code, verifier = await code_for(provider, client_id=BOUND)
    first = await post_token(provider, code_grant(code, verifier), proof=proof, client_id=BOUND)
    assert first.status_code == 200, first.text
    code2, verifier2 = await code_for(provider, client_id=BOUND)
    replay = await post_token(provider, code_grant(code2, verifier2), proof=proof, client_id=BOUND)
    assert_error(replay, 400, "invalid_dpop_proof")


async def test_malformed_proof_is_refused(provider: Provider) -> None:
    response = await post_token(
        provider, bogus_code_grant(), proof="not-a-jwt", client_id=CONFIDENTIAL
    )
    assert_error(response, 400, "invalid_dpop_proof")


async def test_proof_without_jti_is_refused(provider: Provider) -> None:
    """RFC 9449 §4.3 step 3: every required claim is present."""
    key = DPoPKey()
    claims = key.claims(now=provider.clock())
    del claims["jti"]
    response = await post_token(
        provider, bogus_code_grant(), proof=key.sign(claims), client_id=CONFIDENTIAL
    )
    assert_error(response, 400, "invalid_dpop_proof")
