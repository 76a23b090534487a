"""Vendor profiles: one requirement → each IdP's request parameters, and each IdP's token
shape → the stepauth decision. The claim sets follow the shapes the vendors document for
their ID and access tokens (names, types, and where acr/amr/acrs/auth_time appear)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from stepauth.assurance import Requirement, StepUp
from stepauth.sdk import InsufficientAuthentication
from stepauth.sdk.api import challenge_for
from stepauth.sdk.errors import InvalidAuthorizationRequest
from stepauth.sdk.profiles import (
    AUTH0_MFA_POLICY,
    STEPAUTH,
    auth0,
    entra_id,
    generic_oidc,
    keycloak,
    okta,
)

NOW = 1_764_000_000
PHR = Requirement(("phr",), 300)
MFA = Requirement(("urn:stepauth:acr:2fa",), 300)

KEYCLOAK_ID_TOKEN: dict[str, Any] = {
    "exp": NOW + 300,
    "iat": NOW - 2,
    "auth_time": NOW - 30,
    "jti": "0b5e2c8a-7b1f",
    "iss": "https://kc.example.com/realms/bank",
    "aud": "web",
    "sub": "f3c1a2d4-5e6f",
    "typ": "ID",
    "azp": "web",
    "nonce": "n1",
    "session_state": "9d1c",
    "at_hash": "x1",
    "acr": "gold",
    "sid": "9d1c",
    "email_verified": True,
    "preferred_username": "alice",
}
AUTH0_ID_TOKEN: dict[str, Any] = {
    "nickname": "alice",
    "name": "alice@example.com",
    "updated_at": "2026-11-27T10:00:00.000Z",
    "email": "alice@example.com",
    "email_verified": True,
    "iss": "https://bank.eu.auth0.com/",
    "aud": "Wk3b9",
    "iat": NOW - 2,
    "exp": NOW + 36000,
    "sub": "auth0|6560f0",
    "sid": "Zx9",
    "auth_time": NOW - 30,
    "nonce": "n1",
    "acr": AUTH0_MFA_POLICY,
    "amr": ["mfa"],
}
OKTA_ID_TOKEN: dict[str, Any] = {
    "sub": "00u1abcd",
    "ver": 1,
    "iss": "https://bank.okta.com/oauth2/default",
    "aud": "0oa1web",
    "iat": NOW - 2,
    "exp": NOW + 3600,
    "jti": "ID.4eAWJ",
    "idp": "00o1",
    "amr": ["pop", "hwk", "mfa"],
    "nonce": "n1",
    "auth_time": NOW - 30,
    "acr": "phr",
}
ENTRA_ACCESS_TOKEN: dict[str, Any] = {
    "aud": "api://payments",
    "iss": "https://sts.windows.net/72f988bf/",
    "iat": NOW - 2,
    "nbf": NOW - 2,
    "exp": NOW + 3600,
    "acr": "1",
    "acrs": ["c1"],
    "aio": "AVQAq",
    "amr": ["pwd", "mfa"],
    "appid": "0oa1",
    "oid": "6a1b",
    "scp": "Payments.Write",
    "sub": "Zr4q",
    "tid": "72f988bf",
    "ver": "1.0",
}


def test_stepauth_default_passes_values_through() -> None:
    assert STEPAUTH.authorization_params(PHR) == {"acr_values": "phr"}
    STEPAUTH.check({"acr": "phr", "auth_time": NOW - 10}, PHR, now=NOW)


def test_generic_oidc_essential_claims_mode() -> None:
    params = generic_oidc(mode="claims").authorization_params(PHR)
    assert json.loads(params["claims"])["id_token"]["acr"] == {"essential": True, "values": ["phr"]}


def test_keycloak_loa_names_both_ways() -> None:
    """Keycloak acr.loa.map: stepauth acr → Keycloak names; token names/LoA numbers back."""
    profile = keycloak(
        {"silver": 1, "gold": 2, "platinum": 3},
        {"urn:stepauth:acr:2fa": "silver", "phr": "gold", "phrh": "platinum"},
    )
    params = profile.authorization_params(PHR)
    assert json.loads(params["claims"])["id_token"]["acr"]["values"] == ["gold"]
    profile.check(KEYCLOAK_ID_TOKEN, PHR, now=NOW)
    profile.check({**KEYCLOAK_ID_TOKEN, "acr": "3"}, PHR, now=NOW)  # LoA number, higher
    with pytest.raises(InsufficientAuthentication):
        profile.check({**KEYCLOAK_ID_TOKEN, "acr": "silver"}, PHR, now=NOW)
    with pytest.raises(InsufficientAuthentication):
        profile.check({**KEYCLOAK_ID_TOKEN, "acr": "1"}, PHR, now=NOW)
    with pytest.raises(InvalidAuthorizationRequest):
        keycloak({"gold": 2}, {"phr": "diamond"})


def test_auth0_mfa_policy_and_amr() -> None:
    profile = auth0()
    assert profile.authorization_params(MFA) == {"acr_values": AUTH0_MFA_POLICY}
    profile.check(AUTH0_ID_TOKEN, MFA, now=NOW)
    single = {**AUTH0_ID_TOKEN, "amr": ["pwd"]}
    single.pop("acr")
    with pytest.raises(InsufficientAuthentication):
        profile.check(single, MFA, now=NOW)


def test_auth0_cannot_be_asked_for_phishing_resistance() -> None:
    """No silent downgrade of phr to 'some MFA'."""
    with pytest.raises(InvalidAuthorizationRequest):
        auth0().authorization_params(PHR)
    with pytest.raises(InsufficientAuthentication):
        auth0().check(AUTH0_ID_TOKEN, PHR, now=NOW)


def test_okta_loa_values() -> None:
    profile = okta()
    assert profile.authorization_params(MFA) == {"acr_values": "urn:okta:loa:2fa:any"}
    assert profile.authorization_params(PHR) == {"acr_values": "phr"}
    profile.check(OKTA_ID_TOKEN, PHR, now=NOW)
    profile.check({**OKTA_ID_TOKEN, "acr": "urn:okta:loa:2fa:any"}, MFA, now=NOW)
    with pytest.raises(InsufficientAuthentication):
        profile.check({**OKTA_ID_TOKEN, "acr": "urn:okta:loa:2fa:any"}, PHR, now=NOW)


def test_okta_ifpossible_is_never_accepted() -> None:
    """urn:okta:loa:2fa:any:ifpossible may fall back to one factor."""
    token = {**OKTA_ID_TOKEN, "acr": "urn:okta:loa:2fa:any:ifpossible"}
    with pytest.raises(InsufficientAuthentication) as info:
        okta().check(token, MFA, now=NOW)
    assert info.value.step_up.reason == "acr_missing"


def test_entra_acrs_claims_request_and_challenge() -> None:
    profile = entra_id({"phr": "c1", "urn:stepauth:acr:2fa": "c2"})
    claims = json.loads(profile.authorization_params(PHR)["claims"])
    assert claims["access_token"]["acrs"] == {"essential": True, "value": "c1"}
    header = challenge_for(StepUp(("phr",), None, "acr_not_met"), profile=profile)
    assert header.startswith('Bearer error="insufficient_claims"')
    encoded = header.split('claims="')[1].rstrip('"')
    assert json.loads(base64.b64decode(encoded)) == {
        "access_token": {"acrs": {"essential": True, "value": "c1"}}
    }


def test_entra_tokens_without_auth_time_fail_closed_unless_opted_in() -> None:
    req = Requirement(("phr",))
    with pytest.raises(InsufficientAuthentication) as info:
        entra_id({"phr": "c1"}).check(ENTRA_ACCESS_TOKEN, req, now=NOW)
    assert info.value.step_up.reason == "auth_time_missing"
    entra_id({"phr": "c1"}, issued_at_is_auth_time=True).check(ENTRA_ACCESS_TOKEN, req, now=NOW)
    no_context = {**ENTRA_ACCESS_TOKEN, "acrs": ["c2"], "auth_time": NOW}
    with pytest.raises(InsufficientAuthentication):
        entra_id({"phr": "c1"}).check(no_context, req, now=NOW)
