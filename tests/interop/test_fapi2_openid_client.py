"""FAPI 2.0 end to end with a third-party RP: openid-client v6 against ``stepauth serve``.

``peers/rp-fapi2.mjs`` authenticates with ``private_key_jwt`` (RFC 7523), pushes a signed
request object (RFC 9126 + RFC 9101) carrying PKCE S256 and ``dpop_jkt`` (RFC 9449 §10),
signs alice in with her password, redeems the code with a DPoP proof and calls the bank's
API, which is guarded by the stepauth SDK. The transfer needs two factors, so the API answers
RFC 9470 ``insufficient_user_authentication`` with the DPoP scheme; the RP pushes a new
request with the challenge's ``acr_values``, alice adds her authenticator app code and the
call with the new token succeeds. The setting is built in :mod:`tests.interop.fapi2_setup`.

Every replay and misuse of what the flow produced is refused, each in its own test: at the
API (no proof, another key's proof, a proof for another URL or method, a replayed proof) and
at the Provider (a replayed code, a replayed request object, a plain pushed request, a shared
secret instead of ``private_key_jwt``, a token request without a proof).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from tests.helpers.client_side import ASSERTION_TYPE
from tests.interop.fapi2_setup import (
    ACR_1FA,
    ACR_2FA,
    CLIENT_ID,
    REDIRECT_URI,
    Setting,
    client_assertion,
    dpop_proof,
    fapi2_setting,
    post_with_dpop,
    run_rp,
)

pytestmark = pytest.mark.node


@pytest.fixture(scope="module")
def setting(node_peers: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setting]:
    with fapi2_setting(tmp_path_factory.mktemp("fapi2")) as running:
        yield running


@pytest.fixture(scope="module")
def flow(node_peers: Path, setting: Setting) -> dict[str, Any]:
    """One full run of the RP: sign-in, refused transfer, step-up, accepted transfer."""
    return run_rp(node_peers, setting)


@pytest.fixture
def fresh_code(node_peers: Path, setting: Setting) -> dict[str, Any]:
    """A new authorization (PAR + JAR + dpop_jkt, password sign-in) stopped at the
    authorization response: its code is not redeemed yet."""
    first: dict[str, Any] = run_rp(node_peers, setting, "--code-only")["first"]
    return first


def access_claims(setting: Setting, token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(httpx.get(f"{setting.issuer}/jwks").json())
    return dict(jwt.decode(token, keys, algorithms=["RS256", "ES256", "PS256", "EdDSA"]).claims)


def exchanges(flow: dict[str, Any], path: str) -> list[dict[str, Any]]:
    return [e for e in flow["exchanges"] if e["path"] == path]


def assert_error(response: httpx.Response, error: str, because: str, status: int = 400) -> None:
    """A JSON error ``error`` whose description names the failed check (``because``)."""
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text
    assert because in response.json().get("error_description", ""), response.text


def code_request(authorization: dict[str, Any]) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": authorization["response_params"]["code"],
        "redirect_uri": REDIRECT_URI,
        "code_verifier": authorization["code_verifier"],
        "client_id": CLIENT_ID,
    }


# ---------------------------------------------------------------- the flow


def test_fapi2_sign_in_with_par_jar_dpop_and_private_key_jwt(
    setting: Setting, flow: dict[str, Any]
) -> None:
    """FAPI 2.0 §5.3.2: PAR with a signed request object, private_key_jwt at /par and
    /token, a DPoP-bound token (RFC 9449 §6.1 cnf.jkt), ES256 ID token, RFC 9207 iss."""
    first = flow["first"]
    thumbprint = setting.dpop_key.thumbprint()
    assert flow["jkt"] == thumbprint
    assert ECKey.import_key(flow["public_jwk"]).thumbprint() == thumbprint
    assert first["response_params"]["iss"] == setting.issuer
    assert first["token_type"].lower() == "dpop"
    assert first["id_token_alg"] == "ES256"
    assert first["factors"] == ["password"]
    assert first["claims"]["acr"] == ACR_1FA
    claims = access_claims(setting, first["access_token"])
    assert claims["cnf"] == {"jkt": thumbprint}
    assert claims["aud"] == setting.api
    assert claims["client_id"] == CLIENT_ID
    request_object = jwt.decode(first["request_object"], setting.client_key)
    assert request_object.header["alg"] == "ES256"
    assert request_object.claims["dpop_jkt"] == thumbprint
    assert request_object.claims["code_challenge_method"] == "S256"
    assert "request_uri" in first["authorization_url"]
    assert "code_challenge" not in first["authorization_url"]
    for path in ("/par", "/token"):
        calls = exchanges(flow, path)
        assert all(e["dpop"] for e in calls), calls
        assert all(e["assertion_type"] == ASSERTION_TYPE for e in calls), calls
    # RFC 9449 §8: the first proof heard use_dpop_nonce and was retried with the nonce, which
    # every later proof carried (the token requests succeeded at once)
    par = exchanges(flow, "/par")
    assert (par[0]["status"], par[0]["error"]) == (400, "use_dpop_nonce"), par
    assert [e["status"] for e in par[1:]] == [201, 201], par
    assert [e["status"] for e in exchanges(flow, "/token")] == [200, 200]


def test_api_demands_a_step_up_and_accepts_the_stepped_up_token(
    setting: Setting, flow: dict[str, Any]
) -> None:
    """RFC 9470 §3 with RFC 9449 §7.1: the password-only token is refused with a DPoP
    challenge naming the acr; after the step-up (TOTP) the transfer goes through."""
    refused = flow["refused"]
    assert refused["status"] == 401
    header = refused["www_authenticate"]
    assert header.startswith("DPoP ")
    assert 'error="insufficient_user_authentication"' in header
    assert f'acr_values="{ACR_2FA}"' in header
    stepped = flow["stepped_up"]
    assert stepped["factors"] == ["totp"], "the session's password was kept: TOTP only"
    assert stepped["claims"]["acr"] == ACR_2FA
    assert stepped["token_type"].lower() == "dpop"
    claims = access_claims(setting, stepped["access_token"])
    assert claims["acr"] == ACR_2FA
    assert claims["cnf"] == {"jkt": setting.dpop_key.thumbprint()}
    request_object = jwt.decode(stepped["request_object"], setting.client_key).claims
    assert request_object["acr_values"] == ACR_2FA
    accepted = flow["accepted"]
    assert accepted["status"] == 200
    assert accepted["body"] == {"sent": "100.00", "sub": claims["sub"], "acr": ACR_2FA}


# ---------------------------------------------------------------- misuse at the API

ORDER = {"amount": "100.00", "to": "DE89370400440532013000"}


def call_api(
    setting: Setting, token: str, proof: str | None, *, scheme: str = "DPoP"
) -> httpx.Response:
    headers = {"Authorization": f"{scheme} {token}"}
    if proof is not None:
        headers["DPoP"] = proof
    return httpx.post(setting.transfer_url, headers=headers, json=ORDER)


def refused(response: httpx.Response, error: str) -> str:
    """A 401 whose DPoP challenge (RFC 9449 §7.1) names ``error``; the challenge."""
    assert response.status_code == 401, response.text
    header = response.headers["www-authenticate"]
    assert header.startswith("DPoP "), header
    assert f'error="{error}"' in header, header
    return header


@pytest.fixture
def token(flow: dict[str, Any]) -> str:
    """The stepped-up (two-factor) token: with a proper proof it may transfer."""
    stepped: str = flow["stepped_up"]["access_token"]
    return stepped


def test_api_accepts_the_token_with_a_fresh_proof_of_its_key(setting: Setting, token: str) -> None:
    proof = dpop_proof(setting.dpop_key, "POST", setting.transfer_url, token=token)
    assert call_api(setting, token, proof).status_code == 200


def test_api_refuses_the_token_without_a_proof(setting: Setting, token: str) -> None:
    """RFC 9449 §7.1: a DPoP-bound token needs a proof."""
    refused(call_api(setting, token, None), "invalid_dpop_proof")


def test_api_refuses_the_token_sent_as_bearer(setting: Setting, token: str) -> None:
    """RFC 9449 §7.2: a DPoP-bound token presented as a bearer token is refused."""
    response = call_api(setting, token, None, scheme="Bearer")
    assert response.status_code == 401, response.text
    assert "invalid_token" in response.headers["www-authenticate"]


def test_api_refuses_a_proof_by_another_key(setting: Setting, token: str) -> None:
    """RFC 9449 §7.1 / §6.1: the proof's key must be the one in the token's cnf.jkt."""
    thief = ECKey.generate_key("P-256", private=True)
    proof = dpop_proof(thief, "POST", setting.transfer_url, token=token)
    refused(call_api(setting, token, proof), "invalid_token")


def test_api_refuses_a_proof_for_another_url(setting: Setting, token: str) -> None:
    """RFC 9449 §4.3 step 9: htu must be the request's URI."""
    proof = dpop_proof(setting.dpop_key, "POST", f"{setting.api}/balance", token=token)
    refused(call_api(setting, token, proof), "invalid_dpop_proof")


def test_api_refuses_a_proof_for_another_method(setting: Setting, token: str) -> None:
    """RFC 9449 §4.3 step 8: htm must be the request's method."""
    proof = dpop_proof(setting.dpop_key, "GET", setting.transfer_url, token=token)
    refused(call_api(setting, token, proof), "invalid_dpop_proof")


def test_api_refuses_a_replayed_proof(setting: Setting, token: str) -> None:
    """RFC 9449 §11.1: a proof's jti is accepted once."""
    proof = dpop_proof(setting.dpop_key, "POST", setting.transfer_url, token=token)
    assert call_api(setting, token, proof).status_code == 200
    refused(call_api(setting, token, proof), "invalid_dpop_proof")


# ---------------------------------------------------------------- misuse at the Provider


def test_replayed_code_is_invalid_grant(setting: Setting, flow: dict[str, Any]) -> None:
    """RFC 6749 §4.1.2: a code is used once (openid-client already redeemed it)."""
    data = {**code_request(flow["first"]), **client_assertion(setting)}
    assert_error(
        post_with_dpop(setting, "/token", data, setting.dpop_key), "invalid_grant", "already used"
    )


def test_replayed_request_object_is_refused_at_par(setting: Setting, flow: dict[str, Any]) -> None:
    """RFC 9101 §10.8 / FAPI 2.0 Message Signing: a pushed request object is used once."""
    data = {
        "client_id": CLIENT_ID,
        "request": flow["first"]["request_object"],
        **client_assertion(setting),
    }
    response = post_with_dpop(setting, "/par", data, setting.dpop_key)
    assert_error(response, "invalid_request_object", "already used")


def test_plain_pushed_request_is_refused_for_a_jar_client(setting: Setting) -> None:
    """FAPI 2.0 Message Signing: a client registered with request_object_signing_alg
    pushes request objects only."""
    data = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "resource": setting.api,
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        "dpop_jkt": setting.dpop_key.thumbprint(),
        **client_assertion(setting),
    }
    response = post_with_dpop(setting, "/par", data, setting.dpop_key)
    assert_error(response, "invalid_request", "must send a signed request object")


def test_client_secret_instead_of_private_key_jwt_is_invalid_client(
    setting: Setting, fresh_code: dict[str, Any]
) -> None:
    """FAPI 2.0 §5.3.2.1: a fapi2 client authenticates with private_key_jwt only; the
    refused request leaves the code unused (redeemed next with the right client auth)."""
    data = {**code_request(fresh_code), "client_secret": "x" * 32}
    response = post_with_dpop(setting, "/token", data, setting.dpop_key)
    assert_error(response, "invalid_client", "not registered for client_secret_post", status=401)
    redeem_properly(setting, fresh_code)


def test_token_request_without_a_proof_is_invalid_dpop_proof(
    setting: Setting, fresh_code: dict[str, Any]
) -> None:
    """FAPI 2.0 §5.3.2.1 / RFC 9449 §10: the code was pushed with dpop_jkt, the client is
    fapi2: the token request needs a proof; the refusal leaves the code unused."""
    data = {**code_request(fresh_code), **client_assertion(setting)}
    assert_error(
        post_with_dpop(setting, "/token", data, None),
        "invalid_dpop_proof",
        "must send a DPoP proof",
    )
    redeem_properly(setting, fresh_code)


def redeem_properly(setting: Setting, authorization: dict[str, Any]) -> None:
    data = {**code_request(authorization), **client_assertion(setting)}
    response = post_with_dpop(setting, "/token", data, setting.dpop_key)
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"
