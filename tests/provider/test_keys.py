"""Signing keys: encrypted at rest, published before signing, retired keys kept until expiry."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stepauth.errors import ConfigError, StepAuthError
from stepauth.provider.keys import ALGORITHMS, KeyRing, decrypt_private_jwk, key_encryption_key
from stepauth.sdk import jose as sdk_jose
from stepauth.store import SQLStore, open_store

SECRET = b"0123456789abcdef0123456789abcdef-test"
NOW = 1_800_000_000.0


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLStore]:
    opened = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}")
    try:
        yield opened
    finally:
        await opened.close()


def kids(jwks: dict[str, list[dict[str, str]]]) -> set[str]:
    return {k["kid"] for k in jwks["keys"]}


@pytest.mark.parametrize("alg", ALGORITHMS)
async def test_signing_key_signs_verifiably(store: SQLStore, alg: str) -> None:
    ring = await KeyRing.load(store, secret=SECRET, clock=lambda: NOW)
    kid, key = await ring.signing_key(alg)
    token = sdk_jose.sign_compact({"alg": alg, "kid": kid}, {"sub": "u"}, key.private_key)
    published = sdk_jose.KeySet.from_jwks(ring.public_jwks())
    assert sdk_jose.Verifier((alg,)).verify(token, published)[1] == {"sub": "u"}
    assert kid in kids(ring.public_jwks())
    again, _ = await ring.signing_key(alg)
    assert again == kid


async def test_kid_is_the_rfc7638_thumbprint(store: SQLStore) -> None:
    ring = await KeyRing.load(store, secret=SECRET)
    kid, key = await ring.signing_key("ES256")
    assert kid == key.thumbprint()
    (public,) = [k for k in ring.public_jwks()["keys"] if k["kid"] == kid]
    assert public["alg"] == "ES256"
    assert public["use"] == "sig"
    assert "d" not in public


async def test_private_parts_are_never_stored_in_clear(store: SQLStore) -> None:
    ring = await KeyRing.load(store, secret=SECRET)
    for alg in ALGORITHMS:
        await ring.signing_key(alg)
    records = await store.list_keys()
    assert len(records) == 2 * len(ALGORITHMS)  # an active and a next key per algorithm
    for record in records:
        private = decrypt_private_jwk(
            key_encryption_key(SECRET), record.kid, record.alg, record.private_enc
        )
        d = private["d"].encode()
        assert d not in record.private_enc
        assert base64.urlsafe_b64decode(d + b"=" * (-len(d) % 4)) not in record.private_enc
        assert b'"d"' not in record.private_enc
        assert "d" not in record.public_jwk
    rows = await store.run_sync(
        lambda conn: conn.exec_driver_sql("SELECT * FROM signing_keys").all()
    )
    dump = json.dumps([list(map(str, row)) for row in rows])
    assert private["d"] not in dump


@pytest.mark.parametrize("secret", [b"", b"short", b"x" * 31])
async def test_missing_or_short_secret_fails_closed(store: SQLStore, secret: bytes) -> None:
    with pytest.raises(ConfigError) as caught:
        await KeyRing.load(store, secret=secret)
    assert caught.value.key == "secrets.key_env"


async def test_wrong_secret_cannot_open_the_keys(store: SQLStore) -> None:
    ring = await KeyRing.load(store, secret=SECRET)
    await ring.signing_key("RS256")
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        await KeyRing.load(store, secret=b"another-secret-of-at-least-32-bytes!")


async def test_ciphertext_is_bound_to_its_kid(store: SQLStore) -> None:
    ring = await KeyRing.load(store, secret=SECRET)
    await ring.signing_key("ES256")
    active, nxt = sorted(await store.list_keys(), key=lambda r: r.state)
    with pytest.raises(ConfigError):
        decrypt_private_jwk(key_encryption_key(SECRET), nxt.kid, "ES256", active.private_enc)


async def test_rotation_publishes_next_key_before_it_signs(store: SQLStore) -> None:
    clock = [NOW]
    ring = await KeyRing.load(store, secret=SECRET, retain=600, clock=lambda: clock[0])
    first, _ = await ring.signing_key("RS256")
    published_before = kids(ring.public_jwks())
    (upcoming,) = [r.kid for r in ring.records if r.state == "next"]
    assert upcoming in published_before
    assert upcoming != first

    clock[0] = NOW + 100
    promoted = await ring.rotate()
    assert promoted == {"RS256": upcoming}
    signing, _ = await ring.signing_key("RS256")
    assert signing == upcoming  # the key that signs now was published one rotation earlier
    states = {r.kid: r.state for r in ring.records}
    assert states[first] == "retired"
    (fresh,) = [kid for kid, state in states.items() if state == "next"]
    assert {first, upcoming, fresh} == kids(ring.public_jwks())

    # the retired key stays published until its tokens expire (retain), then is dropped
    kept = 600 + ring.refresh_interval  # retain + one reload interval of other instances
    assert first in kids(ring.public_jwks(now=NOW + 100 + kept - 1))
    assert first not in kids(ring.public_jwks(now=NOW + 100 + kept))
    clock[0] = NOW + 1000
    assert kids(ring.public_jwks()) == {upcoming, fresh}


async def test_other_instances_see_rotation(store: SQLStore, tmp_path: Path) -> None:
    """No process-local state: a second instance on the same database follows the store."""
    one = await KeyRing.load(store, secret=SECRET, refresh_interval=0)
    other_store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}")
    try:
        two = await KeyRing.load(other_store, secret=SECRET, refresh_interval=0)
        kid, _ = await one.signing_key("EdDSA")
        assert (await two.signing_key("EdDSA"))[0] == kid
        await one.rotate(algs=["EdDSA"])
        new_kid, _ = await one.signing_key("EdDSA")
        assert new_kid != kid
        await two.signing_key("EdDSA")  # a stale cache starts a reload in the background
        await two.settle()
        assert (await two.signing_key("EdDSA"))[0] == new_kid
        await two.settle()
    finally:
        await other_store.close()


async def test_unknown_algorithm_is_refused(store: SQLStore) -> None:
    ring = await KeyRing.load(store, secret=SECRET)
    with pytest.raises(StepAuthError, match="unsupported signing algorithm"):
        await ring.signing_key("HS256")


async def test_ensure_publishes_every_algorithm_before_signing(store: SQLStore) -> None:
    ring = await KeyRing.load(store, secret=SECRET)
    assert ring.public_jwks() == {"keys": []}
    await ring.ensure()
    algs = sorted(k["alg"] for k in ring.public_jwks()["keys"])
    assert algs == sorted(ALGORITHMS * 2)  # an active and a next key each
    before = kids(ring.public_jwks())
    await ring.ensure()
    assert kids(ring.public_jwks()) == before


async def test_jwks_of_an_instance_that_never_signs_follows_the_store(
    store: SQLStore, tmp_path: Path
) -> None:
    """An instance that only serves /jwks still publishes keys another instance created."""
    import asyncio

    reader_store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}")
    try:
        reader = await KeyRing.load(reader_store, secret=SECRET, refresh_interval=0)
        assert reader.public_jwks() == {"keys": []}
        await reader.settle()
        writer = await KeyRing.load(store, secret=SECRET)
        await writer.ensure(["ES256"])
        reader.public_jwks()  # starts a background reload
        await asyncio.wait_for(reader.settle(), 30)
        assert kids(reader.public_jwks()) == kids(writer.public_jwks())
        await reader.settle()
    finally:
        await reader_store.close()


async def test_sealed_values_open_only_with_their_secret_and_context(store: SQLStore) -> None:
    """A value sealed for storage is neither readable nor movable: another context, another
    secret, a flipped byte or garbage all give ``None``; each seal is fresh."""
    ring = await KeyRing.load(store, secret=SECRET)
    sealed = ring.seal("cookie-value", context="bound_prompt|k1")
    assert "cookie-value" not in sealed
    assert ring.seal("cookie-value", context="bound_prompt|k1") != sealed  # random nonce
    assert ring.unseal(sealed, context="bound_prompt|k1") == "cookie-value"
    assert ring.unseal(sealed, context="bound_prompt|k2") is None
    other = await KeyRing.load(store, secret=b"another-secret-of-at-least-32-bytes!")
    assert other.unseal(sealed, context="bound_prompt|k1") is None
    raw = bytearray(base64.urlsafe_b64decode(sealed))
    raw[-1] ^= 1
    flipped = base64.urlsafe_b64encode(bytes(raw)).decode()
    assert ring.unseal(flipped, context="bound_prompt|k1") is None
    for garbage in ("", "!!!", "AAAA", "é"):
        assert ring.unseal(garbage, context="bound_prompt|k1") is None
