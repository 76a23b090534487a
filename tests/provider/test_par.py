"""POST /par (RFC 9126) and the pushed request's use at /authorize."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.helpers.bound import approve_with_passkey
from tests.helpers.harness import (
    CONFIDENTIAL,
    REDIRECT_URI,
    SECRET,
    Provider,
    decode_unverified,
    pkce_pair,
    provider,
)

__all__ = ["provider"]

PAYMENT = [
    {
        "type": "payment_initiation",
        "actions": ["initiate", "status", "cancel"],
        "locations": ["https://example.com/payments"],
        "instructedAmount": {"currency": "EUR", "amount": "123.50"},
        "creditorName": "Merchant A",
        "creditorAccount": {"iban": "DE02100100109307118603"},
        "remittanceInformationUnstructured": "Ref Number Merchant",
    }
]


def _params(challenge: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": CONFIDENTIAL,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "nonce": "n",
        **extra,
    }


async def _push(provider: Provider, data: dict[str, str], **kw: Any) -> httpx.Response:
    auth = kw.pop("auth", (CONFIDENTIAL, SECRET))
    return await provider.browser.post("/par", data=data, auth=auth, **kw)


async def test_par_returns_request_uri(provider: Provider) -> None:
    _, challenge = pkce_pair()
    response = await _push(provider, _params(challenge))
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    assert body["expires_in"] == provider.state.config.ttl.par
    item = await provider.store.get("par", body["request_uri"], now=provider.clock())
    assert item.payload["client_id"] == CONFIDENTIAL
    assert "client_secret" not in item.payload["params"]


async def test_pushed_request_runs_the_code_flow(provider: Provider) -> None:
    verifier, challenge = pkce_pair()
    body = (await _push(provider, _params(challenge, state="s1"))).json()
    result = await provider.authorize_raw(
        {"client_id": CONFIDENTIAL, "request_uri": body["request_uri"]}
    )
    assert result.params["state"] == "s1"
    tokens = await provider.exchange(result.code, verifier)
    assert tokens["id_token"]


async def test_pushed_authorization_details_are_granted(provider: Provider) -> None:
    """RFC 9396 §7 / §9.1: details through PAR come back in the token response and the AT."""
    verifier, challenge = pkce_pair()
    data = _params(challenge, authorization_details=json.dumps(PAYMENT))
    body = (await _push(provider, data)).json()
    code = await approve_with_passkey(
        provider, {"client_id": CONFIDENTIAL, "request_uri": body["request_uri"]}
    )
    tokens = await provider.exchange(code, verifier)
    assert tokens["authorization_details"][0]["type"] == "payment_initiation"
    assert tokens["authorization_details"][0]["instructedAmount"]["amount"] == "123.50"
    access = decode_unverified(tokens["access_token"])
    assert access["authorization_details"] == tokens["authorization_details"]
    assert access["txn"]
    answer = await provider.introspect(tokens["access_token"])
    assert answer["authorization_details"] == tokens["authorization_details"]
    assert answer["txn"] == access["txn"]


async def test_request_uri_inside_par_is_invalid_request(provider: Provider) -> None:
    _, challenge = pkce_pair()
    data = _params(challenge, request_uri="urn:ietf:params:oauth:request_uri:abc")
    response = await _push(provider, data)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_par_unregistered_redirect_uri_is_rejected(provider: Provider) -> None:
    _, challenge = pkce_pair()
    response = await _push(provider, _params(challenge, redirect_uri="https://evil.example/cb"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_par_unknown_authorization_details_type_is_rejected(provider: Provider) -> None:
    """RFC 9396 §5: an unknown type is invalid_authorization_details."""
    _, challenge = pkce_pair()
    details = json.dumps([{"type": "teleport", "where": "mars"}])
    response = await _push(provider, _params(challenge, authorization_details=details))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_authorization_details"


async def test_par_authorization_details_unknown_field_is_rejected(provider: Provider) -> None:
    _, challenge = pkce_pair()
    details = json.dumps([{**PAYMENT[0], "smuggled": "x"}])
    response = await _push(provider, _params(challenge, authorization_details=details))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_authorization_details"


async def test_par_requires_pkce(provider: Provider) -> None:
    data = _params("x")
    del data["code_challenge"]
    response = await _push(provider, data)
    assert response.status_code == 400


async def test_par_requires_client_authentication(provider: Provider) -> None:
    _, challenge = pkce_pair()
    response = await _push(provider, _params(challenge), auth=(CONFIDENTIAL, "wrong"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_par_client_id_must_match_authenticated_client(provider: Provider) -> None:
    _, challenge = pkce_pair()
    response = await _push(provider, _params(challenge, client_id="spa"))
    assert response.status_code in (400, 401)


async def test_pushed_request_is_single_use(provider: Provider) -> None:
    _, challenge = pkce_pair()
    body = (await _push(provider, _params(challenge))).json()
    query = {"client_id": CONFIDENTIAL, "request_uri": body["request_uri"]}
    assert (await provider.authorize_raw(query)).code
    again = await provider.browser.get("/authorize", params=query)
    location = again.headers.get("location", "")
    assert "code=" not in location
    assert again.status_code == 400 or "error=" in location


async def _granted_code(provider: Provider) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    data = _params(challenge, authorization_details=json.dumps(PAYMENT))
    body = (await _push(provider, data)).json()
    code = await approve_with_passkey(
        provider, {"client_id": CONFIDENTIAL, "request_uri": body["request_uri"]}
    )
    return code, verifier


def _token_request(code: str, verifier: str, details: object) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        "authorization_details": json.dumps(details),
    }


async def test_token_request_may_repeat_granted_details(provider: Provider) -> None:
    """RFC 9396 §6: details at the token endpoint select among the granted ones."""
    code, verifier = await _granted_code(provider)
    response = await provider.token(_token_request(code, verifier, PAYMENT))
    assert response.status_code == 200
    assert response.json()["authorization_details"] == PAYMENT


async def test_token_request_with_tampered_amount_is_rejected(provider: Provider) -> None:
    """RFC 9396 §6 / PSD2 dynamic linking: asking for more than granted fails."""
    code, verifier = await _granted_code(provider)
    tampered = [{**PAYMENT[0], "instructedAmount": {"currency": "EUR", "amount": "9999.00"}}]
    response = await provider.token(_token_request(code, verifier, tampered))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_authorization_details"
