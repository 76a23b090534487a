"""Authorization requests: acr_values XOR essential acr, max_age, PKCE, PAR, RAR (RFC 9470 §4)."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from stepauth.assurance import Requirement
from stepauth.sdk.authorize import (
    build_authorization_request,
    code_challenge_s256,
    par_body,
    par_redirect_url,
)
from stepauth.sdk.errors import InvalidAuthorizationRequest
from stepauth.sdk.jose import b64url_encode

ENDPOINT = "https://op.example.com/authorize"


def build(**kw: object) -> dict[str, str]:
    args: dict[str, object] = {
        "authorization_endpoint": ENDPOINT,
        "client_id": "s6BhdRkqt3",
        "redirect_uri": "https://rp.example.com/cb",
    }
    args.update(kw)
    request = build_authorization_request(**args)  # type: ignore[arg-type]
    query = parse_qs(urlsplit(request.url).query)
    assert all(len(v) == 1 for v in query.values())
    return {k: v[0] for k, v in query.items()}


def test_acr_values_and_max_age_from_the_requirement() -> None:
    """RFC 9470 §4: the challenge's acr_values and max_age go into the request."""
    params = build(requirement=Requirement(("phr", "phrh"), 300))
    assert params["acr_values"] == "phr phrh"
    assert params["max_age"] == "300"
    assert "claims" not in params
    assert params["response_type"] == "code"
    assert params["scope"] == "openid"


def test_essential_acr_mode_sends_claims_not_acr_values() -> None:
    """OIDC Core §5.5.1.1: essential acr in claims, never together with acr_values."""
    params = build(requirement=Requirement(("phr",), 300), acr_mode="claims")
    assert "acr_values" not in params
    claims = json.loads(params["claims"])
    assert claims == {
        "id_token": {
            "acr": {"essential": True, "values": ["phr"]},
            "auth_time": {"essential": True},
        }
    }


def test_acr_values_and_a_claims_acr_request_are_never_both_sent() -> None:
    """OIDC Core §5.5.1.1; OpenID conformance suite: DisallowMaxAgeEqualsZeroAndPromptNone."""
    claims = json.dumps({"id_token": {"acr": {"essential": True, "value": "phr"}}})
    with pytest.raises(InvalidAuthorizationRequest):
        build(requirement=Requirement(("phr",)), extra={"claims": claims})
    with pytest.raises(InvalidAuthorizationRequest):
        build(requirement=Requirement(("phr",)), acr_mode="claims", extra={"acr_values": "phr"})


def test_max_age_zero_with_prompt_none_is_never_sent() -> None:
    """The OpenID conformance suite rejects that combination in its RP tests
    (``DisallowMaxAgeEqualsZeroAndPromptNone``).
    """
    with pytest.raises(InvalidAuthorizationRequest):
        build(requirement=Requirement(("phr",), 0), prompt="none")
    assert build(requirement=Requirement(("phr",), 0), prompt="login")["max_age"] == "0"
    assert build(requirement=Requirement(("phr",), 10), prompt="none")["prompt"] == "none"


def test_negative_max_age_is_refused() -> None:
    with pytest.raises(InvalidAuthorizationRequest):
        build(max_age=-1)


def test_pkce_s256_state_and_nonce_are_fresh_and_random() -> None:
    """RFC 7636 §4.2 with an injected source of randomness."""
    counter = iter(range(1, 100))
    request = build_authorization_request(
        authorization_endpoint=ENDPOINT,
        client_id="c",
        redirect_uri="https://rp.example.com/cb",
        randbytes=lambda n: bytes([next(counter)]) * n,
    )
    assert request.state == b64url_encode(bytes([1]) * 32)
    assert request.nonce == b64url_encode(bytes([2]) * 32)
    assert 43 <= len(request.code_verifier) <= 128
    digest = hashlib.sha256(request.code_verifier.encode()).digest()
    assert request.params["code_challenge"] == b64url_encode(digest)
    assert request.params["code_challenge_method"] == "S256"
    other = build()
    assert other["state"] != request.state


def test_rfc7636_appendix_b_vector() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge_s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_id_token_hint_and_authorization_details() -> None:
    details = [
        {"type": "payment_initiation", "instructedAmount": {"currency": "EUR", "amount": "1250.00"}}
    ]
    params = build(id_token_hint="eyJ.hint.sig", authorization_details=details)
    assert params["id_token_hint"] == "eyJ.hint.sig"
    assert json.loads(params["authorization_details"]) == details


def test_par_pushes_everything_and_redirects_with_request_uri_only() -> None:
    """RFC 9126 §2.1, §4."""
    request = build_authorization_request(
        authorization_endpoint=ENDPOINT,
        client_id="s6BhdRkqt3",
        redirect_uri="https://rp.example.com/cb",
        requirement=Requirement(("phr",), 300),
    )
    body = par_body(request)
    assert body["acr_values"] == "phr"
    assert body["code_challenge_method"] == "S256"
    url = par_redirect_url(request, request_uri="urn:ietf:params:oauth:request_uri:abc")
    assert parse_qs(urlsplit(url).query) == {
        "client_id": ["s6BhdRkqt3"],
        "request_uri": ["urn:ietf:params:oauth:request_uri:abc"],
    }


def test_scope_must_contain_openid() -> None:
    with pytest.raises(InvalidAuthorizationRequest):
        build(scope="profile")
