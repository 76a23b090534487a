"""openid-client (npm, v6) as a third-party RP against ``stepauth serve``.

``peers/rp.mjs`` runs discovery, builds the authorization request (PKCE S256, state, nonce,
``acr_values``, ``max_age``), signs in through the login form like a browser and redeems the
code with ``authorizationCodeGrant`` — which checks PKCE, state, nonce, ``iss`` (RFC 9207)
and ``auth_time`` against ``max_age`` — with ID-token signature checks enabled. The Python
side then re-verifies the tokens against ``/jwks`` and checks what openid-client does not:
``acr`` (OIDC Core §3.1.3.7 step 12, §5.5.1.1) and ``amr``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench._servers import Client
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.interop.conftest import Provider, run_peer_rp

pytestmark = pytest.mark.node

ACR_1FA = "urn:stepauth:acr:1fa"
ACR_2FA = "urn:stepauth:acr:2fa"
LEEWAY = 5


def run_rp(
    node_peers: Path, provider: Provider, *args: str, client: Client | None = None
) -> dict[str, Any]:
    """One authorization with ``peers/rp.mjs``; its JSON result (``--session-file`` keeps the
    browser's cookies between runs)."""
    return run_peer_rp(node_peers / "rp.mjs", provider, *args, client=client)


def verified_claims(provider: Provider, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a JWS verified against the Provider's published JWKS."""
    keys = KeySet.import_key_set(httpx.get(f"{provider.issuer}/jwks").json())
    decoded = jwt.decode(token, keys, algorithms=["RS256", "ES256", "EdDSA"])
    return dict(decoded.header), dict(decoded.claims)


@pytest.mark.parametrize(
    "acr_values",
    [ACR_1FA, f"{ACR_2FA} {ACR_1FA}"],
    ids=["1fa", "2fa-preferred-1fa-reachable"],
)
def test_openid_client_code_flow_with_acr_values_and_max_age(
    node_peers: Path, stepauth_provider: Provider, acr_values: str
) -> None:
    """Discovery + code flow with acr_values and max_age; tokens carry acr, amr, auth_time.

    The password user reaches 1fa only: with ``2fa 1fa`` (order of preference) the answer
    is the reachable listed value. OIDC Core §2 (``auth_time`` required with max_age, ``acr``,
    ``amr``, ``nonce``), OIDC Core §5.5.1.1 (acr from the requested values); the OpenID
    conformance suite's oidcc-ensure-request-with-acr-values-succeeds and its standard ID-token
    checks (PerformStandardIdTokenChecks).
    """
    max_age = 300
    started = time.time()
    result = run_rp(
        node_peers, stepauth_provider, "--acr-values", acr_values, "--max-age", str(max_age)
    )
    issuer = stepauth_provider.issuer
    client_id = stepauth_provider.client.client_id

    # What openid-client accepted, re-checked from the signed token itself.
    header, claims = verified_claims(stepauth_provider, result["id_token"])
    assert header["alg"] == "RS256"
    assert claims == result["claims"]
    assert claims["iss"] == issuer == result["issuer"]
    assert result["callback_iss"] == issuer  # RFC 9207 iss on the authorization response
    assert claims["aud"] in (client_id, [client_id])
    assert claims["nonce"] == result["requested"]["nonce"]
    assert claims["sub"]
    assert claims["acr"] in acr_values.split()  # a requested value, never silently lower
    assert claims["acr"] == ACR_1FA
    assert isinstance(claims["amr"], list)
    assert "pwd" in claims["amr"]
    now = time.time()
    assert started - LEEWAY <= claims["auth_time"] <= now + LEEWAY
    assert now - claims["auth_time"] <= max_age
    assert claims["iat"] <= now + LEEWAY < claims["exp"]

    # The JWT access token (RFC 9068) says the same about the authentication.
    assert result["token_type"].lower() == "bearer"
    at_header, at_claims = verified_claims(stepauth_provider, result["access_token"])
    assert at_header["typ"] == "at+jwt"
    assert at_claims["iss"] == issuer
    assert at_claims["sub"] == claims["sub"]
    assert at_claims["client_id"] == client_id
    assert at_claims["acr"] == claims["acr"]
    assert at_claims["amr"] == claims["amr"]
    assert at_claims["auth_time"] == claims["auth_time"]


def test_openid_client_userinfo_matches_id_token(
    node_peers: Path, stepauth_provider: Provider
) -> None:
    """openid-client's fetchUserInfo checks the userinfo ``sub`` against the ID token.

    OIDC Core §5.3.2: the ``sub`` of the UserInfo response must equal the ID token's.
    """
    result = run_rp(
        node_peers, stepauth_provider, "--acr-values", ACR_1FA, "--max-age", "60", "--userinfo"
    )
    assert result["userinfo"]["sub"] == result["claims"]["sub"]
    assert result["claims"]["acr"] == ACR_1FA


def test_openid_client_public_client_with_pkce(
    node_peers: Path, stepauth_provider: Provider
) -> None:
    """A public client (token_endpoint_auth_method ``none``) redeems its code with PKCE only.

    RFC 7636 §4.5/§4.6 (S256 verifier), RFC 9700 §2.1.1 (PKCE for every client); the tokens
    still say how the user authenticated (OIDC Core §2: ``auth_time``, ``acr``, ``amr``).
    """
    public = stepauth_provider.public_client
    result = run_rp(
        node_peers, stepauth_provider, "--acr-values", ACR_1FA, "--max-age", "120", client=public
    )
    _, claims = verified_claims(stepauth_provider, result["id_token"])
    assert claims["aud"] in (public.client_id, [public.client_id])
    assert claims["acr"] == ACR_1FA
    assert "pwd" in claims["amr"]
    assert claims["nonce"] == result["requested"]["nonce"]


def signed_in_browser(
    node_peers: Path, provider: Provider, tmp_path: Path
) -> tuple[str, dict[str, Any]]:
    """A browser (cookie file) with a password session at 1fa, and that first result."""
    browser = str(tmp_path / "cookies.json")
    first = run_rp(node_peers, provider, "--session-file", browser, "--acr-values", ACR_1FA)
    assert first["signed_in"] is True
    assert first["claims"]["acr"] == ACR_1FA
    return browser, first


@pytest.mark.parametrize("acr", ["phr", "phrh"])
def test_openid_client_sees_unmet_authentication_requirements_for_acr_values(
    node_peers: Path, stepauth_provider: Provider, tmp_path: Path, acr: str
) -> None:
    """A signed-in password-only user asked for ``phr``/``phrh``: no factor of theirs can
    reach it, so the RP gets unmet_authentication_requirements, not a page that cannot
    succeed and never a token with the lower acr.

    OpenID Connect unmet_authentication_requirements 1.0 §1 (the error code); enforced acr_values
    fail closed (docs/concepts.md).
    """
    browser, _ = signed_in_browser(node_peers, stepauth_provider, tmp_path)
    result = run_rp(
        node_peers,
        stepauth_provider,
        "--session-file",
        browser,
        "--acr-values",
        acr,
        "--expect-error",
        "unmet_authentication_requirements",
    )
    assert result["error"] == "unmet_authentication_requirements"
    assert result["iss"] == stepauth_provider.issuer  # checked by openid-client too (RFC 9207)
    assert result["state"]
    assert result["signed_in"] is False


@pytest.mark.parametrize(
    "acr_request",
    [{"value": "phrh"}, {"values": ["phr", "phrh"]}],
    ids=["value", "values"],
)
def test_openid_client_sees_unmet_authentication_requirements_for_essential_acr(
    node_peers: Path, stepauth_provider: Provider, tmp_path: Path, acr_request: dict[str, Any]
) -> None:
    """Essential ``acr`` in ``claims`` that the signed-in user cannot reach fails the
    authentication.

    OIDC Core §5.5.1.1 (essential acr with ``value`` or ``values``: a failed authentication), OpenID
    Connect unmet_authentication_requirements 1.0 §1.
    """
    browser, _ = signed_in_browser(node_peers, stepauth_provider, tmp_path)
    claims = {"id_token": {"acr": {"essential": True, **acr_request}}}
    result = run_rp(
        node_peers,
        stepauth_provider,
        "--session-file",
        browser,
        "--claims",
        json.dumps(claims),
        "--expect-error",
        "unmet_authentication_requirements",
    )
    assert result["error"] == "unmet_authentication_requirements"
    assert result["iss"] == stepauth_provider.issuer


def test_openid_client_one_browser_reauthenticates_only_when_asked(
    node_peers: Path, stepauth_provider: Provider, tmp_path: Path
) -> None:
    """Three authorizations from one browser through openid-client.

    An existing session answers ``max_age=300`` silently with the same ``auth_time``
    (OpenID conformance suite: oidcc-max-age-10000, oidcc-prompt-none-logged-in); ``max_age=0``
    re-prompts and ``auth_time`` moves strictly forward (OIDC Core §3.1.2.1, §3.1.2.3; OpenID
    conformance suite: oidcc-max-age-1);
    ``sub`` never changes. openid-client checks ``auth_time`` against every ``max_age`` it sent.
    """
    browser, first = signed_in_browser(node_peers, stepauth_provider, tmp_path)
    silent = run_rp(node_peers, stepauth_provider, "--session-file", browser, "--max-age", "300")
    assert silent["signed_in"] is False  # no sign-in form: the session answered
    assert silent["claims"]["sub"] == first["claims"]["sub"]
    assert silent["claims"]["auth_time"] == first["claims"]["auth_time"]

    time.sleep(
        1.1
    )  # auth_time has one-second resolution (OpenID conformance suite: oidcc-max-age-1 waits too)
    again = run_rp(node_peers, stepauth_provider, "--session-file", browser, "--max-age", "0")
    assert again["signed_in"] is True  # max_age=0 is prompt=login
    assert again["claims"]["sub"] == first["claims"]["sub"]
    assert again["claims"]["auth_time"] > first["claims"]["auth_time"]
