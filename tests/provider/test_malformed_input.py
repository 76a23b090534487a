"""Malformed and hostile input answers with the protocol's error, never a 500
(RFC 8259 §9 nesting limits; OIDC Core §5.5; RFC 9396 §5; RFC 9126 §2.1; RFC 7523 §3)."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.helpers.harness import (
    CONFIDENTIAL,
    JWT_CLIENT,
    REDIRECT_URI,
    SECRET,
    Provider,
    pkce_pair,
    provider,
)

__all__ = ["provider"]

#: Deep enough for :class:`RecursionError` in :func:`json.loads`, small enough for a URL.
BOMB = "[" * 5000 + "]" * 5000
CLAIMS_BOMB = '{"id_token": {"acr": {"values": ' + BOMB + "}}}"


def _query(challenge: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": CONFIDENTIAL,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }


def _error(response: httpx.Response) -> str:
    assert response.status_code < 500, response.text[:300]
    assert "Traceback" not in response.text
    if response.status_code in (302, 303):
        return parse_qs(urlsplit(response.headers["location"]).query)["error"][0]
    return str(response.json()["error"])


def _b64(data: str) -> str:
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


async def test_deeply_nested_claims_at_authorize_is_invalid_request(provider: Provider) -> None:
    _, challenge = pkce_pair()
    response = await provider.browser.get(
        "/authorize", params=_query(challenge, claims=CLAIMS_BOMB)
    )
    assert _error(response) == "invalid_request"


async def test_deeply_nested_authorization_details_at_authorize_is_refused(
    provider: Provider,
) -> None:
    _, challenge = pkce_pair()
    query = _query(challenge, authorization_details=BOMB)
    response = await provider.browser.get("/authorize", params=query)
    assert _error(response) in ("invalid_authorization_details", "invalid_request")


async def test_pushed_claims_bomb_is_refused_and_not_stored(provider: Provider) -> None:
    """RFC 9126 §2.1: the pushed request is validated when pushed, so nothing unparsed
    is kept for /authorize to trip on later."""
    _, challenge = pkce_pair()
    for claims in (CLAIMS_BOMB, "{not json", '["an array"]'):
        response = await provider.browser.post(
            "/par", data=_query(challenge, claims=claims), auth=(CONFIDENTIAL, SECRET)
        )
        assert response.status_code == 400
        assert _error(response) == "invalid_request"


async def test_pushed_authorization_details_bomb_is_refused(provider: Provider) -> None:
    _, challenge = pkce_pair()
    response = await provider.browser.post(
        "/par", data=_query(challenge, authorization_details=BOMB), auth=(CONFIDENTIAL, SECRET)
    )
    assert response.status_code == 400
    assert _error(response) == "invalid_authorization_details"


async def test_deeply_nested_authorization_details_at_token_is_refused(provider: Provider) -> None:
    verifier, challenge = pkce_pair()
    result = await provider.authorize(code_challenge=challenge, nonce="n")
    response = await provider.token(
        {
            "grant_type": "authorization_code",
            "code": result.code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "authorization_details": BOMB,
        }
    )
    assert response.status_code == 400
    assert _error(response) in ("invalid_authorization_details", "invalid_grant")


async def test_deeply_nested_client_assertion_is_invalid_client(provider: Provider) -> None:
    """RFC 7523 §3: the assertion's payload is read (for ``iss``) before its key is known."""
    header = _b64(json.dumps({"alg": "ES256", "kid": "rp-key-1"}))
    payloads = (
        '{"iss": "' + JWT_CLIENT + '", "x": ' + BOMB + "}",
        '{"iss": "'
        + JWT_CLIENT
        + '", "sub": "'
        + JWT_CLIENT
        + '", "nested": '
        + "[" * 40
        + "]" * 40
        + "}",
    )
    for payload in payloads:
        assertion = f"{header}.{_b64(payload)}.{_b64('sig')}"
        response = await provider.browser.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": "x",
                "redirect_uri": REDIRECT_URI,
                "code_verifier": "v" * 43,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            },
        )
        assert response.status_code == 401
        assert _error(response) == "invalid_client"


async def test_non_ascii_csrf_on_the_interaction_is_forbidden_not_500(provider: Provider) -> None:
    _, challenge = pkce_pair()
    response = await provider.browser.get("/authorize", params=_query(challenge))
    assert response.status_code in (302, 303)
    page = urlsplit(response.headers["location"]).path
    assert page.startswith("/interaction/")
    submitted = await provider.browser.post(page, data={"csrf": "é" * 43, "factor": "password"})
    assert submitted.status_code == 403, submitted.text[:300]
    options = await provider.browser.post(
        page + "/webauthn", content=json.dumps({"csrf": "\ud800é"}).encode()
    )
    assert options.status_code == 403, options.text[:300]
    bomb = await provider.browser.post(
        page + "/webauthn", content=BOMB, headers={"content-type": "application/json"}
    )
    assert bomb.status_code == 403, bomb.text[:300]
    credential = await provider.browser.post(
        page, data={"csrf": "x", "factor": "webauthn", "credential": '{"id": ' + BOMB + "}"}
    )
    assert credential.status_code == 403, credential.text[:300]
