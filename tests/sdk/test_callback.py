"""Callback handling: state, RFC 9207 iss, and distinct outcomes (OIDC Core §3.1.2.6;
OpenID Connect unmet_authentication_requirements 1.0 §1).
"""

from __future__ import annotations

import pytest

from stepauth.sdk.callback import handle_callback
from stepauth.sdk.errors import (
    AccessDenied,
    AuthorizationFailed,
    InteractionRequired,
    IssuerMismatch,
    LoginRequired,
    StateMismatch,
    UnmetAuthenticationRequirements,
)

ISS = "https://op.example.com"


def test_code_is_returned_when_state_and_iss_match() -> None:
    response = handle_callback(
        {"code": "abc", "state": "s1", "iss": ISS}, expected_state="s1", expected_issuer=ISS
    )
    assert response.code == "abc"


def test_state_mismatch_is_csrf() -> None:
    with pytest.raises(StateMismatch):
        handle_callback({"code": "abc", "state": "s2"}, expected_state="s1", expected_issuer=ISS)
    with pytest.raises(StateMismatch):
        handle_callback({"code": "abc"}, expected_state="s1", expected_issuer=ISS)


def test_duplicated_state_is_not_trusted() -> None:
    with pytest.raises(StateMismatch):
        handle_callback(
            {"code": "abc", "state": ["s1", "s1"]}, expected_state="s1", expected_issuer=ISS
        )


def test_mix_up_iss_is_rejected() -> None:
    """RFC 9207 §2.4: a response naming another issuer."""
    with pytest.raises(IssuerMismatch):
        handle_callback(
            {"code": "abc", "state": "s1", "iss": "https://evil.example"},
            expected_state="s1",
            expected_issuer=ISS,
        )


def test_missing_iss_is_rejected_when_the_op_sends_it() -> None:
    with pytest.raises(IssuerMismatch):
        handle_callback(
            {"code": "abc", "state": "s1"},
            expected_state="s1",
            expected_issuer=ISS,
            require_iss=True,
        )


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        ("unmet_authentication_requirements", UnmetAuthenticationRequirements),
        ("login_required", LoginRequired),
        ("interaction_required", InteractionRequired),
        ("access_denied", AccessDenied),
    ],
)
def test_each_error_maps_to_its_own_outcome(error: str, outcome: type[AuthorizationFailed]) -> None:
    with pytest.raises(outcome) as info:
        handle_callback(
            {"error": error, "error_description": "nope", "state": "s1", "iss": ISS},
            expected_state="s1",
            expected_issuer=ISS,
        )
    assert type(info.value) is outcome
    assert info.value.error == error


def test_other_errors_are_a_generic_failure() -> None:
    with pytest.raises(AuthorizationFailed) as info:
        handle_callback(
            {"error": "server_error", "state": "s1"}, expected_state="s1", expected_issuer=ISS
        )
    assert type(info.value) is AuthorizationFailed
    assert info.value.error == "server_error"


def test_error_with_a_forged_state_is_a_state_mismatch() -> None:
    with pytest.raises(StateMismatch):
        handle_callback(
            {"error": "access_denied", "state": "forged"}, expected_state="s1", expected_issuer=ISS
        )


def test_response_without_code_or_error_fails() -> None:
    with pytest.raises(AuthorizationFailed):
        handle_callback({"state": "s1"}, expected_state="s1", expected_issuer=ISS)


def test_non_ascii_state_is_a_mismatch_not_a_crash() -> None:
    with pytest.raises(StateMismatch):
        handle_callback({"code": "abc", "state": "é☃"}, expected_state="s1", expected_issuer=ISS)
