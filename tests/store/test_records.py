"""Users, sessions, factors, counters, failure counters and the audit trail."""

from __future__ import annotations

import asyncio

import pytest

from stepauth.store import KeyRecord, SQLStore, StoreError

NOW = 1_800_000_000.0


async def test_users(store: SQLStore) -> None:
    alice = await store.create_user("alice", "$argon2id$hash")
    await store.create_user("bob", None)
    assert len(alice.id) >= 20
    assert (await store.get_user(alice.id)) == alice
    assert (await store.get_user_by_username("alice")) == alice
    assert await store.get_user_by_username("carol") is None
    assert [u.username for u in await store.list_users()] == ["alice", "bob"]
    await store.set_user_disabled(alice.id, True)
    await store.set_password_hash(alice.id, "$argon2id$new")
    again = await store.get_user(alice.id)
    assert again is not None
    assert again.disabled
    assert again.password_hash == "$argon2id$new"
    with pytest.raises(StoreError):
        await store.create_user("alice", None)
    with pytest.raises(StoreError):
        await store.set_user_disabled("no-such-user", True)


async def test_session_lifecycle(store: SQLStore) -> None:
    event = {"methods": ["pwd"], "at": NOW}
    session = await store.create_session(
        "u1", [event], now=NOW, idle_timeout=100, absolute_timeout=1000
    )
    assert len(session.id) >= 40
    assert session.events == [event]
    assert session.idle_expires_at == NOW + 100
    assert await store.get_session(session.id, now=NOW + 99) == session
    assert await store.get_session(session.id, now=NOW + 100) is None  # idle limit
    await store.touch_session(session.id, now=NOW + 90)
    touched = await store.get_session(session.id, now=NOW + 150)
    assert touched is not None
    assert touched.idle_expires_at == NOW + 190
    assert touched.last_seen_at == NOW + 90
    await store.delete_session(session.id)
    assert await store.get_session(session.id, now=NOW + 91) is None


async def test_session_absolute_limit_is_never_extended(store: SQLStore) -> None:
    session = await store.create_session("u1", [], now=NOW, idle_timeout=100, absolute_timeout=150)
    await store.touch_session(session.id, now=NOW + 90)
    touched = await store.get_session(session.id, now=NOW + 91)
    assert touched is not None
    assert touched.idle_expires_at == NOW + 150
    rotated = await store.rotate_session(session.id, append_events=[], now=NOW + 120)
    assert rotated is not None
    assert rotated.absolute_expires_at == NOW + 150
    assert await store.get_session(rotated.id, now=NOW + 150) is None


async def test_rotate_session_changes_id_and_appends(store: SQLStore) -> None:
    """Session fixation: every new authentication event yields a new id."""
    first = {"methods": ["pwd"], "at": NOW}
    second = {"methods": ["otp"], "at": NOW + 10}
    session = await store.create_session(
        "u1", [first], now=NOW, idle_timeout=100, absolute_timeout=1000
    )
    rotated = await store.rotate_session(session.id, append_events=[second], now=NOW + 10)
    assert rotated is not None
    assert rotated.id != session.id
    assert rotated.user_id == "u1"
    assert rotated.events == [first, second]
    assert rotated.created_at == NOW
    assert await store.get_session(session.id, now=NOW + 10) is None
    assert await store.get_session(rotated.id, now=NOW + 10) == rotated
    assert await store.rotate_session("unknown", append_events=[], now=NOW) is None


async def test_concurrent_rotations_have_one_winner(store: SQLStore, other_store: SQLStore) -> None:
    session = await store.create_session("u1", [], now=NOW, idle_timeout=100, absolute_timeout=1000)
    results = await asyncio.gather(
        store.rotate_session(session.id, append_events=[{"n": 1}], now=NOW + 1),
        other_store.rotate_session(session.id, append_events=[{"n": 2}], now=NOW + 1),
        store.rotate_session(session.id, append_events=[{"n": 3}], now=NOW + 1),
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert await store.get_session(winners[0].id, now=NOW + 2) == winners[0]


async def test_expired_session_cannot_be_rotated(store: SQLStore) -> None:
    session = await store.create_session("u1", [], now=NOW, idle_timeout=100, absolute_timeout=1000)
    assert await store.rotate_session(session.id, append_events=[], now=NOW + 100) is None


async def test_factors(store: SQLStore) -> None:
    webauthn = await store.add_factor(
        "u1",
        "webauthn",
        {"sign_count": 5, "public_key": "pk"},
        label="key",
        credential_id="c1",
        now=NOW,
    )
    totp = await store.add_factor("u1", "totp", {"secret": "s"}, label="phone", now=NOW + 1)
    await store.add_factor("u2", "totp", {"secret": "t"}, label="other", now=NOW)
    assert [f.id for f in await store.list_factors("u1")] == [webauthn.id, totp.id]
    assert await store.get_factor_by_credential_id("c1") == webauthn
    assert await store.get_factor(totp.id) == totp
    with pytest.raises(StoreError):
        await store.add_factor("u3", "webauthn", {}, label="dup", credential_id="c1", now=NOW)
    await store.update_factor(totp.id, label="new phone", last_used_at=NOW + 5, disabled=True)
    updated = await store.get_factor(totp.id)
    assert updated is not None
    assert (updated.label, updated.last_used_at, updated.disabled) == ("new phone", NOW + 5, True)
    await store.remove_factor(totp.id)
    assert await store.get_factor(totp.id) is None
    with pytest.raises(StoreError):
        await store.update_factor(totp.id, label="gone")


async def test_advance_counter_refuses_regression_and_replay(store: SQLStore) -> None:
    """RFC 6238 §5.2 / WebAuthn signCount: a counter only moves forward."""
    factor = await store.add_factor(
        "u1", "webauthn", {"sign_count": 5}, label="key", credential_id="c9", now=NOW
    )
    assert not await store.advance_counter(factor.id, "sign_count", 5)
    assert not await store.advance_counter(factor.id, "sign_count", 4)
    assert await store.advance_counter(factor.id, "sign_count", 6)
    assert not await store.advance_counter(factor.id, "sign_count", 6)
    totp = await store.add_factor("u1", "totp", {"secret": "s"}, label="t", now=NOW)
    assert await store.advance_counter(totp.id, "totp_step", 100)
    assert not await store.advance_counter(totp.id, "totp_step", 100)
    assert not await store.advance_counter(totp.id, "totp_step", 99)
    got = await store.get_factor(factor.id)
    assert got is not None
    assert got.data["sign_count"] == 6
    await store.update_factor(factor.id, data={"sign_count": 1})
    assert not await store.advance_counter(factor.id, "sign_count", 6)
    assert not await store.advance_counter("no-such-factor", "sign_count", 10)


async def test_plain_integer_fields_are_not_counters(store: SQLStore) -> None:
    """Only advanced fields are counters: other integers in data can go down."""
    totp = await store.add_factor("u1", "totp", {"period": 30, "digits": 6}, label="t", now=NOW)
    await store.update_factor(totp.id, data={"period": 15, "digits": 6})
    got = await store.get_factor(totp.id)
    assert got is not None
    assert got.data == {"period": 15, "digits": 6}


async def test_counter_floor_is_the_larger_of_data_and_last_value(store: SQLStore) -> None:
    key = await store.add_factor(
        "u1", "webauthn", {"sign_count": 5}, label="k", credential_id="cf", now=NOW
    )
    assert await store.advance_counter(key.id, "sign_count", 7)
    await store.update_factor(key.id, data={"sign_count": 20})  # written by the verifier
    assert not await store.advance_counter(key.id, "sign_count", 15)
    assert await store.advance_counter(key.id, "sign_count", 21)
    await store.update_factor(key.id, data={"sign_count": 3})  # a stale write
    got = await store.get_factor(key.id)
    assert got is not None
    assert got.data["sign_count"] == 21
    assert not await store.advance_counter(key.id, "sign_count", 21)
    with pytest.raises(StoreError):
        await store.advance_counter(key.id, "sign_count'; DROP TABLE factors; --", 99)


async def test_concurrent_counter_claims_have_one_winner(
    store: SQLStore, other_store: SQLStore
) -> None:
    """The same TOTP step presented twice at once is accepted once (RFC 6238 §5.2)."""
    totp = await store.add_factor("u1", "totp", {"secret": "s"}, label="t", now=NOW)
    results = await asyncio.gather(
        *(s.advance_counter(totp.id, "totp_step", 42) for s in (store, other_store) * 3)
    )
    assert sorted(results) == [False] * 5 + [True]


async def test_record_failure_counts(store: SQLStore, other_store: SQLStore) -> None:
    assert (await store.failure_state("u1", "password")).count == 0
    assert await store.record_failure("u1", "password", now=NOW) == 1
    counts = await asyncio.gather(
        *(s.record_failure("u1", "password", now=NOW + 1) for s in (store, other_store) * 2)
    )
    assert sorted(counts) == [2, 3, 4, 5]
    assert await store.record_failure("u1", "totp", now=NOW) == 1
    await store.set_blocked_until("u1", "password", NOW + 300)
    state = await store.failure_state("u1", "password")
    assert (state.count, state.blocked_until, state.last_failure_at) == (5, NOW + 300, NOW + 1)
    await store.reset_failures("u1", "password")
    assert (await store.failure_state("u1", "password")).count == 0
    assert (await store.failure_state("u1", "totp")).count == 1
    await store.set_blocked_until("u2", "password", NOW + 60)
    assert (await store.failure_state("u2", "password")).blocked_until == NOW + 60


async def test_audit_tail(store: SQLStore) -> None:
    for n in range(5):
        await store.append_audit({"event": "login", "n": n}, now=NOW + n)
    tail = await store.tail_audit(3)
    assert [e["n"] for e in tail] == [2, 3, 4]
    assert tail[-1]["at"] == NOW + 4
    assert tail[0]["seq"] < tail[1]["seq"] < tail[2]["seq"]


async def test_keys_move_forward_only(store: SQLStore) -> None:
    record = KeyRecord("k1", "RS256", {"kty": "RSA"}, b"\x01secret", "next", NOW)
    await store.add_key(record)
    await store.set_key_state("k1", "active", now=NOW + 1)
    await store.set_key_state("k1", "next", now=NOW + 2)
    (got,) = await store.list_keys()
    assert (got.state, got.activated_at, got.private_enc) == ("active", NOW + 1, b"\x01secret")
    await store.set_key_state("k1", "retired", now=NOW + 3)
    await store.set_key_state("k1", "active", now=NOW + 4)
    (got,) = await store.list_keys()
    assert (got.state, got.retired_at) == ("retired", NOW + 3)
    with pytest.raises(StoreError):
        await store.add_key(record)
    with pytest.raises(StoreError):
        await store.set_key_state("k1", "bogus", now=NOW)
