"""Signed request objects (RFC 9101, JAR) at the PAR endpoint: every misuse is refused.

Each test pushes one request object of the fapi2 client ``FAPI`` (which must sign its
pushed requests with ES256) and asserts the exact error: ``invalid_request_object``
(RFC 9101 §6.2) with status 400 from the PAR endpoint (RFC 9126 §2.3).
"""

from __future__ import annotations

import secrets

from joserfc.jwk import ECKey, OctKey, RSAKey

from stepauth.provider.request_object import JTI_KIND
from tests.helpers.client_side import ASSERTION_TYPE, b64json, sign
from tests.helpers.harness import CLIENT_KEY, ISSUER, REDIRECT_URI, Provider
from tests.provider.fapi import (
    FAPI,
    FAPI_ED_KEY,
    FAPI_KEY,
    FAPI_PAR,
    FAPI_PAR_RSA,
    JAR,
    KEYS,
    assert_error,
    fapi_provider,
    push,
    push_object,
    request_claims,
    request_object,
)

__all__ = ["fapi_provider"]

INVALID = "invalid_request_object"


async def test_signed_request_object_is_accepted(fapi_provider: Provider) -> None:
    provider = fapi_provider
    response = await push_object(provider, FAPI, request_object(provider))
    assert response.status_code == 201, response.text
    assert response.json()["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")


async def test_unsigned_request_object_is_refused(fapi_provider: Provider) -> None:
    """An unsecured JWT (header and claims, no signature) is no request object here."""
    provider = fapi_provider
    claims = request_claims(provider)
    unsigned = f"{b64json({'alg': 'ES256', 'kid': 'fapi-es'})}.{b64json(claims)}."
    assert_error(await push_object(provider, FAPI, unsigned), INVALID, because="signature")


async def test_request_object_that_is_not_a_jws_is_refused(fapi_provider: Provider) -> None:
    provider = fapi_provider
    claims = request_claims(provider)
    two_parts = f"{b64json({'alg': 'ES256'})}.{b64json(claims)}"
    assert_error(await push_object(provider, FAPI, two_parts), INVALID, because="compact JWS")


async def test_request_object_alg_none_is_refused(fapi_provider: Provider) -> None:
    """RFC 9101 §6.2, FAPI 2.0 §5.4: ``none`` is never accepted."""
    provider = fapi_provider
    claims = request_claims(provider)
    token = f"{b64json({'alg': 'none'})}.{b64json(claims)}."
    assert_error(await push_object(provider, FAPI, token), INVALID, because="algorithm")


async def test_request_object_hs256_is_refused(fapi_provider: Provider) -> None:
    """RFC 8725 §3.1: an HMAC request object is never accepted (no shared secret)."""
    provider = fapi_provider
    token = sign(request_claims(provider), OctKey.import_key(b"k" * 32), alg="HS256")
    assert_error(await push_object(provider, FAPI, token), INVALID, because="algorithm")


async def test_request_object_signed_by_the_wrong_key_is_refused(fapi_provider: Provider) -> None:
    """A key of the right kid that is not the registered one: the signature fails."""
    provider = fapi_provider
    forged = ECKey.generate_key("P-256", parameters={"kid": "fapi-es"}, private=True)
    assert_error(
        await push_object(provider, FAPI, sign(request_claims(provider), forged)),
        INVALID,
        because="signature",
    )


async def test_request_object_signed_with_another_clients_key_is_refused(
    fapi_provider: Provider,
) -> None:
    """The key registered for api-client does not sign for bank-fapi."""
    provider = fapi_provider
    token = sign(request_claims(provider), CLIENT_KEY)
    assert_error(await push_object(provider, FAPI, token), INVALID, because="signature")


async def test_request_object_alg_other_than_registered_is_refused(
    fapi_provider: Provider,
) -> None:
    """OIDC Dynamic Registration §2 ``request_object_signing_alg``: only that alg (ES256);
    an EdDSA signature with the client's own registered Ed25519 key is refused."""
    provider = fapi_provider
    token = sign(request_claims(provider), FAPI_ED_KEY, alg="Ed25519")
    assert_error(await push_object(provider, FAPI, token), INVALID, because="algorithm")


async def test_request_object_rs256_is_refused(fapi_provider: Provider) -> None:
    """FAPI 2.0 §5.4: PS256, ES256 or EdDSA only."""
    provider = fapi_provider
    rsa = RSAKey.generate_key(2048, parameters={"kid": "fapi-es"}, private=True)
    token = sign(request_claims(provider), rsa, alg="RS256")
    assert_error(await push_object(provider, FAPI, token), INVALID, because="algorithm")


async def test_request_object_with_wrong_aud_is_refused(fapi_provider: Provider) -> None:
    provider = fapi_provider
    token = request_object(provider, aud="https://other-op.example")
    assert_error(await push_object(provider, FAPI, token), INVALID, because="aud")


async def test_request_object_without_aud_is_refused(fapi_provider: Provider) -> None:
    provider = fapi_provider
    token = sign({**request_claims(provider), "aud": None}, FAPI_KEY)
    assert_error(await push_object(provider, FAPI, token), INVALID, because="aud")


async def test_request_object_with_aud_array_holding_the_issuer_is_accepted(
    fapi_provider: Provider,
) -> None:
    """FAPI 2.0 Message Signing: aud "to be, or to be an array containing" the issuer."""
    provider = fapi_provider
    token = request_object(provider, aud=["https://other-op.example", ISSUER])
    assert (await push_object(provider, FAPI, token)).status_code == 201


async def test_request_object_with_wrong_iss_is_refused(fapi_provider: Provider) -> None:
    provider = fapi_provider
    token = request_object(provider, iss=JAR)
    assert_error(await push_object(provider, FAPI, token), INVALID, because="iss")


async def test_expired_request_object_is_refused(fapi_provider: Provider) -> None:
    provider = fapi_provider
    now = int(provider.clock())
    token = request_object(provider, nbf=now - 600, iat=now - 600, exp=now - 120)
    assert_error(await push_object(provider, FAPI, token), INVALID, because="expired")


async def test_request_object_living_over_60_minutes_is_refused(fapi_provider: Provider) -> None:
    """FAPI 2.0 Message Signing: exp at most 60 minutes after nbf."""
    provider = fapi_provider
    token = request_object(provider, lifetime=3601)
    assert_error(
        await push_object(provider, FAPI, token), INVALID, because="longer than 60 minutes"
    )


async def test_request_object_living_60_minutes_is_accepted(fapi_provider: Provider) -> None:
    provider = fapi_provider
    token = request_object(provider, lifetime=3600)
    assert (await push_object(provider, FAPI, token)).status_code == 201


async def test_request_object_nbf_over_60_minutes_old_is_refused(fapi_provider: Provider) -> None:
    """FAPI 2.0 Message Signing: nbf "no longer than 60 minutes in the past"."""
    provider = fapi_provider
    now = int(provider.clock())
    token = request_object(provider, nbf=now - 3700, iat=now - 3700, exp=now + 60)
    assert_error(
        await push_object(provider, FAPI, token), INVALID, because="nbf is more than 60 minutes old"
    )


async def test_request_object_nbf_in_the_future_is_refused(fapi_provider: Provider) -> None:
    """FAPI 2.0 Security Profile §5.3.2.1: nbf 60 seconds or more in the future is refused."""
    provider = fapi_provider
    now = int(provider.clock())
    token = request_object(provider, nbf=now + 60, exp=now + 300)
    assert_error(await push_object(provider, FAPI, token), INVALID, because="nbf is in the future")


async def test_request_object_nbf_8_seconds_ahead_is_accepted(fapi_provider: Provider) -> None:
    """FAPI 2.0 Security Profile §5.3.2.1: up to 10 seconds of clock offset is accepted."""
    provider = fapi_provider
    now = int(provider.clock())
    token = request_object(provider, nbf=now + 8, iat=now + 8, exp=now + 300)
    assert (await push_object(provider, FAPI, token)).status_code == 201


async def test_request_object_without_exp_is_refused(fapi_provider: Provider) -> None:
    provider = fapi_provider
    token = request_object(provider, exp=None)
    assert_error(await push_object(provider, FAPI, token), INVALID, because="no exp")


async def test_fapi2_request_object_without_nbf_is_refused(fapi_provider: Provider) -> None:
    """FAPI 2.0 Message Signing: the request object must contain nbf."""
    provider = fapi_provider
    token = request_object(provider, nbf=None)
    assert_error(await push_object(provider, FAPI, token), INVALID, because="no nbf")


async def test_request_object_inner_client_id_mismatch_is_refused(
    fapi_provider: Provider,
) -> None:
    """RFC 9101 §6.3: the inner client_id must be the outer one."""
    provider = fapi_provider
    token = sign({**request_claims(provider), "client_id": JAR}, FAPI_KEY)
    assert_error(await push_object(provider, FAPI, token), INVALID, because="client_id")


async def test_request_object_without_client_id_is_refused(fapi_provider: Provider) -> None:
    provider = fapi_provider
    token = sign({**request_claims(provider), "client_id": None}, FAPI_KEY)
    assert_error(await push_object(provider, FAPI, token), INVALID, because="client_id")


async def test_replayed_request_object_jti_is_refused(fapi_provider: Provider) -> None:
    """A request object is used once: its jti is recorded by the store's atomic add."""
    provider = fapi_provider
    token = request_object(provider, jti="once-" + secrets.token_urlsafe(8))
    assert (await push_object(provider, FAPI, token)).status_code == 201
    assert_error(await push_object(provider, FAPI, token), INVALID, because="already used")


async def test_reused_jti_in_a_new_request_object_is_refused(fapi_provider: Provider) -> None:
    provider = fapi_provider
    jti = "same-" + secrets.token_urlsafe(8)
    assert (await push_object(provider, FAPI, request_object(provider, jti=jti))).status_code == 201
    again = request_object(provider, jti=jti, state="another")
    assert_error(await push_object(provider, FAPI, again), INVALID, because="already used")


async def test_replayed_request_object_without_jti_is_refused(fapi_provider: Provider) -> None:
    """Without a jti, the request object's digest is what is recorded."""
    provider = fapi_provider
    token = request_object(provider, jti=None)
    assert (await push_object(provider, FAPI, token)).status_code == 201
    assert_error(await push_object(provider, FAPI, token), INVALID, because="already used")


async def test_refused_request_object_records_no_jti(fapi_provider: Provider) -> None:
    """Nothing changes state before the proof is verified: a bad signature uses no jti."""
    provider = fapi_provider
    jti = "kept-" + secrets.token_urlsafe(8)
    forged = ECKey.generate_key("P-256", parameters={"kid": "fapi-es"}, private=True)
    bad = sign(request_claims(provider, jti=jti), forged)
    assert_error(await push_object(provider, FAPI, bad), INVALID, because="signature")
    assert (await push_object(provider, FAPI, request_object(provider, jti=jti))).status_code == 201
    assert JTI_KIND == "request_object_jti"


async def test_request_object_with_foreign_typ_is_refused(fapi_provider: Provider) -> None:
    """RFC 8725 §3.11: a JWT of another type (an access token) is not a request object."""
    provider = fapi_provider
    token = sign(request_claims(provider), FAPI_KEY, typ="at+jwt")
    assert_error(await push_object(provider, FAPI, token), INVALID, because="typ")


async def test_request_object_with_jar_typ_is_accepted(fapi_provider: Provider) -> None:
    """RFC 9101 §10.8: explicit typing with oauth-authz-req+jwt."""
    provider = fapi_provider
    for typ in ("oauth-authz-req+jwt", "application/oauth-authz-req+jwt"):
        token = sign(request_claims(provider), FAPI_KEY, typ=typ)
        assert (await push_object(provider, FAPI, token)).status_code == 201, typ


async def test_request_object_holding_a_request_uri_is_refused(fapi_provider: Provider) -> None:
    """RFC 9101 §4: a request object carries no request or request_uri."""
    provider = fapi_provider
    token = request_object(provider, request_uri="https://attacker.example/ro.jwt")
    assert_error(await push_object(provider, FAPI, token), INVALID, because="request_uri")


async def test_outer_parameters_are_ignored_at_par(fapi_provider: Provider) -> None:
    """RFC 9101 §6.3, RFC 9126 §3: only the request object's parameters are pushed; a
    smuggled outer redirect_uri, scope or state has no effect."""
    provider = fapi_provider
    claims = request_claims(provider, state="inner", scope="openid")
    response = await push_object(
        provider,
        FAPI,
        sign(claims, FAPI_KEY),
        redirect_uri="https://attacker.example/cb",
        scope="openid offline_access",
        state="outer",
        prompt="none",
    )
    assert response.status_code == 201, response.text
    stored = await provider.store.get("par", response.json()["request_uri"], now=provider.clock())
    params = stored.payload["params"]
    assert params["redirect_uri"] == REDIRECT_URI
    assert params["scope"] == "openid"
    assert params["state"] == "inner"
    assert "prompt" not in params
    assert "iss" not in params
    assert "exp" not in params


async def test_outer_client_id_of_another_client_is_refused(fapi_provider: Provider) -> None:
    provider = fapi_provider
    response = await push(provider, FAPI, {"request": request_object(provider), "client_id": JAR})
    assert response.status_code in (400, 401)


async def test_fapi2_request_object_without_registered_alg_is_held_to_fapi_algs(
    fapi_provider: Provider,
) -> None:
    """FAPI 2.0 §5.4: a fapi2 client that registered no request_object_signing_alg may
    sign with PS256, ES256 or EdDSA only; RS256 with its own registered key is refused."""
    provider = fapi_provider
    claims = request_claims(provider, FAPI_PAR)
    refused = sign(claims, FAPI_PAR_RSA, alg="RS256")
    assert_error(await push_object(provider, FAPI_PAR, refused), INVALID, because="algorithm")
    accepted = sign(request_claims(provider, FAPI_PAR), FAPI_PAR_RSA, alg="PS256")
    assert (await push_object(provider, FAPI_PAR, accepted)).status_code == 201


async def test_request_object_with_the_client_as_sub_is_refused(fapi_provider: Provider) -> None:
    """RFC 9101 §10.8: with sub = client_id a request object would also pass as the
    client's private_key_jwt assertion."""
    provider = fapi_provider
    token = request_object(provider, sub=FAPI)
    assert_error(await push_object(provider, FAPI, token), INVALID, because="sub")


async def test_typed_request_object_is_no_client_assertion(fapi_provider: Provider) -> None:
    """RFC 9101 §10.8: a request object seen in a browser cannot authenticate its client,
    even one carrying everything an assertion needs (iss = sub = client, aud, exp, jti)."""
    provider = fapi_provider
    claims = request_claims(provider, FAPI_PAR, sub=FAPI_PAR)
    typed = sign(claims, KEYS[FAPI_PAR], typ="oauth-authz-req+jwt")
    response = await provider.browser.post(
        "/par",
        data={
            "client_id": FAPI_PAR,
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "scope": "openid",
            "code_challenge": claims["code_challenge"],
            "code_challenge_method": "S256",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": typed,
        },
    )
    assert_error(response, "invalid_client", status=401, because="request object")
