"""RFC 9068 access tokens at a resource server and
the RFC 9470 challenge (RFC 9470 §2-§6, §9; RFC 9068 §2.2.1).
"""

from __future__ import annotations

from typing import Any

import pytest

from stepauth.assurance import Requirement, StepUp, parse_challenges
from stepauth.sdk import (
    InsufficientAuthentication,
    JWKSCache,
    ResourceServer,
    error_response,
    validate_access_token,
)
from stepauth.sdk.api import challenge_for
from stepauth.sdk.errors import InvalidAudience, InvalidToken, InvalidTokenType, TokenExpired
from tests.sdk.conftest import API, ISSUER, NOW, Keys, at_claims, sign


def check(token: str, keys: Keys, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "expected_issuer": ISSUER,
        "expected_audience": API,
        "jwks": keys.key_set(),
        "now": NOW,
    }
    args.update(kw)
    return validate_access_token(token, **args)


def test_valid_at_jwt_passes_the_requirement(keys: Keys) -> None:
    token = sign(at_claims(), keys.rsa, typ="at+jwt")
    claims = check(token, keys, requirement=Requirement(("phr",), 300))
    assert claims["acr"] == "phr"


def test_typ_must_be_at_jwt(keys: Keys) -> None:
    """RFC 9068 §4: an ID token (typ JWT) replayed as an access token is refused."""
    with pytest.raises(InvalidTokenType):
        check(sign(at_claims(), keys.rsa, typ="JWT"), keys)
    assert check(sign(at_claims(), keys.rsa, typ="application/at+jwt"), keys)


def test_wrong_audience_and_expiry(keys: Keys) -> None:
    with pytest.raises(InvalidAudience):
        check(sign(at_claims(aud="https://other.example"), keys.rsa, typ="at+jwt"), keys)
    with pytest.raises(TokenExpired):
        check(sign(at_claims(exp=NOW - 100), keys.rsa, typ="at+jwt"), keys)


def test_insufficient_acr_carries_the_step_up(keys: Keys) -> None:
    """RFC 9470 §3, §6: reject if acr is not among the required values."""
    token = sign(at_claims(acr="urn:stepauth:acr:1fa"), keys.rsa, typ="at+jwt")
    with pytest.raises(InsufficientAuthentication) as info:
        check(token, keys, requirement=Requirement(("phr",), 300))
    assert info.value.step_up == StepUp(("phr",), 300, "acr_not_met")


def test_stale_auth_time_carries_the_step_up(keys: Keys) -> None:
    token = sign(at_claims(auth_time=NOW - 3600), keys.rsa, typ="at+jwt")
    with pytest.raises(InsufficientAuthentication) as info:
        check(token, keys, requirement=Requirement(("phr",), 300))
    assert info.value.step_up.reason == "max_age_exceeded"


def test_rfc9470_examples_byte_for_byte() -> None:
    """: the two examples of RFC 9470 §3."""
    assert challenge_for(StepUp(("myACR",), None, "acr_not_met")) == (
        'Bearer error="insufficient_user_authentication", '
        'error_description="A different authentication level is required", acr_values="myACR"'
    )
    assert challenge_for(StepUp((), 5, "max_age_exceeded")) == (
        'Bearer error="insufficient_user_authentication", '
        'error_description="More recent authentication is required", max_age="5"'
    )


def test_challenge_round_trips_through_the_parser() -> None:
    header = challenge_for(StepUp(("phr", "phrh"), 300, "acr_not_met"))
    (challenge,) = parse_challenges(header)
    assert challenge.error == "insufficient_user_authentication"
    assert challenge.acr_values == ("phr", "phrh")
    assert challenge.max_age == 300


def test_error_responses_per_failure() -> None:
    """RFC 6750 §3.1: no error code without credentials; invalid_token; then the step-up."""
    assert error_response(None).headers == {"WWW-Authenticate": "Bearer"}
    bad = error_response(InvalidToken("x"))
    assert bad.status == 401
    assert bad.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    weak = error_response(InsufficientAuthentication("x", step_up=StepUp(("phr",), 300, "r")))
    assert 'error="insufficient_user_authentication"' in weak.headers["WWW-Authenticate"]


def test_invalid_token_never_leaks_the_requirement(keys: Keys) -> None:
    """RFC 9470 §9: the challenge is built only after the token validated."""
    rs = ResourceServer(
        issuer=ISSUER, audience=API, jwks=JWKSCache(keys=keys.jwks()), clock=lambda: NOW
    )
    forged = sign(at_claims(iss="https://evil.example", acr="x"), keys.rsa, typ="at+jwt")
    with pytest.raises(InvalidToken) as info:
        rs.verify(forged, Requirement(("phrh",), 60))
    answer = error_response(info.value)
    assert "phrh" not in answer.headers["WWW-Authenticate"]


def test_an_explicit_empty_requirement_still_needs_acr_and_auth_time(keys: Keys) -> None:
    """A token that does not say how and when its user authenticated never satisfies one."""
    token = sign(at_claims(acr=None, auth_time=None), keys.rsa, typ="at+jwt")
    assert check(token, keys)["sub"] == "user-42"  # no requirement: authentication only
    with pytest.raises(InsufficientAuthentication):
        check(token, keys, requirement=Requirement())
