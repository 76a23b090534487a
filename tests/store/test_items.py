"""Single-use and expiring items: put/get/consume/revoke (code reuse: RFC 6749 §4.1.2)."""

from __future__ import annotations

import asyncio

from stepauth.store import SQLStore

NOW = 1_800_000_000.0


async def test_put_get_roundtrip(store: SQLStore) -> None:
    await store.put("par", "urn:1", {"client_id": "a", "n": [1, 2]}, expires_at=NOW + 60)
    item = await store.get("par", "urn:1", now=NOW)
    assert item is not None
    assert item.payload == {"client_id": "a", "n": [1, 2]}
    assert item.expires_at == NOW + 60
    assert await store.get("par", "urn:other", now=NOW) is None
    assert await store.get("code", "urn:1", now=NOW) is None


async def test_get_hides_expired_items(store: SQLStore) -> None:
    await store.put("interaction", "i1", {"x": 1}, expires_at=NOW + 10)
    assert await store.get("interaction", "i1", now=NOW + 9.5) is not None
    assert await store.get("interaction", "i1", now=NOW + 10) is None


async def test_items_without_expiry_never_expire(store: SQLStore) -> None:
    await store.put("txn", "t1", {"x": 1}, expires_at=None)
    assert await store.get("txn", "t1", now=NOW + 10**9) is not None
    assert (await store.consume("txn", "t1", now=NOW + 10**9)).status == "ok"


async def test_consume_once_then_replayed(store: SQLStore) -> None:
    """RFC 6749 §4.1.2: a code is single use; the replay returns the grant to revoke."""
    await store.put("code", "c1", {"sub": "u1"}, expires_at=NOW + 60, grant_id="g1")
    first = await store.consume("code", "c1", now=NOW)
    assert first.status == "ok"
    assert first.payload == {"sub": "u1"}
    assert first.grant_id == "g1"
    second = await store.consume("code", "c1", now=NOW + 1)
    assert second.status == "replayed"
    assert second.grant_id == "g1"
    assert second.payload == {"sub": "u1"}
    assert await store.get("code", "c1", now=NOW + 1) is None


async def test_consume_expired_and_missing(store: SQLStore) -> None:
    await store.put("code", "c2", {"sub": "u1"}, expires_at=NOW + 60)
    assert (await store.consume("code", "c2", now=NOW + 60)).status == "expired"
    assert (await store.consume("code", "nope", now=NOW)).status == "missing"
    await store.delete("code", "c2")
    assert (await store.consume("code", "c2", now=NOW)).status == "missing"


async def test_concurrent_consumes_have_exactly_one_winner(
    store: SQLStore, other_store: SQLStore
) -> None:
    """Two instances redeem one code at the same moment: exactly one gets it."""
    await store.put("code", "race", {"sub": "u1"}, expires_at=NOW + 60, grant_id="g")
    results = await asyncio.gather(
        store.consume("code", "race", now=NOW),
        other_store.consume("code", "race", now=NOW),
        store.consume("code", "race", now=NOW),
        other_store.consume("code", "race", now=NOW),
    )
    statuses = sorted(r.status for r in results)
    assert statuses == ["ok", "replayed", "replayed", "replayed"]


async def test_replayed_code_revokes_grant(store: SQLStore) -> None:
    """OIDC Core §5.5.1.1: a replayed code lets the caller revoke every item of its grant."""
    await store.put("code", "c3", {"sub": "u"}, expires_at=NOW + 60, grant_id="g3")
    await store.consume("code", "c3", now=NOW)
    await store.put("refresh_token", "r3", {"sub": "u"}, expires_at=NOW + 900, grant_id="g3")
    await store.put("access_token", "a3", {"sub": "u"}, expires_at=NOW + 300, grant_id="g3")
    await store.put("access_token", "other", {"sub": "u"}, expires_at=NOW + 300, grant_id="g4")
    replay = await store.consume("code", "c3", now=NOW + 5)
    assert replay.status == "replayed"
    assert replay.grant_id is not None
    assert await store.revoke_grant(replay.grant_id) == 3
    assert await store.get("access_token", "a3", now=NOW + 6) is None
    assert (await store.consume("refresh_token", "r3", now=NOW + 6)).status == "missing"
    assert await store.get("access_token", "other", now=NOW + 6) is not None
    assert await store.revoke_grant("g3") == 0
    assert (await store.consume("code", "c3", now=NOW + 7)).status == "replayed"


async def test_put_replaces_and_resets_item(store: SQLStore) -> None:
    await store.put("pending", "p", {"v": 1}, expires_at=NOW + 60)
    await store.consume("pending", "p", now=NOW)
    await store.put("pending", "p", {"v": 2}, expires_at=NOW + 60)
    got = await store.consume("pending", "p", now=NOW)
    assert got.status == "ok"
    assert got.payload == {"v": 2}


async def test_purge_expired(store: SQLStore) -> None:
    await store.put("code", "old", {}, expires_at=NOW - 1)
    await store.put("code", "new", {}, expires_at=NOW + 60)
    assert await store.purge_expired(now=NOW) == 1
    assert (await store.consume("code", "old", now=NOW - 10)).status == "missing"
    assert await store.get("code", "new", now=NOW) is not None


async def test_sql_store_implements_the_protocol(store: SQLStore) -> None:
    from stepauth.store import Store

    assert isinstance(store, Store)
    typed: Store = store  # checked by mypy as well
    assert await typed.get("code", "none", now=NOW) is None


async def test_revoke_session_items(store: SQLStore) -> None:
    """Logout: every item tagged with the session's sid becomes unusable in one statement."""
    await store.put("code", "c", {}, expires_at=NOW + 60, grant_id="g1", sid="s1")
    await store.put("refresh_token", "r", {}, expires_at=NOW + 900, grant_id="g2", sid="s1")
    await store.put("access_token", "a", {}, expires_at=NOW + 300, grant_id="g2", sid="s1")
    await store.put("refresh_token", "other", {}, expires_at=NOW + 900, grant_id="g3", sid="s2")
    assert await store.revoke_session_items("s1") == 3
    assert (await store.consume("code", "c", now=NOW)).status == "missing"
    assert (await store.consume("refresh_token", "r", now=NOW)).status == "missing"
    assert await store.get("access_token", "a", now=NOW) is None
    assert await store.get("refresh_token", "other", now=NOW) is not None
    assert await store.revoke_session_items("s1") == 0


async def test_session_sid_survives_rotation(store: SQLStore) -> None:
    session = await store.create_session("u", [], now=NOW, idle_timeout=60, absolute_timeout=600)
    assert session.sid
    rotated = await store.rotate_session(session.id, append_events=[], now=NOW + 1)
    assert rotated is not None
    assert rotated.id != session.id
    assert rotated.sid == session.sid
    assert await store.get_session(rotated.id, now=NOW + 2) == rotated
    other = await store.create_session("u", [], now=NOW, idle_timeout=60, absolute_timeout=600)
    assert other.sid != session.sid


async def test_any_live_is_get_over_several_items(store: SQLStore) -> None:
    """``any_live`` answers as ``get`` would for any of the items (two per statement)."""
    await store.put("revoked_grant", "g1", {}, expires_at=NOW + 60)
    await store.put("ended_sid", "s1", {}, expires_at=NOW + 10)
    await store.put("code", "c1", {}, expires_at=NOW + 60)
    assert await store.any_live([("revoked_grant", "g1")], now=NOW)
    assert await store.any_live([("revoked_grant", "g0"), ("ended_sid", "s1")], now=NOW)
    assert await store.any_live([("ended_sid", "s1"), ("revoked_grant", "g0")], now=NOW)
    assert not await store.any_live([("revoked_grant", "g0"), ("ended_sid", "s0")], now=NOW)
    assert not await store.any_live([("ended_sid", "g1"), ("revoked_grant", "s1")], now=NOW)
    assert not await store.any_live([], now=NOW)
    # expired, consumed and revoked items are not live, as for get
    assert not await store.any_live([("revoked_grant", "g0"), ("ended_sid", "s1")], now=NOW + 10)
    assert (await store.consume("revoked_grant", "g1", now=NOW)).status == "ok"
    assert not await store.any_live([("revoked_grant", "g1")], now=NOW)
    await store.put("code", "c2", {}, expires_at=NOW + 60, grant_id="g2")
    await store.revoke_grant("g2")
    assert not await store.any_live([("code", "c2")], now=NOW)
    # past the first pair
    many = [("x", "1"), ("x", "2"), ("x", "3"), ("code", "c1"), ("x", "4")]
    assert await store.any_live(many, now=NOW)
    assert not await store.any_live(many[:3] + many[4:], now=NOW)
