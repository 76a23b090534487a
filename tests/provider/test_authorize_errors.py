"""Authorization error responses: which requests are refused, and where the error goes.

RFC 6749 §3.1, §4.1.2.1 and OIDC Core §3.1.2.6: an error is redirected to a verified
redirect_uri (with state and iss, RFC 9207) or shown as a page, never redirected elsewhere.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.helpers.frontchannel import page, query, rp_params
from tests.helpers.harness import ISSUER, REDIRECT_URI, Provider


async def test_malformed_parameters_are_invalid_request(provider: Provider) -> None:
    """Malformed claims, max_age and prompt → invalid_request, redirected with state + iss."""
    for bad in (
        {"claims": "{not json"},
        {"claims": json.dumps(["id_token"])},
        {"claims": json.dumps({"id_token": {"acr": {"essential": "yes"}}})},
        {"max_age": "ten"},
        {"max_age": "-1"},
        {"max_age": "1.5"},
        {"prompt": "none login"},
    ):
        response = await provider.browser.get("/authorize", params=query(state="s", **bad))
        result = rp_params(response)
        assert result["error"] == "invalid_request", bad
        assert result["state"] == "s"
        assert result["iss"] == ISSUER


async def test_repeated_parameter_is_invalid_request(provider: Provider) -> None:
    """RFC 6749 §3.1: a repeated parameter fails before anything, redirect_uri included, is
    trusted, so the answer is the error page."""
    params = [*list(query(state="s").items()), ("scope", "openid profile")]
    response = await provider.browser.get("/authorize", params=params)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "invalid_request" in response.text


async def test_response_type_other_than_code(provider: Provider) -> None:
    response = await provider.browser.get("/authorize", params=query(response_type="token"))
    assert rp_params(response)["error"] == "unsupported_response_type"


@pytest.mark.parametrize(
    "params",
    [
        # OIDC Core §3.1.2.6: an unsupported response_mode gets a 400 without redirect
        {"response_mode": "fragment"},
        # an invalid request object with a redirect_uri that is not registered
        {"request": "e30.e30.", "redirect_uri": "https://attacker.example/cb"},
        # a parameter over the size limit
        {"claims": "x" * 20_000},
    ],
    ids=["unsupported response_mode", "unregistered redirect_uri", "oversized parameter"],
)
async def test_refused_with_a_page_never_redirected(
    provider: Provider, params: dict[str, str]
) -> None:
    response = await provider.browser.get("/authorize", params=query(**params))
    assert response.status_code == 400
    assert "location" not in response.headers


@pytest.mark.parametrize(
    ("params", "error"),
    [
        # OIDC Core §3.1.2.6: with a registered outer redirect_uri, an invalid request
        # object (RFC 9101 §6.2) is an authorization error response
        ({"request": "e30.e30."}, "invalid_request_object"),
        # OIDC Core §6.2: a request_uri not from our PAR endpoint is never fetched
        ({"request_uri": "https://attacker.example/request.jwt"}, "request_uri_not_supported"),
    ],
    ids=["request object", "foreign request_uri"],
)
async def test_request_object_errors_go_back_to_the_client_with_state(
    provider: Provider, params: dict[str, str], error: str
) -> None:
    """The client hears the error at its verified redirect_uri, with ``state`` and
    ``iss`` (RFC 9207)."""
    response = await provider.browser.get("/authorize", params=query(**params, state="s-1"))
    result = rp_params(response)
    assert result["error"] == error
    assert result["state"] == "s-1"
    assert result["iss"] == ISSUER


async def test_form_post_error_response(provider: Provider) -> None:
    """Errors use the requested response_mode too: a form with error, state and iss."""
    response = await provider.browser.get(
        "/authorize", params=query(response_mode="form_post", prompt="none", state="fpe")
    )
    assert response.status_code == 200
    shown = page(response)
    assert shown.forms[0]["action"] == REDIRECT_URI
    fields = {i["name"]: i["value"] for i in shown.forms[0]["inputs"]}
    assert fields == {
        "error": "login_required",
        "error_description": fields["error_description"],
        "state": "fpe",
        "iss": ISSUER,
    }


async def test_redirected_error_description_never_echoes_raw_input(provider: Provider) -> None:
    """RFC 6749 §4.1.2.1 / §5.2: the error_description sent back to the client stays
    within %x20-21 / %x23-5B / %x5D-7E and does not repeat the request's text."""
    name = 'na"me\\\u00e9\u2603'
    claims = json.dumps({"id_token": {name: 5}}, ensure_ascii=False)
    result = rp_params(await provider.browser.get("/authorize", params=query(claims=claims)))
    assert result["error"] == "invalid_request"
    description = result["error_description"]
    assert re.fullmatch(r"[\x20-\x21\x23-\x5b\x5d-\x7e]+", description), description
    assert name not in description
