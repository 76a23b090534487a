"""JWKSCache: TTL, unknown-kid refetch with a cool-down, last good set kept, key rotation.

A real HTTP server publishes the key set; ``httpx.MockTransport`` appears only where a
*failing* endpoint is simulated (500s, garbage).
"""

from __future__ import annotations

import httpx
import pytest

from stepauth.sdk import JWKSCache
from stepauth.sdk.errors import DisallowedAlgorithm, JWKSError, KeyNotFound
from stepauth.sdk.jose import KeySet
from stepauth.sdk.validate import validate_id_token
from tests.sdk.conftest import CLIENT_ID, ISSUER, NOW, JWKSServer, Keys, id_claims, sign


class Clock:
    def __init__(self, t: float = NOW) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def validate(token: str, keys: KeySet) -> dict[str, object]:
    return validate_id_token(
        token,
        expected_issuer=ISSUER,
        expected_audience=CLIENT_ID,
        expected_nonce=None,
        jwks=keys,
        now=NOW,
    )


def test_key_set_is_cached_for_its_ttl(jwks_server: JWKSServer, keys: Keys) -> None:
    jwks_server.jwks = keys.jwks("rsa")
    clock = Clock()
    cache = JWKSCache(jwks_server.url, ttl=300, clock=clock)
    assert cache.key_set("rsa-1").kids() == {"rsa-1"}
    clock.t += 299
    cache.key_set("rsa-1")
    assert jwks_server.hits == 1
    clock.t += 2
    cache.key_set("rsa-1")
    assert jwks_server.hits == 2


def test_cache_control_max_age_sets_the_ttl(jwks_server: JWKSServer, keys: Keys) -> None:
    jwks_server.jwks = keys.jwks("rsa")
    jwks_server.cache_control = "public, max-age=10"
    clock = Clock()
    cache = JWKSCache(jwks_server.url, ttl=300, clock=clock)
    cache.key_set()
    clock.t += 11
    cache.key_set()
    assert jwks_server.hits == 2


def test_signing_key_rotation_is_picked_up(jwks_server: JWKSServer, keys: Keys) -> None:
    """oidcc-client-test-signing-key-rotation: a new kid triggers a refetch."""
    jwks_server.jwks = keys.jwks("rsa")
    clock = Clock()
    cache = JWKSCache(jwks_server.url, cooldown=30, clock=clock)
    validate(sign(id_claims(nonce=None), keys.rsa), cache.key_set("rsa-1"))
    jwks_server.jwks = keys.jwks("rsa2")  # the OP rotated
    clock.t += 60
    token = sign(id_claims(nonce=None), keys.rsa2)
    assert validate(token, cache.for_token(token))["sub"] == "user-42"
    assert jwks_server.hits == 2


def test_unknown_kid_refetch_has_a_cooldown(jwks_server: JWKSServer, keys: Keys) -> None:
    """Forged kids cannot make the RP hammer the OP."""
    jwks_server.jwks = keys.jwks("rsa")
    clock = Clock()
    cache = JWKSCache(jwks_server.url, cooldown=30, clock=clock)
    cache.key_set("rsa-1")
    clock.t += 31
    with pytest.raises(KeyNotFound):
        cache.key_set("forged-1")
    assert jwks_server.hits == 2
    for n in range(5):
        with pytest.raises(KeyNotFound):
            cache.key_set(f"forged-{n + 2}")
    assert jwks_server.hits == 2
    clock.t += 31
    with pytest.raises(KeyNotFound):
        cache.key_set("forged-9")
    assert jwks_server.hits == 3


def test_failed_refresh_keeps_the_last_good_set(jwks_server: JWKSServer, keys: Keys) -> None:
    """The OP's JWKS endpoint goes down (a real refused connection): the cache still works."""
    jwks_server.jwks = keys.jwks("rsa")
    clock = Clock()
    cache = JWKSCache(jwks_server.url, ttl=60, cooldown=10, clock=clock)
    cache.key_set("rsa-1")
    jwks_server.stop()
    clock.t += 120  # stale: a refresh is attempted and fails
    keys_after = cache.key_set("rsa-1")
    assert keys_after.kids() == {"rsa-1"}
    assert cache.failures == 1
    token = sign(id_claims(nonce=None), keys.rsa)
    assert validate(token, keys_after)["sub"] == "user-42"


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500, text="oops"),
        httpx.Response(200, text="<html>not json</html>"),
        httpx.Response(200, json={"keys": []}),
        httpx.Response(200, json={"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}),
    ],
    ids=["500", "not-json", "empty", "symmetric-only"],
)
def test_bad_refresh_answers_keep_the_last_good_set(keys: Keys, failure: httpx.Response) -> None:
    answers = [httpx.Response(200, json=keys.jwks("rsa")), failure]
    transport = httpx.MockTransport(lambda request: answers.pop(0))
    clock = Clock()
    cache = JWKSCache(
        "https://op.example.com/jwks", ttl=60, clock=clock, client=httpx.Client(transport=transport)
    )
    cache.key_set("rsa-1")
    clock.t += 61
    assert cache.key_set("rsa-1").kids() == {"rsa-1"}
    assert cache.failures == 1


def test_first_fetch_failure_is_an_error() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(503))
    cache = JWKSCache("https://op.example.com/jwks", client=httpx.Client(transport=transport))
    with pytest.raises(JWKSError):
        cache.key_set("any")
    with pytest.raises(JWKSError):  # within the cool-down: no second request
        cache.key_set("any")
    assert cache.fetches == 1


def test_keys_unfit_for_signatures_are_skipped(keys: Keys) -> None:
    jwks = keys.jwks("rsa", "ec")
    jwks["keys"][1]["use"] = "enc"
    jwks["keys"].append({"kty": "RSA", "kid": "bad", "alg": "none", "n": "AQAB", "e": "AQAB"})
    jwks["keys"].append({"kty": "oct", "kid": "mac", "k": "c2VjcmV0"})
    assert KeySet.from_jwks(jwks).kids() == {"rsa-1"}
    with pytest.raises(JWKSError):
        KeySet.from_jwks(jwks, strict=True)


def test_key_registered_for_another_alg_is_not_used_for_that_alg(keys: Keys) -> None:
    jwk = keys.rsa.as_dict(private=False)
    jwk["alg"] = "PS256"
    key_set = KeySet.from_jwks({"keys": [jwk]})
    with pytest.raises(DisallowedAlgorithm):
        validate(sign(id_claims(nonce=None), keys.rsa), key_set)


async def test_async_cache_fetches_and_refetches(jwks_server: JWKSServer, keys: Keys) -> None:
    jwks_server.jwks = keys.jwks("rsa")
    clock = Clock()
    cache = JWKSCache(jwks_server.url, clock=clock)
    assert (await cache.akey_set("rsa-1")).kids() == {"rsa-1"}
    jwks_server.jwks = keys.jwks("rsa", "rsa2")
    clock.t += 60
    token = sign(id_claims(nonce=None), keys.rsa2)
    assert validate(token, await cache.afor_token(token))["sub"] == "user-42"
    assert jwks_server.hits == 2
