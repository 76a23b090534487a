"""DPoP proofs as the SDK signs them (RFC 9449 §4.2), ``htu`` normalisation (§4.3 step 9,
RFC 3986 §6), RFC 7638 thumbprints and the stateless server nonces (§9)."""

from __future__ import annotations

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

from stepauth.sdk.dpop import (
    DPoPKey,
    DPoPSigner,
    ECDPoPKey,
    access_token_hash,
    make_proof,
    normalize_htu,
    thumbprint,
)
from stepauth.sdk.dpop_check import DPoPNonces, split_dpop_headers
from stepauth.sdk.errors import SDKError
from stepauth.sdk.jose import jwk_thumbprint
from tests.sdk.dpop_flow import ath


@pytest.mark.parametrize(
    ("sent", "normal"),
    [
        ("https://API.Example.com/a/b", "https://api.example.com/a/b"),
        ("HTTPS://api.example.com:443/a?x=1#f", "https://api.example.com/a"),
        ("http://api.example.com:80", "http://api.example.com/"),
        ("https://api.example.com:8443/a", "https://api.example.com:8443/a"),
        ("https://api.example.com/%7euser/%2f", "https://api.example.com/~user/%2F"),
        ("https://api.example.com/a/./b/../c", "https://api.example.com/a/c"),
        ("https://user:pw@api.example.com/a", "https://api.example.com/a"),
        ("https://[::1]:8443/a", "https://[::1]:8443/a"),
    ],
)
def test_htu_is_normalised_as_rfc_3986_section_6(sent: str, normal: str) -> None:
    assert normalize_htu(sent) == normal


@pytest.mark.parametrize("bad", ["/relative", "ftp://x/a", "https:///nohost", "https://h:port/"])
def test_htu_that_is_not_an_absolute_http_url_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"http|port"):
        normalize_htu(bad)


def test_thumbprint_agrees_with_joserfc_for_every_key_type() -> None:
    """RFC 7638 §3 (and RFC 8037 §2 for OKP), against an independent implementation."""
    for key in (ECKey.generate_key("P-256"), RSAKey.generate_key(2048), OKPKey.generate_key()):
        assert jwk_thumbprint(key.as_dict(private=False)) == key.thumbprint()


def test_thumbprint_of_the_rfc_7638_example() -> None:
    """RFC 7638 §3.1: the example RSA key and its thumbprint."""
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJ"
        "ECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FD"
        "W2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4v"
        "MQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    jwk = {"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_a_proof_made_by_the_sdk_verifies_with_joserfc() -> None:
    key = ECDPoPKey()
    assert isinstance(key, DPoPKey)
    compact = make_proof(
        key,
        method="post",
        url="https://API.example.com/transfers?x=1",
        access_token="at-1",
        nonce="n-1",
        now=1_700_000_000,
        jti="j-1",
    )
    decoded = jwt.decode(compact, ECKey.import_key(dict(key.public_jwk)), algorithms=["ES256"])
    assert decoded.header["typ"] == "dpop+jwt"
    assert decoded.header["jwk"] == dict(key.public_jwk)
    assert "d" not in decoded.header["jwk"]
    assert decoded.claims == {
        "jti": "j-1",
        "htm": "POST",
        "htu": "https://api.example.com/transfers",
        "iat": 1_700_000_000,
        "ath": ath("at-1"),
        "nonce": "n-1",
    }
    assert access_token_hash("at-1") == ath("at-1")
    assert (
        DPoPSigner(key).jkt
        == thumbprint(key)
        == ECKey.import_key(dict(key.public_jwk)).thumbprint()
    )


def test_server_nonces_are_stateless_and_expire() -> None:
    now = [1_700_000_000.0]
    secret = b"s" * 32
    nonces = DPoPNonces(secret, lifetime=300, clock=lambda: now[0])
    other_instance = DPoPNonces(secret, clock=lambda: now[0])
    nonce = nonces.issue()
    assert nonces.valid(nonce)
    assert other_instance.valid(nonce)
    assert not DPoPNonces(b"t" * 32, clock=lambda: now[0]).valid(nonce)  # another secret
    assert not nonces.valid(nonce[:-2] + ("AA" if nonce[-2:] != "AA" else "BB"))  # tampered
    assert not nonces.valid(None)
    assert not nonces.valid("not a nonce")
    now[0] += 301
    assert not nonces.valid(nonce)


def test_a_short_nonce_secret_is_refused() -> None:
    with pytest.raises(SDKError):
        DPoPNonces(b"short")


def test_comma_joined_dpop_headers_count_as_several_proofs() -> None:
    """RFC 9110 §5.3: a server may join repeated header lines; each proof still counts."""
    assert split_dpop_headers(["a.b.c, d.e.f", "g.h.i"]) == ("a.b.c", "d.e.f", "g.h.i")
    assert split_dpop_headers([]) == ()
