"""Discovery metadata (OIDC Discovery 1.0 §3, RFC 8414) and the JWKS."""

from __future__ import annotations

from tests.helpers.harness import ACR_1FA, ACR_2FA, ISSUER, Provider, decode_header, provider

__all__ = ["provider"]


async def test_openid_configuration(provider: Provider) -> None:
    response = await provider.browser.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    meta = response.json()
    assert meta["issuer"] == ISSUER  # OIDC Discovery §4.3: exactly the issuer
    for name, path in (
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks"),
        ("pushed_authorization_request_endpoint", "/par"),
        ("introspection_endpoint", "/introspect"),
        ("revocation_endpoint", "/revoke"),
        ("end_session_endpoint", "/logout"),
    ):
        assert meta[name] == ISSUER + path
    assert meta["response_types_supported"] == ["code"]
    assert meta["response_modes_supported"] == ["query", "form_post"]
    assert meta["subject_types_supported"] == ["public"]
    assert meta["id_token_signing_alg_values_supported"] == ["RS256", "ES256", "EdDSA", "Ed25519"]
    for endpoint in ("token_endpoint", "introspection_endpoint", "revocation_endpoint"):
        # private_key_jwt: the RFC 9864 §2 fully-specified name next to the polymorphic one
        assert {"EdDSA", "Ed25519"} <= set(meta[f"{endpoint}_auth_signing_alg_values_supported"])
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert (
        meta["claims_parameter_supported"] is True
    )  # OIDC Discovery §3 (claims_parameter_supported)
    assert {"acr", "amr", "auth_time"} <= set(
        meta["claims_supported"]
    )  # OIDC Discovery §3 (claims_supported)
    assert meta["authorization_response_iss_parameter_supported"] is True  # RFC 9207
    assert meta["request_uri_parameter_supported"] is True
    assert meta["require_pushed_authorization_requests"] is False
    assert "payment_initiation" in meta["authorization_details_types_supported"]  # RFC 9396 §10
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    }
    assert set(meta["grant_types_supported"]) == {"authorization_code", "refresh_token"}
    assert {"none", "login"} <= set(meta["prompt_values_supported"])


async def test_every_private_key_jwt_endpoint_names_its_signing_algorithms(
    provider: Provider,
) -> None:
    """RFC 8414 §2: an endpoint whose auth methods include private_key_jwt lists its
    ``*_auth_signing_alg_values_supported`` (without "none"); introspection does not offer
    "none" (RFC 7662 §2.1)."""
    meta = (await provider.browser.get("/.well-known/openid-configuration")).json()
    for endpoint in ("token_endpoint", "introspection_endpoint", "revocation_endpoint"):
        if "private_key_jwt" in meta[f"{endpoint}_auth_methods_supported"]:
            algs = meta[f"{endpoint}_auth_signing_alg_values_supported"]
            assert algs, endpoint
            assert "none" not in algs
            assert not any(alg.startswith("HS") for alg in algs)
    assert "none" not in meta["introspection_endpoint_auth_methods_supported"]
    assert "none" in meta["revocation_endpoint_auth_methods_supported"]


async def test_acr_values_supported_is_the_ladder(provider: Provider) -> None:
    """RFC 9470 §7 / OIDC Discovery §3 (acr_values_supported): acr_values_supported signals that
    acr_values and max_age are honoured.
    """
    meta = (await provider.browser.get("/.well-known/openid-configuration")).json()
    assert meta["acr_values_supported"] == list(provider.state.ladder.acr_values)
    assert ACR_1FA in meta["acr_values_supported"]
    assert ACR_2FA in meta["acr_values_supported"]


async def test_jwks_publishes_public_keys_only(provider: Provider) -> None:
    body, _ = await provider.login_and_exchange()
    response = await provider.browser.get("/jwks")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert keys
    for key in keys:
        assert "kid" in key
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
    # The key that signed the ID Token is published.
    assert decode_header(body["id_token"])["kid"] in {key["kid"] for key in keys}
