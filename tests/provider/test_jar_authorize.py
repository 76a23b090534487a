"""Signed request objects (RFC 9101) by value at /authorize, for clients without a profile.

The ordinary ``JAR`` client may send ``request`` straight to the authorization endpoint
(a fapi2 client may not: PAR only, ``test_fapi2_profile``). Only the request object's
parameters count (RFC 9101 §6.3); a request object is used once.
"""

from __future__ import annotations

from tests.helpers.client_side import sign
from tests.helpers.frontchannel import rp_params
from tests.helpers.harness import ISSUER, REDIRECT_URI, Provider
from tests.provider.fapi import (
    JAR,
    JAR_KEY,
    assert_error_page,
    fapi_provider,
    push_object,
    request_claims,
    request_object,
)

__all__ = ["fapi_provider"]


async def test_request_object_by_value_runs_the_code_flow(fapi_provider: Provider) -> None:
    provider = fapi_provider
    token = request_object(provider, JAR, state="inner-state")
    result = await provider.authorize_raw({"client_id": JAR, "request": token})
    assert result.code
    assert result.params["state"] == "inner-state"
    assert result.params["iss"] == ISSUER


async def test_outer_parameters_are_ignored_at_authorize(fapi_provider: Provider) -> None:
    """RFC 9101 §6.3: "MUST only use the parameters in the Request Object", even when the
    same parameter is also given outside it."""
    provider = fapi_provider
    token = request_object(provider, JAR, state="inner-state")
    result = await provider.authorize_raw(
        {
            "client_id": JAR,
            "request": token,
            "state": "outer-state",
            "code_challenge": "x" * 43,
            "response_mode": "form_post",
        }
    )
    assert result.params["state"] == "inner-state"
    assert result.code


async def test_request_object_without_nbf_is_accepted_for_a_client_without_profile(
    fapi_provider: Provider,
) -> None:
    """nbf is required by FAPI 2.0 Message Signing only; RFC 9101 leaves it optional."""
    provider = fapi_provider
    token = request_object(provider, JAR, nbf=None)
    assert (await provider.authorize_raw({"client_id": JAR, "request": token})).code


async def test_replayed_request_object_by_value_is_refused(fapi_provider: Provider) -> None:
    """A request object seen in a browser's history cannot start a second flow."""
    provider = fapi_provider
    token = request_object(provider, JAR)
    assert (await provider.authorize_raw({"client_id": JAR, "request": token})).code
    replay = await provider.browser.get("/authorize", params={"client_id": JAR, "request": token})
    assert_error_page(replay, "invalid_request_object")


async def test_invalid_request_object_goes_back_to_a_registered_outer_redirect_uri(
    fapi_provider: Provider,
) -> None:
    """OIDC Core §3.1.2.6: with the outer redirect_uri registered (exact match), the error
    is an authorization response with state and iss (RFC 9207)."""
    provider = fapi_provider
    token = request_object(provider, JAR, aud="https://other-op.example")
    response = await provider.browser.get(
        "/authorize",
        params={"client_id": JAR, "request": token, "redirect_uri": REDIRECT_URI, "state": "o"},
    )
    params = rp_params(response)
    assert params["error"] == "invalid_request_object"
    assert params["state"] == "o"
    assert params["iss"] == ISSUER


async def test_request_object_signed_for_another_client_is_refused_at_authorize(
    fapi_provider: Provider,
) -> None:
    """The outer client_id names whose keys verify it; the JAR client's object presented
    as api-client's fails (api-client's key did not sign it)."""
    provider = fapi_provider
    token = sign({**request_claims(provider, JAR)}, JAR_KEY)
    response = await provider.browser.get(
        "/authorize", params={"client_id": "api-client", "request": token}
    )
    assert_error_page(response, "invalid_request_object")


async def test_pushed_request_object_of_a_client_without_profile(fapi_provider: Provider) -> None:
    """RFC 9126 §3: any client may push a request object; the front channel then runs."""
    provider = fapi_provider
    pushed = await push_object(provider, JAR, request_object(provider, JAR, state="p"))
    assert pushed.status_code == 201, pushed.text
    result = await provider.authorize_raw(
        {"client_id": JAR, "request_uri": pushed.json()["request_uri"]}
    )
    assert result.params["state"] == "p"
    assert result.code
