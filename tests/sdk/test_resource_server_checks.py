"""The resource server's prepared validation path (``ResourceServer.verify``) refuses every
attack of the OpenID conformance suite's RP tests (oidcc-client-test-*) on access tokens, the same
as on ID tokens: bad or absent signatures, ``alg=none``, algorithm confusion (HS256 keyed with the
public key, ES256 named
for an RSA key), absent or unknown ``kid``, ``crit``, wrong ``iss``/``aud``/``typ``,
expired, missing ``sub``, non-JSON or non-object claims, and key rotation: what it
remembers of a header never outlives the key set it was worked out with.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from stepauth.assurance import Requirement
from stepauth.sdk import JWKSCache, ResourceServer
from stepauth.sdk.errors import (
    ClientNotAllowed,
    DisallowedAlgorithm,
    InsufficientAuthentication,
    InvalidAudience,
    InvalidIssuer,
    InvalidSignature,
    InvalidTokenType,
    KeyNotFound,
    MalformedToken,
    MissingClaim,
    SDKError,
    TokenExpired,
)
from tests.sdk.conftest import API, ISSUER, NOW, JWKSServer, Keys, at_claims, sign, sign_raw

PHR = Requirement(("phr",), 300)


class Clock:
    def __init__(self) -> None:
        self.t = NOW

    def __call__(self) -> float:
        return self.t


def server(keys: Keys, *which: str, clock: Clock | None = None) -> ResourceServer:
    tick = clock or Clock()
    return ResourceServer(
        issuer=ISSUER,
        audience=API,
        jwks=JWKSCache(keys=keys.jwks(*which), clock=tick),
        clock=tick,
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def at(keys: Keys, **overrides: Any) -> str:
    return sign(at_claims(**overrides), keys.rsa, typ="at+jwt")


def test_a_valid_token_passes_twice_with_the_header_remembered(keys: Keys) -> None:
    rs = server(keys)
    token = at(keys)
    assert rs.verify(token, PHR)["sub"] == "user-42"
    assert rs.verify(token, PHR)["sub"] == "user-42"
    assert rs.verify(at(keys, sub="user-43"), None)["sub"] == "user-43"


def test_tampered_payload_fails_the_signature(keys: Keys) -> None:
    """§10.2 bad signature: claims changed after signing (a raised acr)."""
    rs = server(keys)
    head, _, sig = at(keys, acr="urn:stepauth:acr:1fa").split(".")
    forged = b64(json.dumps(at_claims()).encode())
    with pytest.raises(InvalidSignature):
        rs.verify(f"{head}.{forged}.{sig}", PHR)


def test_signature_of_another_key_with_the_same_kid_fails(keys: Keys) -> None:
    rs = server(keys)
    token = sign(at_claims(), keys.rsa2, typ="at+jwt", kid="rsa-1")
    with pytest.raises(InvalidSignature):
        rs.verify(token, PHR)


def test_alg_none_is_refused(keys: Keys) -> None:
    """§10.2 alg=none (RFC 8725 §3.1)."""
    header = b64(json.dumps({"alg": "none", "kid": "rsa-1", "typ": "at+jwt"}).encode())
    payload = b64(json.dumps(at_claims()).encode())
    with pytest.raises(DisallowedAlgorithm):
        server(keys).verify(f"{header}.{payload}.", PHR)


def test_hs256_keyed_with_the_public_key_is_refused(keys: Keys) -> None:
    """§10.2 algorithm confusion: an HMAC over the token keyed with the RSA public key."""
    public = json.dumps(keys.rsa.as_dict(private=False)).encode()
    header = b64(json.dumps({"alg": "HS256", "kid": "rsa-1", "typ": "at+jwt"}).encode())
    payload = b64(json.dumps(at_claims()).encode())
    mac = hmac.new(public, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    with pytest.raises(DisallowedAlgorithm):
        server(keys).verify(f"{header}.{payload}.{b64(mac)}", PHR)


def test_es256_named_for_an_rsa_key_is_refused(keys: Keys) -> None:
    """§10.2 RS256/ES256 confusion: the alg must belong to the key's type."""
    token = sign(at_claims(), keys.ec, "ES256", typ="at+jwt", kid="rsa-1")
    with pytest.raises(DisallowedAlgorithm):
        server(keys).verify(token, PHR)


def test_es256_and_eddsa_tokens_take_the_general_path(keys: Keys) -> None:
    rs = server(keys)
    assert rs.verify(sign(at_claims(), keys.ec, "ES256", typ="at+jwt"), PHR)["acr"] == "phr"
    assert rs.verify(sign(at_claims(), keys.ed, "EdDSA", typ="at+jwt"), PHR)["acr"] == "phr"
    bad = sign(at_claims(), keys.ec, "ES256", typ="at+jwt")
    head, payload, _ = bad.split(".")
    with pytest.raises(InvalidSignature):
        rs.verify(f"{head}.{payload}.{b64(bytes(64))}", PHR)


def test_absent_kid_with_several_keys_is_refused(keys: Keys) -> None:
    """§10.2 absent kid: with two RSA keys the RP cannot tell which one signed."""
    rs = server(keys, "rsa", "rsa2")
    token = sign_raw({"alg": "RS256", "typ": "at+jwt"}, at_claims(), keys.rsa)
    with pytest.raises(KeyNotFound):
        rs.verify(token, PHR)
    assert server(keys, "rsa").verify(token, PHR)["sub"] == "user-42"  # one key: that one


def test_unknown_kid_is_refused(keys: Keys) -> None:
    token = sign(at_claims(), keys.rsa2, typ="at+jwt")
    with pytest.raises(KeyNotFound):
        server(keys, "rsa").verify(token, PHR)


def test_crit_header_is_refused(keys: Keys) -> None:
    header = {"alg": "RS256", "kid": "rsa-1", "typ": "at+jwt", "crit": ["exp"]}
    with pytest.raises(MalformedToken):
        server(keys).verify(sign_raw(header, at_claims(), keys.rsa), PHR)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"iss": ISSUER + "/"}, InvalidIssuer),
        ({"iss": ISSUER + "\u00e9"}, InvalidIssuer),
        ({"iss": None}, InvalidIssuer),
        ({"aud": "https://other.example.com"}, InvalidAudience),
        ({"aud": None}, InvalidAudience),
        ({"exp": NOW - 31}, TokenExpired),
        ({"exp": None}, MissingClaim),
        ({"exp": "never"}, MissingClaim),
        ({"exp": True}, MissingClaim),
        ({"exp": 10**400}, MissingClaim),
        ({"sub": None}, MissingClaim),
        ({"sub": ""}, MissingClaim),
    ],
)
def test_claim_checks(keys: Keys, overrides: dict[str, Any], error: type[SDKError]) -> None:
    """§10.2 invalid iss / aud, missing aud / sub, expired (RFC 9068 §4)."""
    with pytest.raises(error):
        server(keys).verify(at(keys, **overrides), PHR)


def test_audience_in_a_list_passes(keys: Keys) -> None:
    assert server(keys).verify(at(keys, aud=["other", API]), PHR)["sub"] == "user-42"


def test_typ_other_than_at_jwt_is_refused_after_the_signature(keys: Keys) -> None:
    rs = server(keys)
    with pytest.raises(InvalidTokenType):
        rs.verify(sign(at_claims(), keys.rsa, typ="JWT"), PHR)
    lax = ResourceServer(
        issuer=ISSUER,
        audience=API,
        jwks=JWKSCache(keys=keys.jwks()),
        expected_typ=None,
        clock=Clock(),
    )
    assert lax.verify(sign(at_claims(), keys.rsa, typ="JWT"), None)["sub"] == "user-42"


@pytest.mark.parametrize(
    "token",
    [
        "a.b",
        "a.b.c.d.e",
        "é.b.c",
        "eyJhbGciOiJSUzI1NiJ9.e30.***",
    ],
)
def test_malformed_compact_serialisations_are_refused(keys: Keys, token: str) -> None:
    with pytest.raises(SDKError):
        server(keys).verify(token, PHR)


@pytest.mark.parametrize(
    "payload",
    [b"[1, 2]", b"not json", b'{"exp": NaN}', b"\xff\xfe"],
)
def test_claims_that_are_not_a_json_object_are_refused(keys: Keys, payload: bytes) -> None:
    """Signed by the OP's key, yet no JSON object: refused, never half-read."""
    header = b64(json.dumps({"alg": "RS256", "kid": "rsa-1", "typ": "at+jwt"}).encode())
    body = b64(payload)
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    private: Any = keys.rsa.private_key
    sig = private.sign(f"{header}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(MalformedToken):
        server(keys).verify(f"{header}.{body}.{b64(sig)}", PHR)


def test_claims_with_surrounding_whitespace_are_read(keys: Keys) -> None:
    header = b64(json.dumps({"alg": "RS256", "kid": "rsa-1", "typ": "at+jwt"}).encode())
    body = b64(b" " + json.dumps(at_claims()).encode() + b"\n")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    private: Any = keys.rsa.private_key
    sig = private.sign(f"{header}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    assert server(keys).verify(f"{header}.{body}.{b64(sig)}", PHR)["sub"] == "user-42"


def test_insufficient_token_carries_the_step_up(keys: Keys) -> None:
    with pytest.raises(InsufficientAuthentication) as info:
        server(keys).verify(at(keys, acr="urn:stepauth:acr:2fa"), PHR)
    assert info.value.step_up.reason == "acr_not_met"
    with pytest.raises(InsufficientAuthentication) as stale:
        server(keys).verify(at(keys, auth_time=NOW - 306), PHR)
    assert stale.value.step_up.reason == "max_age_exceeded"


def test_max_age_zero_route_allows_the_documented_leeway_only(keys: Keys) -> None:
    """An API has no step-up request to compare with: max_age=0 accepts an authentication
    at most max_age_leeway (5 s by default) old."""
    now_only = Requirement(("phr",), 0)
    rs = server(keys)
    assert rs.verify(at(keys, auth_time=NOW - 5), now_only)["sub"] == "user-42"
    with pytest.raises(InsufficientAuthentication):
        rs.verify(at(keys, auth_time=NOW - 6), now_only)
    strict = ResourceServer(
        issuer=ISSUER,
        audience=API,
        jwks=JWKSCache(keys=keys.jwks()),
        max_age_leeway=0,
        clock=Clock(),
    )
    with pytest.raises(InsufficientAuthentication):
        strict.verify(at(keys, auth_time=NOW - 1), now_only)


def test_rotation_forgets_what_the_old_key_set_said(jwks_server: JWKSServer, keys: Keys) -> None:
    """§10.2 key rotation: the OP drops rsa-1 and signs with rsa-2 under the same header
    shape; a token of the dropped key fails once the set is refreshed."""
    jwks_server.jwks = keys.jwks("rsa")
    clock = Clock()
    rs = ResourceServer(
        issuer=ISSUER,
        audience=API,
        jwks=JWKSCache(jwks_server.url, ttl=60, cooldown=30, clock=clock),
        clock=clock,
    )
    old = at(keys)
    assert rs.verify(old, PHR)["sub"] == "user-42"
    jwks_server.jwks = keys.jwks("rsa2")
    clock.t += 61  # the cached set expires
    new = sign(at_claims(), keys.rsa2, typ="at+jwt")
    assert rs.verify(new, PHR)["sub"] == "user-42"
    with pytest.raises(KeyNotFound):
        rs.verify(old, PHR)
    assert jwks_server.hits == 2


def test_unknown_kid_triggers_one_refetch_then_passes(jwks_server: JWKSServer, keys: Keys) -> None:
    jwks_server.jwks = keys.jwks("rsa")
    clock = Clock()
    rs = ResourceServer(
        issuer=ISSUER,
        audience=API,
        jwks=JWKSCache(jwks_server.url, cooldown=30, clock=clock),
        clock=clock,
    )
    assert rs.verify(at(keys), PHR)["sub"] == "user-42"
    jwks_server.jwks = keys.jwks("rsa", "rsa2")
    clock.t += 31
    assert rs.verify(sign(at_claims(), keys.rsa2, typ="at+jwt"), PHR)["sub"] == "user-42"
    assert jwks_server.hits == 2


async def test_async_verify_takes_the_same_path(keys: Keys) -> None:
    rs = server(keys)
    assert (await rs.averify(at(keys), PHR))["sub"] == "user-42"
    with pytest.raises(KeyNotFound):
        await rs.averify(sign(at_claims(), keys.rsa2, typ="at+jwt"), PHR)


def test_a_non_ascii_issuer_is_compared_exactly(keys: Keys) -> None:
    """OIDC Core §3.1.3.7 step 2 "exactly match", for an issuer beyond ASCII too."""
    issuer = ISSUER + "/\u00e9"
    rs = ResourceServer(
        issuer=issuer, audience=API, jwks=JWKSCache(keys=keys.jwks()), clock=Clock()
    )
    assert rs.verify(at(keys, iss=issuer), PHR)["iss"] == issuer
    with pytest.raises(InvalidIssuer):
        rs.verify(at(keys, iss=ISSUER + "/e"), PHR)


def test_many_distinct_headers_stay_bounded_and_valid(keys: Keys) -> None:
    """A flood of distinct headers cannot grow the prepared map without bound; every token
    is still checked in full."""
    rs = server(keys)
    for i in range(100):
        token = sign_raw(
            {"alg": "RS256", "kid": "rsa-1", "typ": "at+jwt", "x": i}, at_claims(), keys.rsa
        )
        assert rs.verify(token, PHR)["sub"] == "user-42"
    _, by_header = rs._validator._verifier._prepared
    assert len(by_header) <= 64
    head, payload, _ = token.split(".")
    with pytest.raises(InvalidSignature):
        rs.verify(f"{head}.{payload}.{b64(bytes(256))}", PHR)


def test_a_vendor_profile_is_translated_before_the_decision(keys: Keys) -> None:
    """Okta's vocabulary: urn:okta:loa:2fa:any is 2fa, never phr.

    OIDC Core §5.5.1.1, §3.1.3.7 step 12; RFC 9470 §5: the RP checks the acr itself.
    """
    from stepauth.sdk.profiles import okta

    rs = ResourceServer(
        issuer=ISSUER, audience=API, jwks=JWKSCache(keys=keys.jwks()), profile=okta(), clock=Clock()
    )
    assert rs.verify(at(keys, acr="phr"), PHR)["acr"] == "phr"
    assert rs.verify(at(keys, acr="urn:okta:loa:2fa:any"), None)["sub"] == "user-42"
    with pytest.raises(InsufficientAuthentication) as info:
        rs.verify(at(keys, acr="urn:okta:loa:2fa:any"), PHR)
    assert info.value.step_up.reason == "acr_not_met"


def test_the_sans_io_flow_needs_no_request_with_a_warm_key_set(keys: Keys) -> None:
    import httpx

    from stepauth.sdk._io import run_sync

    with httpx.Client() as client:
        claims = run_sync(server(keys).flow(at(keys), PHR), client)
    assert claims["sub"] == "user-42"


def test_a_token_that_is_not_a_string_is_malformed(keys: Keys) -> None:
    from stepauth.sdk.access_token import AccessTokenValidator

    validator = AccessTokenValidator(expected_issuer=ISSUER, expected_audience=API)
    with pytest.raises(MalformedToken):
        validator.validate(b"a.b.c", keys.key_set(), NOW)  # type: ignore[arg-type]
    validator.check(at_claims(), None, NOW)  # nothing asked: nothing to check
    with pytest.raises(InsufficientAuthentication):
        validator.check(at_claims(acr="urn:stepauth:acr:2fa"), PHR, NOW)


def test_a_non_ascii_signature_segment_is_malformed(keys: Keys) -> None:
    head, payload, _ = at(keys).split(".")
    with pytest.raises(MalformedToken):
        server(keys).verify(f"{head}.{payload}.\u00e9\u00e9\u00e9\u00e9", PHR)


def test_allowed_clients_refuses_other_missing_or_malformed_client_ids(keys: Keys) -> None:
    """RFC 9068 §2.2: with ``allowed_clients`` only the listed ``client_id`` values pass."""
    rs = ResourceServer(
        issuer=ISSUER,
        audience=API,
        jwks=JWKSCache(keys=keys.jwks()),
        clock=Clock(),
        allowed_clients=["client-1"],
    )
    assert rs.verify(at(keys), PHR)["client_id"] == "client-1"
    for client_id in ("public-spa", None, ["client-1"], ""):
        with pytest.raises(ClientNotAllowed):
            rs.verify(at(keys, client_id=client_id), PHR)
    with pytest.raises(TypeError):
        ResourceServer(
            issuer=ISSUER, audience=API, jwks=JWKSCache(keys=keys.jwks()), allowed_clients="c-1"
        )
