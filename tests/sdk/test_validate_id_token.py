"""ID token validation, OIDC Core §3.1.3.7, and the ID-token negatives of the OpenID conformance
suite's RP tests: oidcc-client-test-invalid-iss, -invalid-aud, -missing-aud, -missing-iat,
-missing-sub, -nonce-invalid, -invalid-sig-rs256, -invalid-sig-es256, -invalid-sig-hs256,
-idtoken-sig-none, -kid-absent-single-jwks and -kid-absent-multiple-jwks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from stepauth.assurance import Requirement
from stepauth.assurance.requirement import MAX_AGE_LEEWAY
from stepauth.sdk.errors import (
    DisallowedAlgorithm,
    InsufficientAuthentication,
    InvalidAudience,
    InvalidAuthorizedParty,
    InvalidIssuedAt,
    InvalidIssuer,
    InvalidNonce,
    InvalidSignature,
    KeyNotFound,
    MalformedToken,
    MissingClaim,
    TokenExpired,
)
from stepauth.sdk.jose import KeySet
from stepauth.sdk.validate import validate_id_token
from tests.sdk.conftest import CLIENT_ID, ISSUER, NOW, Keys, id_claims, sign, sign_raw

NONCE = "n-0S6_WzA2Mj"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def check(token: str, keys: KeySet, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "expected_issuer": ISSUER,
        "expected_audience": CLIENT_ID,
        "expected_nonce": NONCE,
        "jwks": keys,
        "now": NOW,
    }
    args.update(kw)
    return validate_id_token(token, **args)


def test_valid_token_returns_claims(keys: Keys) -> None:
    claims = check(sign(id_claims(), keys.rsa), keys.key_set())
    assert claims["sub"] == "user-42"
    assert claims["acr"] == "phr"


def test_invalid_iss_is_rejected(keys: Keys) -> None:
    """oidcc-client-test-invalid-iss; OIDC Core §3.1.3.7 step 2: the issuer "MUST exactly match"."""
    token = sign(id_claims(iss="https://evil.example.com"), keys.rsa)
    with pytest.raises(InvalidIssuer):
        check(token, keys.key_set())


def test_iss_with_trailing_slash_is_not_the_same_issuer(keys: Keys) -> None:
    with pytest.raises(InvalidIssuer):
        check(sign(id_claims(iss=ISSUER + "/"), keys.rsa), keys.key_set())


def test_invalid_aud_is_rejected(keys: Keys) -> None:
    """oidcc-client-test-invalid-aud (step 3)."""
    with pytest.raises(InvalidAudience):
        check(sign(id_claims(aud="someone-else"), keys.rsa), keys.key_set())


def test_missing_aud_is_rejected(keys: Keys) -> None:
    """oidcc-client-test-missing-aud."""
    claims = id_claims()
    del claims["aud"]
    with pytest.raises(InvalidAudience):
        check(sign(claims, keys.rsa), keys.key_set())


def test_untrusted_extra_audience_is_rejected(keys: Keys) -> None:
    """Step 3: additional audiences not trusted by the client."""
    token = sign(id_claims(aud=[CLIENT_ID, "other-rp"], azp=CLIENT_ID), keys.rsa)
    with pytest.raises(InvalidAudience, match="untrusted"):
        check(token, keys.key_set())
    claims = check(token, keys.key_set(), trusted_audiences={"other-rp"})
    assert claims["aud"] == [CLIENT_ID, "other-rp"]


def test_azp_of_another_client_is_rejected(keys: Keys) -> None:
    """Steps 4-5."""
    with pytest.raises(InvalidAuthorizedParty):
        check(sign(id_claims(azp="other-client"), keys.rsa), keys.key_set())


def test_several_audiences_need_azp(keys: Keys) -> None:
    token = sign(id_claims(aud=[CLIENT_ID, "other-rp"]), keys.rsa)
    with pytest.raises(InvalidAuthorizedParty):
        check(token, keys.key_set(), trusted_audiences={"other-rp"})


def test_missing_iat_is_rejected(keys: Keys) -> None:
    """oidcc-client-test-missing-iat (step 10)."""
    with pytest.raises(InvalidIssuedAt):
        check(sign(id_claims(iat=None), keys.rsa), keys.key_set())


def test_iat_in_the_future_is_rejected(keys: Keys) -> None:
    with pytest.raises(InvalidIssuedAt):
        check(sign(id_claims(iat=NOW + 600), keys.rsa), keys.key_set())


def test_iat_outside_the_window_is_rejected(keys: Keys) -> None:
    token = sign(id_claims(iat=NOW - 3600, exp=NOW + 60), keys.rsa)
    with pytest.raises(InvalidIssuedAt):
        check(token, keys.key_set(), max_token_age=600)


def test_missing_sub_is_rejected(keys: Keys) -> None:
    """oidcc-client-test-missing-sub."""
    with pytest.raises(MissingClaim, match="sub"):
        check(sign(id_claims(sub=None), keys.rsa), keys.key_set())


def test_expired_token_is_rejected(keys: Keys) -> None:
    """Step 9."""
    with pytest.raises(TokenExpired):
        check(sign(id_claims(exp=NOW - 120), keys.rsa), keys.key_set())


def test_nonce_mismatch_is_rejected(keys: Keys) -> None:
    """oidcc-client-test-nonce-invalid (step 11)."""
    with pytest.raises(InvalidNonce):
        check(sign(id_claims(nonce="other"), keys.rsa), keys.key_set())


def test_missing_nonce_is_rejected_when_one_was_sent(keys: Keys) -> None:
    with pytest.raises(InvalidNonce):
        check(sign(id_claims(nonce=None), keys.rsa), keys.key_set())


def _tamper(token: str) -> str:
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "attacker"
    return f"{head}.{b64(json.dumps(claims).encode())}.{sig}"


def test_invalid_rs256_signature_is_rejected(keys: Keys) -> None:
    """oidcc-client-test-invalid-sig-rs256."""
    with pytest.raises(InvalidSignature):
        check(_tamper(sign(id_claims(), keys.rsa)), keys.key_set())


def test_invalid_es256_signature_is_rejected(keys: Keys) -> None:
    """oidcc-client-test-invalid-sig-es256 (ES256 registered for the client)."""
    token = sign(id_claims(), keys.ec, "ES256")
    assert check(token, keys.key_set(), allowed_algs=("ES256",))["sub"] == "user-42"
    with pytest.raises(InvalidSignature):
        check(_tamper(token), keys.key_set(), allowed_algs=("ES256",))


def test_signature_by_an_unknown_key_with_a_known_kid_is_rejected(keys: Keys) -> None:
    # rsa2 signs but claims to be rsa-1.
    token = sign(id_claims(), keys.rsa2, kid="rsa-1")
    with pytest.raises(InvalidSignature):
        check(token, keys.key_set())


def test_hs256_confusion_with_the_rsa_public_key_is_rejected(keys: Keys) -> None:
    """oidcc-client-test-invalid-sig-hs256; algorithm confusion (RFC 8725 §2.1)."""
    pem = keys.rsa.as_pem(private=False)
    header = b64(json.dumps({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}).encode())
    payload = b64(json.dumps(id_claims()).encode())
    mac = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}.{b64(mac)}"
    with pytest.raises(DisallowedAlgorithm):
        check(token, keys.key_set())
    with pytest.raises(DisallowedAlgorithm):
        check(token, keys.key_set(), allowed_algs=("HS256",))


def test_alg_none_is_rejected(keys: Keys) -> None:
    """oidcc-client-test-idtoken-sig-none (OIDC Core §2)."""
    header = b64(json.dumps({"alg": "none"}).encode())
    token = f"{header}.{b64(json.dumps(id_claims()).encode())}."
    with pytest.raises(DisallowedAlgorithm):
        check(token, keys.key_set())
    with pytest.raises(DisallowedAlgorithm):
        check(token, keys.key_set(), allowed_algs=("none",))


def test_alg_not_registered_for_the_client_is_rejected(keys: Keys) -> None:
    """Step 7: RS256 unless the client registered another alg."""
    with pytest.raises(DisallowedAlgorithm):
        check(sign(id_claims(), keys.ec, "ES256"), keys.key_set())


def test_alg_of_the_wrong_key_type_is_rejected(keys: Keys) -> None:
    """An ES256 header naming an RSA key: alg/kty mismatch."""
    token = sign(id_claims(), keys.ec, "ES256", kid="rsa-1")
    with pytest.raises(DisallowedAlgorithm):
        check(token, keys.key_set(), allowed_algs=("RS256", "ES256"))


def test_absent_kid_with_a_single_key_is_accepted(keys: Keys) -> None:
    """oidcc-client-test-kid-absent-single-jwks."""
    token = sign(id_claims(), keys.rsa, kid=None)
    assert check(token, keys.key_set("rsa"))["sub"] == "user-42"


def test_absent_kid_with_several_keys_is_rejected(keys: Keys) -> None:
    """oidcc-client-test-kid-absent-multiple-jwks: the RP cannot tell which key signed."""
    token = sign(id_claims(), keys.rsa, kid=None)
    with pytest.raises(KeyNotFound):
        check(token, keys.key_set("rsa", "rsa2"))


def test_unknown_kid_is_rejected(keys: Keys) -> None:
    with pytest.raises(KeyNotFound):
        check(sign(id_claims(), keys.rsa2), keys.key_set("rsa"))


def test_eddsa_token_verifies_when_allowed(keys: Keys) -> None:
    token = sign(id_claims(), keys.ed, "Ed25519")
    assert check(token, keys.key_set(), allowed_algs=("Ed25519",))["sub"] == "user-42"


def test_encrypted_or_malformed_tokens_are_rejected(keys: Keys) -> None:
    with pytest.raises(MalformedToken):
        check("a.b.c.d.e", keys.key_set())
    with pytest.raises(MalformedToken):
        check("not-a-jwt", keys.key_set())
    with pytest.raises(MalformedToken):
        check("é.é.é", keys.key_set())


def test_crit_header_is_rejected(keys: Keys) -> None:
    token = sign_raw({"alg": "RS256", "kid": "rsa-1", "crit": ["x"], "x": 1}, id_claims(), keys.rsa)
    with pytest.raises(MalformedToken, match="crit"):
        check(token, keys.key_set())


# -- step 12: acr -------------------------------------------------------------------------------


def test_missing_acr_fails_the_requirement(keys: Keys) -> None:
    """OIDC Core §3.1.3.7 step 12: a token without acr never satisfies a requirement."""
    token = sign(id_claims(acr=None), keys.rsa)
    with pytest.raises(InsufficientAuthentication) as info:
        check(token, keys.key_set(), requirement=Requirement(("phr",)))
    assert info.value.step_up.reason == "acr_missing"
    assert info.value.step_up.acr_values == ("phr",)


def test_lower_acr_fails_the_requirement(keys: Keys) -> None:
    """A voluntary acr_values answer with a lower acr is refused, not accepted
    (OIDC Core §5.5.1.1, §3.1.3.7 step 12; RFC 9470 §5).
    """
    token = sign(id_claims(acr="urn:stepauth:acr:1fa"), keys.rsa)
    with pytest.raises(InsufficientAuthentication) as info:
        check(token, keys.key_set(), requirement=Requirement(("phr",)))
    assert info.value.step_up.reason == "acr_not_met"


def test_higher_acr_satisfies_a_lower_requirement(keys: Keys) -> None:
    token = sign(id_claims(acr="phrh"), keys.rsa)
    assert check(token, keys.key_set(), requirement=Requirement(("phr",)))["acr"] == "phrh"


# -- step 13: auth_time and max_age -------------------------------------------------------------


def test_missing_auth_time_fails_when_max_age_was_sent(keys: Keys) -> None:
    """OIDC Core §3.1.3.7 step 13 (as in the conformance suite's oidcc-max-age-1): auth_time is
    REQUIRED after a max_age request.
    """
    token = sign(id_claims(auth_time=None), keys.rsa)
    with pytest.raises(InsufficientAuthentication) as info:
        check(token, keys.key_set(), max_age=300, requirement=Requirement(("phr",)))
    assert info.value.step_up.reason == "auth_time_missing"


def test_too_old_auth_time_fails(keys: Keys) -> None:
    """OIDC Core §3.1.3.7 step 13: older than max_age plus the documented leeway → step up."""
    token = sign(id_claims(auth_time=NOW - 300 - MAX_AGE_LEEWAY - 1), keys.rsa)
    with pytest.raises(InsufficientAuthentication) as info:
        check(token, keys.key_set(), requirement=Requirement(("phr",), 300), leeway=0)
    assert info.value.step_up.reason == "max_age_exceeded"
    assert info.value.step_up.max_age == 300
    exact = sign(id_claims(auth_time=NOW - 301), keys.rsa)
    with pytest.raises(InsufficientAuthentication):
        check(exact, keys.key_set(), requirement=Requirement(("phr",), 300), max_age_leeway=0)


def test_max_age_boundary_is_inclusive(keys: Keys) -> None:
    """now - auth_time <= max_age (+ leeway) passes (OIDC Core §3.1.3.7 step 13)."""
    token = sign(id_claims(auth_time=NOW - 300), keys.rsa)
    req = Requirement(("phr",), 300)
    assert check(token, keys.key_set(), requirement=req, leeway=0, max_age_leeway=0)
    edge = sign(id_claims(auth_time=NOW - 300 - MAX_AGE_LEEWAY), keys.rsa)
    assert check(edge, keys.key_set(), requirement=req, leeway=0)


def test_smaller_of_request_and_requirement_max_age_wins(keys: Keys) -> None:
    token = sign(id_claims(auth_time=NOW - 100), keys.rsa)
    req = Requirement(("phr",), 300)
    assert check(token, keys.key_set(), requirement=req, max_age=120, leeway=0)
    with pytest.raises(InsufficientAuthentication):
        check(token, keys.key_set(), requirement=req, max_age=60, leeway=0)


def test_max_age_zero_needs_authentication_now(keys: Keys) -> None:
    """max_age=0 is prompt=login (OIDC Core §3.1.2.1 (max_age)): an authentication within the
    max_age leeway of now (whole-second auth_time, clock skew) passes; an older one does not."""
    req = Requirement(("phr",), 0)
    assert check(sign(id_claims(auth_time=NOW), keys.rsa), keys.key_set(), requirement=req)
    lw = int(MAX_AGE_LEEWAY)
    just = sign(id_claims(auth_time=NOW - lw), keys.rsa)
    assert check(just, keys.key_set(), requirement=req)
    with pytest.raises(InsufficientAuthentication) as info:
        check(sign(id_claims(auth_time=NOW - lw - 1), keys.rsa), keys.key_set(), requirement=req)
    assert info.value.step_up.reason == "max_age_exceeded"


def test_max_age_zero_is_met_by_an_authentication_after_the_request(keys: Keys) -> None:
    """OIDC Core §3.1.2.1 (max_age=0): "authenticate now" = after the request was made
    (not_before), however long the user took;
    an authentication from before the request never passes."""
    req = Requirement(("phr",), 0)
    requested = NOW - 120
    after = sign(id_claims(auth_time=requested + 30), keys.rsa)
    assert check(after, keys.key_set(), requirement=req, not_before=requested)
    with pytest.raises(InsufficientAuthentication):
        check(after, keys.key_set(), requirement=req)
    before = sign(id_claims(auth_time=requested - MAX_AGE_LEEWAY - 1), keys.rsa)
    with pytest.raises(InsufficientAuthentication):
        check(before, keys.key_set(), requirement=req, not_before=requested)


@pytest.mark.parametrize("auth_time", ["1764000000", True, -1, None])
def test_malformed_auth_time_never_satisfies(keys: Keys, auth_time: Any) -> None:
    token = sign(id_claims(auth_time=auth_time), keys.rsa)
    with pytest.raises(InsufficientAuthentication):
        check(token, keys.key_set(), requirement=Requirement(("phr",), 300))


def test_auth_time_in_the_future_never_satisfies(keys: Keys) -> None:
    token = sign(id_claims(auth_time=NOW + 3600), keys.rsa)
    with pytest.raises(InsufficientAuthentication):
        check(token, keys.key_set(), requirement=Requirement(("phr",), 300))


def test_non_finite_or_huge_exp_never_means_forever(keys: Keys) -> None:
    """NaN/Infinity are not JSON; a huge exp is not accepted as 'never expires'."""
    header = {"alg": "RS256", "kid": "rsa-1"}
    token = sign_raw(header, id_claims(exp=float("nan")), keys.rsa)  # json.dumps writes NaN
    with pytest.raises(MalformedToken):
        check(token, keys.key_set())
    with pytest.raises(MissingClaim):
        check(sign(id_claims(exp=10**400), keys.rsa), keys.key_set())


def test_non_ascii_iss_and_nonce_fail_cleanly(keys: Keys) -> None:
    with pytest.raises(InvalidIssuer):
        check(sign(id_claims(iss="https://öp.example.com"), keys.rsa), keys.key_set())
    with pytest.raises(InvalidNonce):
        check(sign(id_claims(nonce="nönce"), keys.rsa), keys.key_set())
