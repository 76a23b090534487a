"""The imported-key cache of the DPoP proof check (RFC 9449 §4.3 steps 6-7): a key seen before
skips the import, never the signature, and the cache is keyed on every member the import
reads, bounded in size."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from stepauth.encoding import b64url_encode
from stepauth.sdk.dpop_check import _KEY_CACHE_MAX, CheckedProof, _imported_key, check_proof
from stepauth.sdk.errors import InvalidDPoPProof
from stepauth.sdk.jose import Verifier, jwk_thumbprint, sign_compact

NOW = 1_700_000_000
URL = "https://api.example.com/transfers"
VERIFIER = Verifier(("ES256", "RS256"))


def _public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url_encode(numbers.x.to_bytes(32, "big")),
        "y": b64url_encode(numbers.y.to_bytes(32, "big")),
    }


def _proof(key: ec.EllipticCurvePrivateKey, jwk: Mapping[str, Any], jti: str, **header: Any) -> str:
    head = {"typ": "dpop+jwt", "alg": "ES256", "jwk": dict(jwk), **header}
    return sign_compact(head, {"jti": jti, "htm": "GET", "htu": URL, "iat": NOW}, key)


def _check(proof: str) -> CheckedProof:
    return check_proof(
        proof,
        verifier=VERIFIER,
        expected_htm="GET",
        expected_htu=URL,
        access_token=None,
        now=NOW,
        max_age=60,
        leeway=5,
    )


def test_a_cached_key_still_verifies_every_signature() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = _public_jwk(key)
    assert _check(_proof(key, jwk, "j-1")).jkt == jwk_thumbprint(jwk)
    hits = _imported_key.cache_info().hits
    # The same jwk, signed by another key: the cached import must not stand for a signature.
    forger = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(InvalidDPoPProof, match="signature does not verify"):
        _check(_proof(forger, jwk, "j-2"))
    assert _imported_key.cache_info().hits == hits + 1


def test_a_tampered_proof_with_a_cached_key_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = _public_jwk(key)
    _check(_proof(key, jwk, "j-1"))
    head, payload, sig = _proof(key, jwk, "j-2").split(".")
    other_payload = _proof(key, jwk, "j-3").split(".")[1]
    with pytest.raises(InvalidDPoPProof, match="signature does not verify"):
        _check(f"{head}.{other_payload}.{sig}")
    assert payload != other_payload


def test_a_cached_key_does_not_lift_the_jwk_alg_restriction() -> None:
    """The jwk's ``alg`` is part of the cache key: the same public key restricted to ES384
    is not the cached unrestricted one (RFC 8725 §3.1)."""
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = _public_jwk(key)
    _check(_proof(key, jwk, "j-1"))
    with pytest.raises(InvalidDPoPProof, match="signature does not verify"):
        _check(_proof(key, {**jwk, "alg": "ES384"}, "j-2"))


def test_the_header_kid_is_part_of_the_cache_key() -> None:
    """The header's ``kid`` is part of the cache key: the key imported under one kid is not
    looked up under another (and the proof still verifies)."""
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = _public_jwk(key)
    assert _check(_proof(key, jwk, "j-1", kid="a")).jkt == jwk_thumbprint(jwk)
    assert _check(_proof(key, jwk, "j-2", kid="b")).jkt == jwk_thumbprint(jwk)


def test_a_refused_jwk_is_never_cached() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    bad = {**_public_jwk(key), "x": "not*base64"}
    before = _imported_key.cache_info().currsize
    for jti in ("j-1", "j-2"):
        with pytest.raises(InvalidDPoPProof, match="not a usable public key"):
            _check(_proof(key, bad, jti))
    assert _imported_key.cache_info().currsize <= before


def test_a_flood_of_fresh_keys_keeps_the_cache_bounded() -> None:
    for i in range(_KEY_CACHE_MAX + 20):
        key = ec.generate_private_key(ec.SECP256R1())
        _check(_proof(key, _public_jwk(key), f"j-{i}"))
    assert _imported_key.cache_info().currsize == _KEY_CACHE_MAX


def test_a_jwk_member_of_another_json_type_is_checked_uncached() -> None:
    """A member the key type ignores, of a non-string type, is imported as sent, not kept."""
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = {**_public_jwk(key), "n": 5}
    misses = _imported_key.cache_info().misses
    assert _check(_proof(key, jwk, "j-1")).jkt == jwk_thumbprint(jwk)
    assert _imported_key.cache_info().misses == misses
