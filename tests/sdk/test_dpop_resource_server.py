"""DPoP at the resource server (RFC 9449 §4.3, §7.1, §7.2): each attack refused, with its error
and the ``WWW-Authenticate`` answer the client sees."""

from __future__ import annotations

import base64
import json

import pytest
from joserfc.jwk import ECKey, OctKey, RSAKey

from stepauth.assurance import parse_challenges
from stepauth.sdk import ResourceServer
from stepauth.sdk.api import ResourceRequest
from stepauth.sdk.dpop_check import DPoPNonces
from stepauth.sdk.errors import (
    InsufficientAuthentication,
    InvalidDPoPProof,
    InvalidKeyBinding,
    InvalidToken,
    SDKError,
    UseDPoPNonce,
)
from tests.sdk.conftest import NOW, Keys
from tests.sdk.dpop_flow import (
    PHR,
    URL,
    bound_token,
    client_key,
    dpop_request,
    proof,
    resource_server,
    unsigned,
)


def refused(
    rs: ResourceServer, request: ResourceRequest, error: type[SDKError], reason: str = ""
) -> str:
    """Assert the refusal's class and reason; return its ``WWW-Authenticate`` value."""
    with pytest.raises(error) as caught:
        rs.verify_request(request, PHR)
    assert reason in caught.value.description
    answer = rs.refusal(caught.value, request)
    assert answer.status == 401
    return answer.headers["WWW-Authenticate"]


def invalid_proof(rs: ResourceServer, request: ResourceRequest, reason: str) -> None:
    header = refused(rs, request, InvalidDPoPProof, reason)
    (challenge,) = parse_challenges(header)
    assert challenge.scheme == "DPoP"
    assert challenge.error == "invalid_dpop_proof"
    assert challenge.params["algs"] == "ES256 ES384 PS256 RS256 EdDSA Ed25519"


@pytest.fixture
def key() -> ECKey:
    return client_key()


@pytest.fixture
def token(keys: Keys, key: ECKey) -> str:
    return bound_token(keys, key.thumbprint())


def test_a_sound_proof_with_its_bound_token_passes(keys: Keys, key: ECKey, token: str) -> None:
    rs = resource_server(keys)
    claims = rs.verify_request(dpop_request(token, proof(key, token=token)), PHR)
    assert claims["cnf"] == {"jkt": key.thumbprint()}


def test_query_and_fragment_are_not_part_of_htu(keys: Keys, key: ECKey, token: str) -> None:
    """RFC 9449 §4.3 step 9: the URI without query and fragment, normalised (RFC 3986 §6)."""
    rs = resource_server(keys)
    sent = "HTTPS://API.example.com:443/transfers?amount=10#top"
    assert rs.verify_request(dpop_request(token, proof(key, token=token), url=sent), PHR)


def test_no_proof_is_rejected(keys: Keys, token: str) -> None:
    invalid_proof(
        resource_server(keys), dpop_request(token), "0 DPoP proofs: exactly one is required"
    )


def test_two_proofs_are_rejected(keys: Keys, key: ECKey, token: str) -> None:
    both = (proof(key, token=token), proof(key, token=token))
    invalid_proof(
        resource_server(keys), dpop_request(token, *both), "2 DPoP proofs: exactly one is required"
    )


def test_wrong_typ_is_rejected(keys: Keys, key: ECKey, token: str) -> None:
    bad = proof(key, token=token, header={"typ": "JWT"})
    invalid_proof(
        resource_server(keys), dpop_request(token, bad), "typ is not dpop+jwt (got 'JWT')"
    )


def test_alg_none_is_rejected(keys: Keys, key: ECKey, token: str) -> None:
    header = {"typ": "dpop+jwt", "alg": "none", "jwk": key.as_dict(private=False)}
    claims = {"jti": "j-none", "htm": "POST", "htu": URL, "iat": int(NOW)}
    invalid_proof(
        resource_server(keys),
        dpop_request(token, unsigned(header, claims)),
        "alg is not accepted for DPoP proofs (got 'none')",
    )


def test_hs256_is_rejected(keys: Keys, token: str) -> None:
    secret = OctKey.generate_key(256)
    bad = proof(secret, token=token, alg="HS256", header={"jwk": {"kty": "oct"}})
    invalid_proof(
        resource_server(keys),
        dpop_request(token, bad),
        "alg is not accepted for DPoP proofs (got 'HS256')",
    )


def test_private_key_in_jwk_is_rejected(keys: Keys, key: ECKey, token: str) -> None:
    bad = proof(key, token=token, header={"jwk": key.as_dict(private=True)})
    invalid_proof(resource_server(keys), dpop_request(token, bad), "jwk holds a private key")


def test_bad_signature_is_rejected(keys: Keys, key: ECKey, token: str) -> None:
    head, payload, _ = proof(key, token=token).split(".")
    _, _, other_signature = proof(key, token=token).split(".")
    forged = f"{head}.{payload}.{other_signature}"
    invalid_proof(resource_server(keys), dpop_request(token, forged), "signature does not verify")


def test_proof_signed_by_another_key_than_its_jwk_is_rejected(
    keys: Keys, key: ECKey, token: str
) -> None:
    bad = proof(client_key(), token=token, header={"jwk": key.as_dict(private=False)})
    invalid_proof(resource_server(keys), dpop_request(token, bad), "signature does not verify")


@pytest.mark.parametrize("alg", ["RS256", "PS256"])
@pytest.mark.filterwarnings("ignore:Key size should be")
def test_proof_with_a_1024_bit_rsa_key_is_rejected(keys: Keys, alg: str) -> None:
    """RFC 7518 §3.3: RSA keys of 2048 bits or more, even with a valid signature."""
    short = RSAKey.generate_key(1024, private=True)
    token = bound_token(keys, short.thumbprint())
    bad = proof(short, token=token, alg=alg)
    invalid_proof(resource_server(keys), dpop_request(token, bad), "shorter than 2048 bits")


def test_proof_with_a_2048_bit_rsa_key_passes(keys: Keys) -> None:
    rsa = RSAKey.generate_key(2048, private=True)
    token = bound_token(keys, rsa.thumbprint())
    checked = resource_server(keys).verify_request(
        dpop_request(token, proof(rsa, token=token, alg="PS256")), PHR
    )
    assert checked["cnf"] == {"jkt": rsa.thumbprint()}


def test_htm_mismatch_is_rejected(keys: Keys, key: ECKey, token: str) -> None:
    invalid_proof(
        resource_server(keys),
        dpop_request(token, proof(key, htm="GET", token=token)),
        "htm is not the request's method (got 'GET')",
    )


def test_htu_of_another_path_is_rejected(keys: Keys, key: ECKey, token: str) -> None:
    other = proof(key, htu="https://api.example.com/accounts", token=token)
    invalid_proof(resource_server(keys), dpop_request(token, other), "htu is not the request's URI")


def test_htu_of_another_host_is_rejected(keys: Keys, key: ECKey, token: str) -> None:
    other = proof(key, htu="https://evil.example.com/transfers", token=token)
    invalid_proof(resource_server(keys), dpop_request(token, other), "htu is not the request's URI")


def test_iat_too_old_is_rejected(keys: Keys, key: ECKey, token: str) -> None:
    """Window 60 s + leeway 5 s: a proof of 66 s ago is refused, one of 64 s ago is not."""
    rs = resource_server(keys)
    assert rs.verify_request(dpop_request(token, proof(key, iat=NOW - 64, token=token)), PHR)
    invalid_proof(
        rs,
        dpop_request(token, proof(key, iat=NOW - 66, token=token)),
        "iat is older than the accepted window",
    )


def test_iat_in_the_future_is_rejected(keys: Keys, key: ECKey, token: str) -> None:
    invalid_proof(
        resource_server(keys),
        dpop_request(token, proof(key, iat=NOW + 30, token=token)),
        "iat is in the future",
    )


def test_replayed_jti_is_rejected(keys: Keys, key: ECKey, token: str) -> None:
    rs = resource_server(keys)
    once = proof(key, token=token)
    assert rs.verify_request(dpop_request(token, once), PHR)
    invalid_proof(rs, dpop_request(token, once), "jti replayed")
    # A new proof by the same key with the same jti is the same replay.
    invalid_proof(rs, dpop_request(token, proof(key, token=token, jti=_jti(once))), "jti replayed")


def _jti(compact: str) -> str:
    payload = compact.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "==="))["jti"])


def test_missing_ath_is_rejected(keys: Keys, key: ECKey, token: str) -> None:
    invalid_proof(
        resource_server(keys),
        dpop_request(token, proof(key)),
        "ath is missing or not the access token's hash",
    )


def test_wrong_ath_is_rejected(keys: Keys, key: ECKey, token: str) -> None:
    other = bound_token(keys, key.thumbprint(), jti="at-2")
    invalid_proof(
        resource_server(keys),
        dpop_request(token, proof(key, token=other)),
        "ath is missing or not the access token's hash",
    )


def test_proof_by_another_key_than_cnf_jkt_is_rejected(keys: Keys, token: str) -> None:
    """RFC 9449 §7.1: ``DPoP error="invalid_token"`` (the binding, not the proof, fails)."""
    rs = resource_server(keys)
    thief = client_key()
    header = refused(
        rs, dpop_request(token, proof(thief, token=token)), InvalidKeyBinding, "not bound"
    )
    (challenge,) = parse_challenges(header)
    assert (challenge.scheme, challenge.error) == ("DPoP", "invalid_token")
    assert "algs" in challenge.params


def test_unbound_token_with_a_proof_is_rejected(keys: Keys, key: ECKey) -> None:
    """A bearer token gains nothing from a proof: it is bound to no key (fail closed)."""
    plain = bound_token(keys, None)
    refused(resource_server(keys), dpop_request(plain, proof(key, token=plain)), InvalidKeyBinding)


def test_dpop_bound_token_sent_as_bearer_is_rejected(keys: Keys, token: str) -> None:
    """RFC 9449 §7.2: a DPoP-bound token is never accepted as a bearer token."""
    rs = resource_server(keys)
    header = refused(
        rs, dpop_request(token, scheme="Bearer"), InvalidKeyBinding, "presented as a bearer"
    )
    assert header == 'Bearer error="invalid_token"'
    with pytest.raises(InvalidKeyBinding):
        rs.verify(token, PHR)


def test_bearer_token_when_dpop_is_required_is_rejected(keys: Keys) -> None:
    rs = resource_server(keys, require_dpop=True)
    plain = bound_token(keys, None)
    header = refused(
        rs, dpop_request(plain, scheme="Bearer"), InvalidKeyBinding, "DPoP-bound tokens only"
    )
    (challenge,) = parse_challenges(header)
    assert (challenge.scheme, challenge.error) == ("DPoP", "invalid_token")
    with pytest.raises(InvalidKeyBinding):
        rs.verify(plain, PHR)


def test_bearer_tokens_keep_working_beside_dpop(keys: Keys) -> None:
    rs = resource_server(keys)
    plain = bound_token(keys, None)
    assert rs.verify_request(dpop_request(plain, scheme="Bearer"), PHR)["sub"] == "user-42"
    assert rs.verify(plain, PHR)["sub"] == "user-42"


def test_no_credentials_offers_both_schemes_or_dpop_alone(keys: Keys) -> None:
    anonymous = ResourceRequest(method="GET", url=URL, authorization=None)
    both = resource_server(keys).refusal(None, anonymous).headers["WWW-Authenticate"]
    assert [c.scheme for c in parse_challenges(both)] == ["Bearer", "DPoP"]
    only = resource_server(keys, require_dpop=True).refusal(None, anonymous)
    assert [c.scheme for c in parse_challenges(only.headers["WWW-Authenticate"])] == ["DPoP"]


def test_a_resource_server_without_dpop_refuses_dpop_tokens(keys: Keys, key: ECKey) -> None:
    from stepauth.sdk import JWKSCache

    rs = ResourceServer(
        issuer="https://op.example.com",
        audience="https://api.example.com",
        jwks=JWKSCache(keys=keys.jwks("rsa"), clock=lambda: NOW),
        clock=lambda: NOW,
    )
    token = bound_token(keys, key.thumbprint())
    header = refused(rs, dpop_request(token, proof(key, token=token)), InvalidToken)
    assert header == 'Bearer error="invalid_token"'


def test_step_up_error_uses_the_dpop_scheme(keys: Keys, key: ECKey) -> None:
    """RFC 9470 §3 with RFC 9449 §7.1: the step-up challenge of a DPoP-bound token."""
    weak = bound_token(keys, key.thumbprint(), acr="urn:stepauth:acr:1fa")
    rs = resource_server(keys)
    header = refused(rs, dpop_request(weak, proof(key, token=weak)), InsufficientAuthentication)
    (challenge,) = parse_challenges(header)
    assert challenge.scheme == "DPoP"
    assert challenge.error == "insufficient_user_authentication"
    assert challenge.acr_values == ("phr",)
    assert challenge.max_age == 300
    assert challenge.params["algs"].split()[0] == "ES256"


def test_rsa_proofs_are_accepted_too(keys: Keys) -> None:
    rsa = RSAKey.generate_key(2048)
    token = bound_token(keys, rsa.thumbprint())
    rs = resource_server(keys)
    assert rs.verify_request(dpop_request(token, proof(rsa, alg="PS256", token=token)), PHR)


def test_missing_or_stale_server_nonce_answers_use_dpop_nonce(
    keys: Keys, key: ECKey, token: str
) -> None:
    """RFC 9449 §9: ``use_dpop_nonce`` with a fresh ``DPoP-Nonce``; with it, the call passes."""
    issued_at = [NOW - 400]
    nonces = DPoPNonces(b"n" * 32, clock=lambda: issued_at[0])
    stale = nonces.issue()  # 400 s old by the time it is used: past its 300 s
    issued_at[0] = NOW
    rs = resource_server(keys, nonces=nonces)
    for sent in (None, stale):
        request = dpop_request(token, proof(key, token=token, nonce=sent))
        with pytest.raises(UseDPoPNonce) as caught:
            rs.verify_request(request, PHR)
        answer = rs.refusal(caught.value, request)
        (challenge,) = parse_challenges(answer.headers["WWW-Authenticate"])
        assert (challenge.scheme, challenge.error) == ("DPoP", "use_dpop_nonce")
        assert answer.headers["DPoP-Nonce"] == caught.value.nonce
    fresh = caught.value.nonce
    assert rs.verify_request(dpop_request(token, proof(key, token=token, nonce=fresh)), PHR)
