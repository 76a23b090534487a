"""One requirement through both sides of a vendor profile, for every profile.

An API behind a profile writes its RFC 9470 challenge (Entra ID: its claims challenge) in
the IdP's vocabulary; the client reads it back with ``profile.requirement(challenge)`` and
asks the IdP for exactly that again — the documented client recipe. The route gets the
token's own ``acr`` and, next to it, the level it was decided on in stepauth's terms.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from stepauth.assurance import Challenge, InvalidChallenge, Requirement, StepUp, parse_challenges
from stepauth.sdk import JWKSCache, ResourceServer
from stepauth.sdk.api import challenge_for
from stepauth.sdk.errors import InvalidAuthorizationRequest
from stepauth.sdk.profiles import (
    AUTH0_MFA_POLICY,
    STEPAUTH,
    STEPAUTH_ACR,
    Profile,
    auth0,
    entra_id,
    generic_oidc,
    keycloak,
    okta,
)
from stepauth.sdk.starlette import StepAuth, require
from tests.sdk.conftest import API, ISSUER, NOW, Keys, at_claims, sign

TWO_FA = "urn:stepauth:acr:2fa"
KEYCLOAK = keycloak({"silver": 1, "gold": 2}, {TWO_FA: "silver", "phr": "gold"})
ENTRA = entra_id({TWO_FA: "c2", "phr": "c1"}, issued_at_is_auth_time=True)

#: profile, a level it can express, the vendor's word for it, a token claim set at that level
CASES: list[tuple[Profile, str, str, dict[str, Any]]] = [
    (STEPAUTH, "phr", "phr", {"acr": "phr"}),
    (generic_oidc(), "phr", "phr", {"acr": "phr"}),
    (KEYCLOAK, "phr", "gold", {"acr": "gold"}),
    (auth0(), TWO_FA, AUTH0_MFA_POLICY, {"acr": AUTH0_MFA_POLICY, "amr": ["pwd", "mfa"]}),
    (okta(), TWO_FA, "urn:okta:loa:2fa:any", {"acr": "urn:okta:loa:2fa:any"}),
    (ENTRA, "phr", "c1", {"acr": "1", "acrs": ["c1"], "auth_time": None, "iat": NOW - 5}),
]
IDS = [case[0].name for case in CASES]


def _challenge(header: str) -> Challenge:
    (challenge,) = parse_challenges(header)
    return challenge


@pytest.mark.parametrize(("profile", "level", "vendor", "claims"), CASES, ids=IDS)
def test_a_challenge_maps_back_to_the_requirement(
    profile: Profile, level: str, vendor: str, claims: dict[str, Any]
) -> None:
    max_age = None if profile is ENTRA else 300  # Entra's claims challenge has no max_age
    header = challenge_for(StepUp((level,), max_age, "acr_not_met"), profile=profile)
    challenge = _challenge(header)
    if profile is not ENTRA:
        assert challenge.acr_values == (vendor,)  # the API speaks the vendor's vocabulary
    wanted = Requirement((level,), max_age)
    assert profile.requirement(challenge) == wanted
    # ... and the client's authorization request asks the IdP for that level again
    assert profile.authorization_params(profile.requirement(challenge)) == (
        profile.authorization_params(wanted)
    )


@pytest.mark.parametrize(("profile", "level", "vendor", "claims"), CASES[2:], ids=IDS[2:])
def test_reading_the_vendor_values_as_stepauth_levels_is_refused(
    profile: Profile, level: str, vendor: str, claims: dict[str, Any]
) -> None:
    """Why the recipe goes through the profile: the vendor's word is no stepauth level."""
    with pytest.raises(InvalidAuthorizationRequest, match="cannot express"):
        profile.authorization_params(Requirement((vendor,), 300))


@pytest.mark.parametrize(
    ("profile", "header"),
    [
        (okta(), 'Bearer error="insufficient_user_authentication", acr_values="urn:okta:x"'),
        (KEYCLOAK, 'Bearer error="insufficient_user_authentication", acr_values="bronze"'),
        (auth0(), 'Bearer error="insufficient_user_authentication", acr_values="pwd"'),
        (ENTRA, 'Bearer error="insufficient_claims", claims="eyJ4Ijp7fX0="'),  # {"x":{}}
        (ENTRA, 'Bearer error="insufficient_claims", claims="not base64!"'),
        (ENTRA, 'Bearer error="insufficient_user_authentication", acr_values="c1"'),
        (
            ENTRA,  # {"access_token":{"acrs":{"essential":true,"value":"c9"}}}
            'Bearer error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3'
            'NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzkifX19"',
        ),
    ],
)
def test_a_challenge_with_no_stepauth_meaning_is_refused(profile: Profile, header: str) -> None:
    """Never dropped or guessed: a misread challenge would ask for less than the API wants."""
    with pytest.raises(InvalidChallenge):
        profile.requirement(_challenge(header))


@pytest.mark.parametrize(("profile", "level", "vendor", "claims"), CASES, ids=IDS)
def test_the_route_gets_the_vendor_acr_and_the_stepauth_level(
    keys: Keys, profile: Profile, level: str, vendor: str, claims: dict[str, Any]
) -> None:
    api = FastAPI()
    api.state.stepauth = StepAuth(
        resource_server=ResourceServer(
            issuer=ISSUER,
            audience=API,
            jwks=JWKSCache(keys=keys.jwks()),
            profile=profile,
            clock=lambda: NOW,
        )
    )

    guard = Depends(require(level))

    @api.get("/transfer")
    def transfer(got: dict[str, Any] = guard) -> dict[str, Any]:
        return {"acr": got.get("acr"), "level": got.get(STEPAUTH_ACR, got.get("acr"))}

    token = sign(at_claims(**claims), keys.rsa, typ="at+jwt")
    response = TestClient(api).get("/transfer", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.json() == {"acr": claims["acr"], "level": level}
    # a weaker token gets the challenge in the vendor's words, which maps back to the level
    weak = sign(at_claims(acr="urn:unknown", acrs=[], amr=["pwd"]), keys.rsa, typ="at+jwt")
    refused = TestClient(api).get("/transfer", headers={"Authorization": f"Bearer {weak}"})
    assert refused.status_code == 401
    challenge = _challenge(refused.headers["www-authenticate"])
    assert profile.requirement(challenge).acr_values == (level,)
