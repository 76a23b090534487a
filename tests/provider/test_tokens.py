"""stepauth.provider.token_minting and grant_record: ID Token, RFC 9068 access token, refresh
token, Grant."""

from __future__ import annotations

import warnings
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OKPKey, RSAKey

from stepauth.provider.errors import InvalidToken, ServerError
from stepauth.provider.grant_record import Grant, requested_claims
from stepauth.provider.token_minting import (
    issue_refresh_token,
    mint_access_token,
    mint_id_token,
    verify_access_token,
    verify_own_jwt,
)
from tests.helpers.harness import (
    ACR_2FA,
    CONFIDENTIAL,
    ISSUER,
    Provider,
    decode_header,
    provider,
)

__all__ = ["provider"]

CODE_PAYLOAD: dict[str, Any] = {
    "client_id": CONFIDENTIAL,
    "redirect_uri": "https://rp.example/callback",
    "code_challenge": "x",
    "code_challenge_method": "S256",
    "scope": "openid offline_access",
    "nonce": "n-1",
    "sub": "user-1",
    "sid": "sid-1",
    "acr": ACR_2FA,
    "amr": ["pwd", "otp", "mfa"],
    "auth_time": 1_700_000_000,
    "claims": {"id_token": {"preferred_username": None}, "userinfo": {"name": None}},
    "authorization_details": None,
    "max_age_requested": True,
    "acr_requested": True,
    "grant_id": "grant-1",
}


def _client(provider: Provider, client_id: str = CONFIDENTIAL, **changes: Any) -> Any:
    client = next(c for c in provider.state.config.clients if c.client_id == client_id)
    return replace(client, **changes) if changes else client


async def _grant(provider: Provider, **payload: Any) -> Grant:
    user = await provider.store.get_user_by_username("alice")
    return Grant.from_code({**CODE_PAYLOAD, "sub": user.id, **payload}, txn="txn-1")


def test_grant_round_trips_through_json() -> None:
    grant = Grant.from_code(CODE_PAYLOAD, txn="txn-1")
    assert grant.txn is None  # no details granted → no transaction id
    assert Grant.from_json(grant.to_json()) == grant
    assert grant.scopes == {"openid", "offline_access"}


def test_grant_gets_txn_only_with_authorization_details() -> None:
    details = [{"type": "payment_initiation"}]
    grant = Grant.from_code({**CODE_PAYLOAD, "authorization_details": details}, txn="t")
    assert grant.txn == "t"
    assert Grant.from_json(grant.to_json()).authorization_details == tuple(details)


def test_requested_claims_follow_value_and_values() -> None:
    """OIDC Core §5.5.1: a value that does not match is left out, never an error."""
    user: Any = SimpleNamespace(username="alice")
    scopes: frozenset[str] = frozenset()
    assert requested_claims({"preferred_username": None}, user, scopes=scopes) == {
        "preferred_username": "alice"
    }
    assert requested_claims({"preferred_username": {"value": "bob"}}, user, scopes=scopes) == {}
    member = {"preferred_username": {"values": ["bob", "alice"]}}
    assert requested_claims(member, user, scopes=scopes) == {"preferred_username": "alice"}
    # Protocol claims are never taken from a claims request.
    assert requested_claims({"sub": {"value": "x"}, "acr": None}, user, scopes=scopes) == {}
    assert requested_claims(None, user, scopes=frozenset({"profile"})) == {
        "preferred_username": "alice"
    }


async def test_id_token_claims(provider: Provider) -> None:
    """OIDC Core §2: iss sub aud exp iat auth_time acr amr nonce sid."""
    grant = await _grant(provider)
    now = provider.clock()
    token = await mint_id_token(
        provider.state, grant, client=_client(provider), now=now, nonce="n-1"
    )
    header = decode_header(token)
    assert header["alg"] == "RS256"
    assert header["kid"]
    decoded = jwt.decode(token, await provider.jwks(), algorithms=["RS256"])
    claims = decoded.claims
    assert claims["iss"] == ISSUER
    assert claims["aud"] == CONFIDENTIAL
    assert claims["sub"] == grant.sub
    assert claims["iat"] == int(now)
    assert claims["exp"] == int(now) + provider.state.config.ttl.id_token
    assert claims["auth_time"] == 1_700_000_000
    assert claims["acr"] == ACR_2FA
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["nonce"] == "n-1"
    assert claims["sid"] == "sid-1"
    assert "name" not in claims  # requested for userinfo only


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA", "Ed25519"])
async def test_id_token_uses_the_clients_algorithm(provider: Provider, alg: str) -> None:
    grant = await _grant(provider)
    client = _client(provider, id_token_signed_response_alg=alg)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # EdDSA is signed and verified without a warning
        token = await mint_id_token(provider.state, grant, client=client, now=provider.clock())
        _, claims = verify_own_jwt(provider.state, token)
    header = decode_header(token)
    assert header["alg"] == alg
    assert "nonce" not in claims
    # signed with a published key whose JWK alg is exactly the header's (RFC 7517 §4.4)
    (jwk,) = [k for k in provider.state.keys.public_jwks()["keys"] if k["kid"] == header["kid"]]
    assert jwk["alg"] == alg


async def test_id_token_refuses_unsupported_algorithm(provider: Provider) -> None:
    grant = await _grant(provider)
    client = _client(provider, id_token_signed_response_alg="HS256")
    with pytest.raises(ServerError):
        await mint_id_token(provider.state, grant, client=client, now=provider.clock())


async def test_access_token_is_rfc9068(provider: Provider) -> None:
    """RFC 9068 §2: typ at+jwt; acr/amr/auth_time (RFC 9470 §6.1); jti recorded."""
    grant = await _grant(provider)
    access = await mint_access_token(provider.state, grant, now=provider.clock())
    assert decode_header(access.value)["typ"] == "at+jwt"
    claims = access.claims
    for name in ("iss", "sub", "aud", "client_id", "exp", "iat", "jti", "scope"):
        assert name in claims
    assert claims["aud"] == ISSUER
    assert claims["acr"] == ACR_2FA
    assert claims["auth_time"] == 1_700_000_000
    assert "authorization_details" not in claims
    assert "txn" not in claims
    verified = await verify_access_token(provider.state, access.value, now=provider.clock())
    assert verified.claims["jti"] == access.jti
    assert verified.record["userinfo_claims"] == {"name": None}


async def test_access_token_carries_granted_details_and_txn(provider: Provider) -> None:
    details = [{"type": "payment_initiation", "instructedAmount": {"currency": "EUR"}}]
    grant = await _grant(provider, authorization_details=details)
    access = await mint_access_token(provider.state, grant, now=provider.clock())
    assert access.claims["authorization_details"] == details
    assert access.claims["txn"] == "txn-1"


async def test_revoked_grant_kills_its_access_tokens(provider: Provider) -> None:
    grant = await _grant(provider)
    access = await mint_access_token(provider.state, grant, now=provider.clock())
    await provider.store.revoke_grant(grant.grant_id)
    with pytest.raises(InvalidToken):
        await verify_access_token(provider.state, access.value, now=provider.clock())


async def test_id_token_is_not_an_access_token(provider: Provider) -> None:
    grant = await _grant(provider)
    token = await mint_id_token(
        provider.state, grant, client=_client(provider), now=provider.clock()
    )
    with pytest.raises(InvalidToken):
        await verify_access_token(provider.state, token, now=provider.clock())


async def test_expired_access_token_is_rejected(provider: Provider) -> None:
    grant = await _grant(provider)
    access = await mint_access_token(provider.state, grant, now=provider.clock())
    with pytest.raises(InvalidToken):
        await verify_access_token(
            provider.state, access.value, now=provider.clock() + access.expires_in
        )


async def test_refresh_token_keeps_the_grant_end(provider: Provider) -> None:
    """Rotation renews the token, never the grant's absolute lifetime."""
    grant = await _grant(provider)
    now = provider.clock()
    first = await issue_refresh_token(provider.state, grant, now=now)
    from stepauth.provider.compare import sha256hex

    item = await provider.store.get("refresh_token", sha256hex(first), now=now)
    stored = Grant.from_json(item.payload)
    assert stored.expires_at == now + provider.state.config.ttl.refresh_token
    second = await issue_refresh_token(provider.state, stored, now=now + 1000)
    item2 = await provider.store.get("refresh_token", sha256hex(second), now=now + 1000)
    assert Grant.from_json(item2.payload).expires_at == stored.expires_at


@pytest.mark.parametrize(
    ("alg", "make"),
    [
        ("RS256", lambda: RSAKey.generate_key(2048, private=True)),
        ("ES256", lambda: ECKey.generate_key("P-256", private=True)),
        ("EdDSA", lambda: OKPKey.generate_key("Ed25519", private=True)),
    ],
)
def test_the_signer_matches_joserfc(alg: str, make: Any) -> None:
    """The one signer (RFC 7515 compact; RFC 7518 §3.3/§3.4, RFC 8037 §3.1) signs the same
    claims bytes joserfc does, and joserfc verifies it (header, claims, signature)."""
    from stepauth.sdk.jose import sign_compact

    key = make()
    header = {"alg": alg, "kid": "k1", "typ": "JWT"}
    claims = {"iss": "https://op.example", "sub": "ü", "aud": "rp", "exp": 2, "amr": ["pwd"]}
    direct = sign_compact(header, claims, key.private_key)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "EdDSA is deprecated", SecurityWarning)
        reference = jwt.encode(header, claims, key, algorithms=[alg])
        decoded = jwt.decode(direct, key, algorithms=[alg])
    assert direct.split(".")[1] == reference.split(".")[1]
    assert decoded.claims == claims
    assert decoded.header == header
