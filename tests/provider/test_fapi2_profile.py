"""FAPI 2.0 Security Profile: the rules checked at request time, one test each.

``FAPI`` must push signed request objects (ES256); ``FAPI_PAR`` pushes plain pushed
requests. Errors at the PAR endpoint are JSON (RFC 9126 §2.3); at the authorization
endpoint, before a redirect_uri is trusted, an error page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers.harness import ISSUER, REDIRECT_URI, Provider, pkce_pair, running_provider
from tests.provider.fapi import (
    FAPI,
    FAPI_PAR,
    FAPI_PAR_RSA,
    assert_error,
    assert_error_page,
    auth_params,
    client_auth,
    fapi_clients,
    fapi_provider,
    push,
    push_object,
    request_object,
)

__all__ = ["fapi_provider"]


def _pushed(**changes: Any) -> dict[str, Any]:
    """FAPI_PAR's pushed request with ``changes`` (``None`` removes a parameter)."""
    _, challenge = pkce_pair()
    params = auth_params(challenge, FAPI_PAR)
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    return params


async def test_fapi2_pushed_request_runs_to_a_code_with_iss(fapi_provider: Provider) -> None:
    """§5.3.2.2: PAR, then the front channel with request_uri only; the response carries
    ``iss`` (RFC 9207 §2) and the pushed state."""
    provider = fapi_provider
    pushed = await push(provider, FAPI_PAR, _pushed(state="fapi-state"))
    assert pushed.status_code == 201, pushed.text
    result = await provider.authorize_raw(
        {"client_id": FAPI_PAR, "request_uri": pushed.json()["request_uri"]}
    )
    assert result.code
    assert result.params["iss"] == ISSUER
    assert result.params["state"] == "fapi-state"


async def test_fapi2_signed_pushed_request_runs_to_a_code_with_iss(
    fapi_provider: Provider,
) -> None:
    provider = fapi_provider
    pushed = await push_object(provider, FAPI, request_object(provider, state="signed"))
    assert pushed.status_code == 201, pushed.text
    result = await provider.authorize_raw(
        {"client_id": FAPI, "request_uri": pushed.json()["request_uri"]}
    )
    assert result.params["iss"] == ISSUER
    assert result.params["state"] == "signed"


async def test_fapi2_error_response_carries_iss(fapi_provider: Provider) -> None:
    """RFC 9207 §2: error responses carry ``iss`` too (prompt=none without a session)."""
    provider = fapi_provider
    pushed = await push(provider, FAPI_PAR, _pushed(prompt="none", state="e"))
    response = await provider.browser.get(
        "/authorize", params={"client_id": FAPI_PAR, "request_uri": pushed.json()["request_uri"]}
    )
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI)
    assert "error=login_required" in location
    assert "iss=http%3A%2F%2Flocalhost%3A8080" in location


async def test_fapi2_authorization_request_without_par_is_refused(
    fapi_provider: Provider,
) -> None:
    """§5.3.2.2: "shall reject authorization requests sent without [RFC9126]"; the
    unpushed redirect_uri is not trusted, so the answer is an error page."""
    provider = fapi_provider
    _, challenge = pkce_pair()
    response = await provider.browser.get("/authorize", params=auth_params(challenge, FAPI_PAR))
    assert_error_page(response, "invalid_request")
    assert "PAR" in response.text


async def test_fapi2_request_object_by_value_at_authorize_is_refused(
    fapi_provider: Provider,
) -> None:
    """A signed request object is no substitute for PAR for a fapi2 client."""
    provider = fapi_provider
    response = await provider.browser.get(
        "/authorize", params={"client_id": FAPI, "request": request_object(provider)}
    )
    assert_error_page(response, "invalid_request")


async def test_fapi2_unsigned_pushed_request_is_refused(fapi_provider: Provider) -> None:
    """fapi2 + request_object_signing_alg: the pushed request must be a signed request
    object (FAPI 2.0 Message Signing; RFC 9101 §10.5 require_signed_request_object)."""
    provider = fapi_provider
    _, challenge = pkce_pair()
    response = await push(provider, FAPI, auth_params(challenge, FAPI))
    assert_error(response, "invalid_request", because="signed request object")


async def test_fapi2_pushed_request_without_pkce_is_refused(fapi_provider: Provider) -> None:
    """§5.3.2.2: "shall require PKCE [RFC7636]"."""
    response = await push(fapi_provider, FAPI_PAR, _pushed(code_challenge=None))
    assert_error(response, "invalid_request", because="code_challenge")


async def test_fapi2_pushed_request_with_plain_pkce_is_refused(fapi_provider: Provider) -> None:
    """§5.3.2.2: "with S256 as the code challenge method"."""
    response = await push(fapi_provider, FAPI_PAR, _pushed(code_challenge_method="plain"))
    assert_error(response, "invalid_request", because="S256")


async def test_fapi2_pushed_request_without_redirect_uri_is_refused(
    fapi_provider: Provider,
) -> None:
    """§5.3.2.2: "shall require the redirect_uri parameter in pushed authorization
    requests" (no default from the registration)."""
    response = await push(fapi_provider, FAPI_PAR, _pushed(redirect_uri=None))
    assert_error(response, "invalid_request", because="redirect_uri")


async def test_fapi2_signed_request_without_redirect_uri_is_refused(
    fapi_provider: Provider,
) -> None:
    provider = fapi_provider
    token = request_object(provider, redirect_uri=None)
    assert_error(
        await push_object(provider, FAPI, token), "invalid_request", because="redirect_uri"
    )


async def test_fapi2_pushed_request_with_unregistered_redirect_uri_is_refused(
    fapi_provider: Provider,
) -> None:
    """Exact match with a registered redirect URI (RFC 9700 §4.1.3)."""
    response = await push(fapi_provider, FAPI_PAR, _pushed(redirect_uri=REDIRECT_URI + "/other"))
    assert_error(response, "invalid_request", because="redirect_uri")


async def test_fapi2_response_type_code_id_token_is_refused(fapi_provider: Provider) -> None:
    """§5.3.2.2: "shall require the value of response_type ... to be code"."""
    response = await push(fapi_provider, FAPI_PAR, _pushed(response_type="code id_token"))
    assert_error(response, "unsupported_response_type")


async def test_fapi2_response_type_token_is_refused(fapi_provider: Provider) -> None:
    response = await push(fapi_provider, FAPI_PAR, _pushed(response_type="token"))
    assert_error(response, "unsupported_response_type")


async def test_fapi2_unknown_response_mode_is_never_delivered(fapi_provider: Provider) -> None:
    """FAPI 2.0 names no response_mode; query and form_post are the Provider's own, and an
    unknown one (fragment) is answered with a page, never delivered (OIDC Core §3.1.2.6)."""
    provider = fapi_provider
    pushed = await push(provider, FAPI_PAR, _pushed(response_mode="fragment"))
    assert pushed.status_code == 201
    response = await provider.browser.get(
        "/authorize", params={"client_id": FAPI_PAR, "request_uri": pushed.json()["request_uri"]}
    )
    assert_error_page(response, "invalid_request")


async def test_fapi2_pushed_request_without_client_authentication_is_refused(
    fapi_provider: Provider,
) -> None:
    """§5.3.2.2: "shall reject pushed authorization requests without client
    authentication"."""
    response = await fapi_provider.browser.post("/par", data={"client_id": FAPI_PAR, **_pushed()})
    assert_error(response, "invalid_client", status=401)


async def test_fapi2_client_assertion_signed_with_rs256_is_refused(
    fapi_provider: Provider,
) -> None:
    """§5.4: PS256, ES256 or EdDSA; RS256 fails client authentication even with the
    client's own registered RSA key, which PS256 passes."""
    provider = fapi_provider
    for alg, status in (("RS256", 401), ("PS256", 201)):
        auth = client_auth(provider, FAPI_PAR, key=FAPI_PAR_RSA, alg=alg)
        response = await provider.browser.post(
            "/par", data={"client_id": FAPI_PAR, **_pushed(), **auth}
        )
        assert response.status_code == status, (alg, response.text)
    refused = client_auth(provider, FAPI_PAR, key=FAPI_PAR_RSA, alg="RS256")
    response = await provider.browser.post("/par", data={**_pushed(), **refused})
    assert_error(response, "invalid_client", status=401, because="alg")


async def test_fapi2_request_uri_of_another_fapi2_client_is_refused(
    fapi_provider: Provider,
) -> None:
    provider = fapi_provider
    pushed = await push(provider, FAPI_PAR, _pushed())
    response = await provider.browser.get(
        "/authorize", params={"client_id": FAPI, "request_uri": pushed.json()["request_uri"]}
    )
    assert_error_page(response, "invalid_request_uri")


async def test_discovery_advertises_request_objects(fapi_provider: Provider) -> None:
    """RFC 9101 §10.1: the algorithms (never none, never HS*); the server-wide
    require_* flags stay false while some clients are not fapi2 (a client setting)."""
    meta = (await fapi_provider.browser.get("/.well-known/openid-configuration")).json()
    algs = meta["request_object_signing_alg_values_supported"]
    assert {"PS256", "ES256", "EdDSA"} <= set(algs)
    assert "none" not in algs
    assert not [a for a in algs if a.startswith("HS")]
    assert meta["request_parameter_supported"] is True
    assert meta["require_signed_request_object"] is False
    assert meta["require_pushed_authorization_requests"] is False
    assert meta["authorization_response_iss_parameter_supported"] is True


async def test_discovery_requires_par_and_request_objects_when_every_client_does(
    tmp_path: Path,
) -> None:
    """RFC 9126 §5, RFC 9101 §10.5: with only fapi2 clients that sign their requests, the
    server-wide flags say so."""
    only_signing_fapi2 = [c for c in fapi_clients() if c["client_id"] == FAPI]
    async with running_provider(tmp_path, clients=only_signing_fapi2) as provider:
        meta = (await provider.browser.get("/.well-known/openid-configuration")).json()
    assert meta["require_pushed_authorization_requests"] is True
    assert meta["require_signed_request_object"] is True
