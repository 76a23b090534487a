"""The one JWS signer and verifier of stepauth.sdk.jose, and the one base64url helper.

Every algorithm of the registry round-trips through ``sign_compact`` and ``Verifier``, and
PyJWT (an implementation independent of ours) verifies what ``sign_compact`` signs
(RFC 7515 §5.1/§5.2; RFC 7518 §3.3-§3.5; RFC 8037 §3.1).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stepauth.encoding import b64url_decode, b64url_encode
from stepauth.sdk.errors import DisallowedAlgorithm, InvalidSignature, MalformedToken
from stepauth.sdk.jose import ALGORITHMS, KeySet, PublicKey, Verifier, sign_compact

_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_EC = {
    "P-256": ec.generate_private_key(ec.SECP256R1()),
    "P-384": ec.generate_private_key(ec.SECP384R1()),
    "P-521": ec.generate_private_key(ec.SECP521R1()),
}
_ED = Ed25519PrivateKey.generate()
CLAIMS = {"iss": "https://op.example", "sub": "ü", "aud": "rp", "exp": 2, "amr": ["hwk"]}


def _private(alg: str) -> Any:
    spec = ALGORITHMS[alg]
    if spec.kty == "RSA":
        return _RSA
    if spec.kty == "EC":
        assert spec.crv is not None
        return _EC[spec.crv]
    return _ED


def _public(alg: str, kid: str = "k1") -> PublicKey:
    spec = ALGORITHMS[alg]
    return PublicKey(kid, spec.kty, _private(alg).public_key(), crv=spec.crv)


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_every_algorithm_round_trips_and_pyjwt_agrees(alg: str) -> None:
    token = sign_compact({"alg": alg, "kid": "k1", "typ": "JWT"}, CLAIMS, _private(alg))
    header, claims = Verifier([alg]).verify(token, KeySet.of([_public(alg)]))
    assert (header.alg, header.kid, claims) == (alg, "k1", CLAIMS)
    if alg != "Ed25519":  # PyJWT knows the RFC 9864 name only as EdDSA
        decoded = pyjwt.decode(
            token,
            _private(alg).public_key(),
            algorithms=[alg],
            options={"verify_exp": False},
            audience="rp",
        )
        assert decoded == CLAIMS


def test_a_tampered_payload_or_a_foreign_key_fails() -> None:
    token = sign_compact({"alg": "ES256", "kid": "k1"}, CLAIMS, _EC["P-256"])
    head, _, sig = token.split(".")
    forged = b64url_encode(json.dumps({**CLAIMS, "sub": "admin"}).encode())
    verifier = Verifier(["ES256"])
    with pytest.raises(InvalidSignature):
        verifier.verify(f"{head}.{forged}.{sig}", KeySet.of([_public("ES256")]))
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(InvalidSignature):
        verifier.verify(token, KeySet.of([PublicKey("k1", "EC", other, crv="P-256")]))


def test_the_allow_list_and_the_key_type_bind_the_algorithm() -> None:
    """RFC 8725 §3.1: an alg outside the list, ``none``, a MAC, or an alg of another key
    type is refused before any signature is checked."""
    token = sign_compact({"alg": "PS256", "kid": "k1"}, CLAIMS, _RSA)
    with pytest.raises(DisallowedAlgorithm):
        Verifier(["RS256"]).verify(token, KeySet.of([_public("PS256")]))
    assert Verifier(["HS256", "none", "RS256"]).algs == frozenset({"RS256"})
    rsa_token = sign_compact({"alg": "RS256", "kid": "k1"}, CLAIMS, _RSA)
    with pytest.raises(DisallowedAlgorithm):
        Verifier(["RS256"]).verify(rsa_token, KeySet.of([_public("ES256")]))


def test_the_signer_refuses_an_alg_its_key_cannot_make() -> None:
    for header, key in (
        ({"alg": "ES256"}, _RSA),
        ({"alg": "ES384"}, _EC["P-256"]),
        ({"alg": "HS256"}, _RSA),
        ({}, _ED),
    ):
        with pytest.raises(ValueError, match=r"cannot sign|needs a"):
            sign_compact(header, CLAIMS, key)


def test_malformed_compact_forms_are_malformed() -> None:
    keys = KeySet.of([_public("RS256")])
    token = sign_compact({"alg": "RS256", "kid": "k1"}, CLAIMS, _RSA)
    head, payload, sig = token.split(".")
    for bad in (f"{head}.{payload}", f"{head}.{payload}.{sig}!", f"{head}.{payload}.{sig}.x.y"):
        with pytest.raises(MalformedToken):
            Verifier(["RS256"]).verify(bad, keys)


def test_base64url_is_strict_and_round_trips() -> None:
    for size in range(40):
        data = bytes(range(size))
        assert b64url_encode(data) == base64.urlsafe_b64encode(data).rstrip(b"=").decode()
        assert b64url_encode(data, pad=True) == base64.urlsafe_b64encode(data).decode()
        assert b64url_decode(b64url_encode(data)) == data
        assert b64url_decode(b64url_encode(data, pad=True)) == data
    for bad in ("a", "ab!c", "ab c", "é", "a=bc"):
        with pytest.raises((binascii.Error, UnicodeEncodeError)):
            b64url_decode(bad)
