"""Client authentication (RFC 6749 §2.3, OIDC Core §9, RFC 7523) at the back channel.

Exercised through /introspect, which needs nothing but an authenticated client.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import httpx
from joserfc.jwk import ECKey, OctKey

from tests.helpers.harness import (
    CONFIDENTIAL,
    ISSUER,
    JWT_CLIENT,
    POST_CLIENT,
    PUBLIC,
    REDIRECT_URI,
    SECRET,
    Provider,
    client_assertion,
    pkce_pair,
    provider,
    provider_on_each_db,
    served_provider,
)

__all__ = ["provider", "provider_on_each_db"]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


async def _introspect(provider: Provider, data: dict[str, str], **kw: object) -> httpx.Response:
    return await provider.browser.post("/introspect", data={"token": "x", **data}, **kw)  # type: ignore[arg-type]


async def test_client_secret_basic(provider: Provider) -> None:
    response = await _introspect(provider, {}, auth=(CONFIDENTIAL, SECRET))
    assert response.status_code == 200
    assert response.json() == {"active": False}


async def test_client_secret_basic_is_form_urlencoded(provider: Provider) -> None:
    """RFC 6749 §2.3.1: id and secret are form-urlencoded inside the Basic credentials."""
    raw = base64.b64encode(f"{CONFIDENTIAL}:{SECRET}".replace("-", "%2D").encode()).decode()
    response = await _introspect(provider, {}, headers={"Authorization": f"Basic {raw}"})
    assert response.status_code == 200


async def test_wrong_secret_is_invalid_client_with_basic_challenge(provider: Provider) -> None:
    response = await _introspect(provider, {}, auth=(CONFIDENTIAL, SECRET + "x"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_unknown_client_is_invalid_client(provider: Provider) -> None:
    response = await _introspect(provider, {}, auth=("nobody", SECRET))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_client_secret_post(provider: Provider) -> None:
    ok = await _introspect(provider, {"client_id": POST_CLIENT, "client_secret": SECRET})
    assert ok.status_code == 200
    bad = await _introspect(provider, {"client_id": POST_CLIENT, "client_secret": "nope"})
    assert bad.status_code == 401
    assert "www-authenticate" not in bad.headers


async def test_method_other_than_registered_is_invalid_client(provider: Provider) -> None:
    """A basic client may not switch to client_secret_post, nor post to basic."""
    post = await _introspect(provider, {"client_id": CONFIDENTIAL, "client_secret": SECRET})
    assert post.status_code == 401
    basic = await _introspect(provider, {}, auth=(POST_CLIENT, SECRET))
    assert basic.status_code == 401


async def test_confidential_client_cannot_pass_as_public(provider: Provider) -> None:
    response = await _introspect(provider, {"client_id": CONFIDENTIAL})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_public_client_authenticates_with_client_id(provider: Provider) -> None:
    """A public client names itself at the endpoints open to it (here /revoke, RFC 7009)."""
    response = await provider.browser.post("/revoke", data={"token": "x", "client_id": PUBLIC})
    assert response.status_code == 200


async def test_two_methods_at_once_is_invalid_request(provider: Provider) -> None:
    """RFC 6749 §2.3: a client MUST NOT use more than one authentication method."""
    response = await _introspect(
        provider, {"client_id": CONFIDENTIAL, "client_secret": SECRET}, auth=(CONFIDENTIAL, SECRET)
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_no_credentials_is_invalid_client(provider: Provider) -> None:
    response = await _introspect(provider, {})
    assert response.status_code == 401


def _jwt_params(assertion: str) -> dict[str, str]:
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}


async def test_private_key_jwt(provider: Provider) -> None:
    assertion = client_assertion(now=provider.clock(), audience=ISSUER)
    response = await _introspect(provider, _jwt_params(assertion))
    assert response.status_code == 200


async def test_private_key_jwt_token_endpoint_audience(provider: Provider) -> None:
    assertion = client_assertion(now=provider.clock(), audience=ISSUER + "/token")
    response = await _introspect(provider, _jwt_params(assertion))
    assert response.status_code == 200


async def test_private_key_jwt_jti_replay_is_rejected(provider_on_each_db: Provider) -> None:
    """RFC 7523 §3 item 7: an assertion (its jti) is accepted once."""
    provider = provider_on_each_db
    assertion = client_assertion(now=provider.clock())
    assert (await _introspect(provider, _jwt_params(assertion))).status_code == 200
    replay = await _introspect(provider, _jwt_params(assertion))
    assert replay.status_code == 401
    assert replay.json()["error"] == "invalid_client"


async def test_client_assertion_alg_none_is_rejected(provider: Provider) -> None:
    def b64(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(provider.clock())
    claims = {"iss": JWT_CLIENT, "sub": JWT_CLIENT, "aud": ISSUER, "exp": now + 60, "jti": "j1"}
    assertion = f"{b64({'alg': 'none'})}.{b64(claims)}."
    response = await _introspect(provider, _jwt_params(assertion))
    assert response.status_code == 401


async def test_client_assertion_hs256_is_rejected(provider: Provider) -> None:
    """An HMAC assertion keyed with public material must never verify."""
    key = OctKey.import_key(b"k" * 32)
    assertion = client_assertion(now=provider.clock(), key=key, alg="HS256")
    response = await _introspect(provider, _jwt_params(assertion))
    assert response.status_code == 401


async def test_client_assertion_signed_by_another_key_is_rejected(provider: Provider) -> None:
    other = ECKey.generate_key("P-256", parameters={"kid": "rp-key-1"}, private=True)
    assertion = client_assertion(now=provider.clock(), key=other)
    response = await _introspect(provider, _jwt_params(assertion))
    assert response.status_code == 401


async def test_client_assertion_wrong_audience_is_rejected(provider: Provider) -> None:
    assertion = client_assertion(now=provider.clock(), audience="https://other.example")
    response = await _introspect(provider, _jwt_params(assertion))
    assert response.status_code == 401


async def test_expired_client_assertion_is_rejected(provider: Provider) -> None:
    assertion = client_assertion(now=provider.clock() - 600)
    response = await _introspect(provider, _jwt_params(assertion))
    assert response.status_code == 401


async def test_long_lived_client_assertion_is_rejected(provider: Provider) -> None:
    assertion = client_assertion(now=provider.clock(), lifetime=3600)
    response = await _introspect(provider, _jwt_params(assertion))
    assert response.status_code == 401


async def test_client_assertion_sub_must_equal_iss(provider: Provider) -> None:
    assertion = client_assertion(now=provider.clock(), sub=CONFIDENTIAL)
    response = await _introspect(provider, _jwt_params(assertion))
    assert response.status_code == 401


async def test_client_assertion_for_a_secret_client_is_rejected(provider: Provider) -> None:
    assertion = client_assertion(now=provider.clock(), client_id=CONFIDENTIAL)
    response = await _introspect(provider, _jwt_params(assertion))
    assert response.status_code == 401


async def test_concurrent_token_requests_with_one_assertion(tmp_path: Path) -> None:
    """RFC 7523 §3 item 7 over real HTTP: two token requests racing with one assertion
    (each with its own valid code) — exactly one succeeds, the other is invalid_client."""
    async with served_provider(tmp_path) as provider:
        await provider.create_user()
        codes = []
        for _ in range(2):
            verifier, challenge = pkce_pair()
            result = await provider.authorize(client_id=JWT_CLIENT, code_challenge=challenge)
            codes.append((result.code, verifier))
        assertion = client_assertion(now=provider.clock(), audience=provider.issuer + "/token")

        async def redeem(code: str, verifier: str) -> httpx.Response:
            async with httpx.AsyncClient(base_url=provider.issuer) as client:
                return await client.post(
                    "/token",
                    data={
                        "grant_type": "authorization_code",
                        "code": code,
                        "redirect_uri": REDIRECT_URI,
                        "code_verifier": verifier,
                        **_jwt_params(assertion),
                    },
                )

        responses = await asyncio.gather(*(redeem(code, v) for code, v in codes))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 401]
        refused = next(r for r in responses if r.status_code == 401)
        assert refused.json()["error"] == "invalid_client"
        issued = next(r for r in responses if r.status_code == 200)
        assert "access_token" in issued.json()
