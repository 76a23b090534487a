"""A stolen copy of the database is not a live session nor a second factor.

Session ids are stored as keyed hashes, factor secrets sealed to their row
(:mod:`stepauth.store.at_rest`); revision 0004 converts what older revisions stored.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
import stat
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from stepauth.errors import ConfigError
from stepauth.keying import derive_key
from stepauth.store import SQLStore, StoreError, open_store
from stepauth.store.at_rest import AtRest
from stepauth.store.routed import EPHEMERAL_KINDS, RoutedStore
from stepauth.store.sql import sql_store
from tests.helpers.old_rows import HEAD, insert_factor, insert_session
from tests.helpers.stolen import raw_rows, sqlite_bytes
from tests.store.conftest import SECRET

NOW = 1.0e9
SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # RFC 6238 Appendix B seed, base32
OTHER_SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PHONE = "+15550100123"


async def _session(store: Any, user_id: str = "u1") -> Any:
    return await store.create_session(user_id, [], now=NOW, idle_timeout=600, absolute_timeout=3600)


def _rows(conn: Connection, sql: str, **params: Any) -> list[Any]:
    return list(conn.execute(text(sql), params).all())


async def _stored_session_ids(store: SQLStore) -> list[str]:
    rows = await store.run_sync(lambda conn: _rows(conn, "SELECT id FROM sessions"))
    return [row[0] for row in rows]


async def test_a_copied_database_holds_no_session_id_and_no_factor_secret(
    store: SQLStore, store_url: str
) -> None:
    session = await _session(store)
    rotated = await store.rotate_session(session.id, append_events=[{"at": NOW}], now=NOW + 1)
    assert rotated is not None
    user = await store.create_user("alice", None)
    totp = await store.add_factor(user.id, "totp", {"secret": SEED}, label="phone", now=NOW)
    await store.add_factor(user.id, "oob", {"channel": "sms", "to": PHONE}, label="sms", now=NOW)
    await store.put("totp_enrolment", "pending", {"secret": OTHER_SEED}, expires_at=NOW + 600)

    dump = raw_rows(store_url)
    for secret in (session.id, rotated.id, SEED, OTHER_SEED, PHONE):
        assert secret not in dump
    if store_url.startswith("sqlite"):  # nor anywhere in the files, free pages and WAL included
        copied = sqlite_bytes(store_url)
        for secret in (session.id, rotated.id, SEED, OTHER_SEED, PHONE):
            assert secret.encode() not in copied

    # the store itself still has them all
    assert (await store.get_session(rotated.id, now=NOW + 2)) is not None
    factors = {f.kind: f for f in await store.list_factors(user.id)}
    assert factors["totp"].data["secret"] == SEED
    assert factors["oob"].data["to"] == PHONE
    assert (await store.get_factor(totp.id)).data["secret"] == SEED  # type: ignore[union-attr]
    pending = await store.consume("totp_enrolment", "pending", now=NOW)
    assert pending.payload == {"secret": OTHER_SEED}


async def test_a_stored_session_id_is_not_a_session(store: SQLStore) -> None:
    """What a reader copies out of ``sessions.id`` opens nothing: it is hashed again."""
    session = await _session(store)
    (stored,) = await _stored_session_ids(store)
    assert stored != session.id
    assert await store.get_session(stored, now=NOW) is None
    assert await store.rotate_session(stored, append_events=[], now=NOW) is None
    await store.delete_session(stored)
    assert await store.get_session(session.id, now=NOW) is not None
    # every use by the cookie value keeps working: rotation, touch, ending
    rotated = await store.rotate_session(session.id, append_events=[], now=NOW + 1)
    assert rotated is not None
    assert rotated.sid == session.sid
    await store.touch_session(rotated.id, now=NOW + 2)
    other = await _session(store)
    assert await store.end_user_sessions("u1", except_session_id=rotated.id) == [other.sid]
    assert await store.get_session(rotated.id, now=NOW + 3) is not None
    await store.delete_session(rotated.id)
    assert await store.get_session(rotated.id, now=NOW + 3) is None


async def test_a_sealed_seed_moved_to_another_users_factor_does_not_open(store: SQLStore) -> None:
    """A writer with the database but not the secret swaps rows: the seed it moved does not
    open under the other row, so the factor is unusable (no secret), not another's."""
    mallory = await store.create_user("mallory", None)
    alice = await store.create_user("alice", None)
    known = await store.add_factor(mallory.id, "totp", {"secret": SEED}, label="m", now=NOW)
    target = await store.add_factor(alice.id, "totp", {"secret": OTHER_SEED}, label="a", now=NOW)

    def copy_data(conn: Connection) -> None:
        (data,) = conn.execute(text("SELECT data FROM factors WHERE id = :id"), {"id": known.id})
        conn.execute(
            text("UPDATE factors SET data = :data WHERE id = :id"),
            {"data": data[0] if isinstance(data[0], str) else _json(data[0]), "id": target.id},
        )

    await store.run_sync(copy_data, write=True)
    swapped = await store.get_factor(target.id)
    assert swapped is not None
    assert "secret" not in swapped.data

    def move_row(conn: Connection) -> None:
        conn.execute(
            text("UPDATE factors SET user_id = :user WHERE id = :id"),
            {"user": alice.id, "id": known.id},
        )

    await store.run_sync(move_row, write=True)
    moved = await store.get_factor(known.id)
    assert moved is not None
    assert moved.user_id == alice.id
    assert "secret" not in moved.data


async def test_a_totp_seed_written_in_clear_is_refused(store: SQLStore) -> None:
    """Without the secret a writer can only put a seed in clear, and that is not accepted."""
    alice = await store.create_user("alice", None)
    factor = await store.add_factor(alice.id, "totp", {"secret": OTHER_SEED}, label="a", now=NOW)
    planted = _json({"secret": SEED, "digits": 6})
    await store.run_sync(
        lambda conn: conn.execute(
            text("UPDATE factors SET data = :data WHERE id = :id"),
            {"data": planted, "id": factor.id},
        ),
        write=True,
    )
    loaded = await store.get_factor(factor.id)
    assert loaded is not None
    assert "secret" not in loaded.data
    assert loaded.data["digits"] == 6


async def test_a_store_without_the_secret_refuses_sessions_and_factor_secrets(
    store: SQLStore, store_url: str
) -> None:
    alice = await store.create_user("alice", None)
    await store.add_factor(alice.id, "totp", {"secret": SEED}, label="a", now=NOW)
    keyless = await open_store(store_url)
    try:
        with pytest.raises(StoreError):
            await _session(keyless)
        with pytest.raises(StoreError):
            await keyless.get_session("anything", now=NOW)
        with pytest.raises(StoreError):
            await keyless.add_factor(alice.id, "totp", {"secret": SEED}, label="b", now=NOW)
        with pytest.raises(StoreError):
            await keyless.put("totp_enrolment", "p", {"secret": SEED}, expires_at=NOW + 60)
        (factor,) = await keyless.list_factors(alice.id)
        assert "secret" not in factor.data  # listed, but its secret stays closed
        # a factor without a secret needs no key
        await keyless.add_factor(alice.id, "recovery", {"keys": []}, label="r", now=NOW)
        with pytest.raises(ConfigError):  # the Provider's secret must be the store's
            store.protect(AtRest(b"another-secret-" + b"x" * 32))
        keyless.protect(AtRest(SECRET))
        opened = {f.kind: f for f in await keyless.list_factors(alice.id)}
        assert opened["totp"].data["secret"] == SEED
    finally:
        await keyless.close()


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


async def _at_0003(store_url: str, *, secret: bytes | None) -> SQLStore:
    store = sql_store(store_url, secret=secret)
    await store.migrate("0003")
    return store


async def test_migration_0004_keeps_sessions_and_totp_working(store_url: str) -> None:
    """A database at revision 0003 (cookie values in ``sessions.id``, seeds in clear) is
    converted with the secret: the session goes on under its cookie, TOTP under its seed."""
    cookie = "cookie-of-0003-" + "c" * 30
    store = await _at_0003(store_url, secret=SECRET)
    try:

        def rows_of_0003(conn: Connection) -> None:
            conn.execute(
                text(
                    "INSERT INTO users (id, username, created_at, disabled)"
                    " VALUES ('u1', 'alice', :now, false)"
                ),
                {"now": NOW},
            )
            insert_session(conn, cookie, "u1", "sid-1")
            insert_factor(conn, "f-totp", "u1", "totp", {"secret": SEED, "digits": 6})
            insert_factor(conn, "f-oob", "u1", "oob", {"channel": "sms", "to": PHONE})
            conn.execute(
                text(
                    "INSERT INTO items (kind, key, payload, created_at, revoked)"
                    " VALUES ('totp_enrolment', 'p', :payload, :now, false)"
                ),
                {"payload": _json({"secret": OTHER_SEED}), "now": NOW},
            )

        await store.run_sync(rows_of_0003, write=True)
        await store.migrate()
        versions = await store.run_sync(
            lambda conn: [r[0] for r in _rows(conn, "SELECT version_num FROM alembic_version")]
        )
        assert versions == [HEAD]
        dump = raw_rows(store_url)
        for secret in (cookie, SEED, OTHER_SEED, PHONE):
            assert secret not in dump
        session = await store.get_session(cookie, now=NOW)
        assert session is not None
        assert session.sid == "sid-1"
        factors = {f.kind: f for f in await store.list_factors("u1")}
        assert factors["totp"].data == {"secret": SEED, "digits": 6}
        assert factors["oob"].data["to"] == PHONE
        assert await store.get("totp_enrolment", "p", now=NOW) is None  # started again
    finally:
        await store.close()


async def test_migration_0004_without_the_secret_keeps_sessions_and_stops(
    store_url: str,
) -> None:
    """Without the secret a stored cookie value cannot be hashed; ending the session would
    sign its user out because a migration ran in the wrong shell: it stops, changes
    nothing, and with the secret the session goes on."""
    cookie = "cookie-of-0003-" + "d" * 30
    store = await _at_0003(store_url, secret=None)
    try:
        await store.run_sync(lambda conn: insert_session(conn, cookie, "u1", "sid-1"), write=True)
        with pytest.raises(StoreError) as caught:
            await store.migrate()
        assert "stepauth serve" in str(caught.value)
        assert await _stored_session_ids(store) == [cookie]
        store.protect(AtRest(SECRET))
        await store.migrate()
        assert cookie not in raw_rows(store_url)
        session = await store.get_session(cookie, now=NOW)
        assert session is not None
        assert session.sid == "sid-1"
    finally:
        await store.close()


async def test_a_new_database_migrates_without_the_secret(store_url: str) -> None:
    store = await open_store(store_url)
    try:
        versions = await store.run_sync(
            lambda conn: [r[0] for r in _rows(conn, "SELECT version_num FROM alembic_version")]
        )
        assert versions == [HEAD]
    finally:
        await store.close()


async def test_migration_0004_without_the_secret_stops_on_seeds_in_clear(store_url: str) -> None:
    """A seed in clear cannot be sealed without the secret, and ending the factor would lock
    its owner out: the migration stops, naming the way to run it, and changes nothing."""
    store = await _at_0003(store_url, secret=None)
    try:
        await store.run_sync(
            lambda conn: insert_factor(conn, "f1", "u1", "totp", {"secret": SEED}), write=True
        )
        with pytest.raises(StoreError) as caught:
            await store.migrate()
        assert "stepauth serve" in str(caught.value)
        versions = await store.run_sync(
            lambda conn: [r[0] for r in _rows(conn, "SELECT version_num FROM alembic_version")]
        )
        assert versions == ["0003"]
        store.protect(AtRest(SECRET))
        await store.migrate()  # with the secret it goes through
        (factor,) = await store.list_factors("u1")
        assert factor.data["secret"] == SEED
    finally:
        await store.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_sqlite_database_wal_and_shm_are_created_private(tmp_path: Path) -> None:
    path = tmp_path / "private.db"
    previous = os.umask(0o022)  # the usual umask: files would be world-readable
    try:
        store = await open_store(f"sqlite+aiosqlite:///{path}", secret=SECRET)
        try:
            await _session(store)  # a write through the inline lane
            await store.create_user("alice", None)
            wal, shm = path.with_name("private.db-wal"), path.with_name("private.db-shm")
            assert wal.exists()
            assert shm.exists()
            assert [_mode(p) for p in (path, wal, shm)] == [0o600, 0o600, 0o600]
        finally:
            await store.close()
    finally:
        os.umask(previous)


async def test_an_existing_world_readable_sqlite_database_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (1)")
        db.commit()
        wal = path.with_name("shared.db-wal")
        for file in (path, wal):
            if file.exists():
                file.chmod(0o644)
        store = await open_store(f"sqlite+aiosqlite:///{path}", secret=SECRET)
        try:
            await store.create_user("alice", None)
            for file in (path, wal, path.with_name("shared.db-shm")):
                if file.exists():
                    assert _mode(file) == 0o600, file
        finally:
            await store.close()


async def test_routed_store_keeps_sessions_hashed_and_sealed_kinds_out_of_redis(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'routed.db'}"
    store = await open_store(url, redis_url=redis_url, redis_prefix=redis_prefix)
    try:
        assert isinstance(store, RoutedStore)
        with pytest.raises(StoreError):  # no secret yet: no session
            await _session(store)
        store.protect(AtRest(SECRET))  # as the Provider does at start
        session = await _session(store)
        await store.put("totp_enrolment", "p", {"secret": SEED}, expires_at=NOW + 600)
        await store.put("code", "c", {"sid": session.sid}, expires_at=NOW + 60, sid=session.sid)
        dump = raw_rows(url)
        assert session.id not in dump
        assert SEED not in dump
        assert (await store.get_session(session.id, now=NOW)) is not None
        assert (await store.get("totp_enrolment", "p", now=NOW)).payload == {"secret": SEED}  # type: ignore[union-attr]
        with pytest.raises(ConfigError):
            RoutedStore(store.store, store.ephemeral, EPHEMERAL_KINDS | {"totp_enrolment"})
    finally:
        await store.close()


@pytest.mark.parametrize("session_id", ["", "s", "sess-" + "x" * 200, "ünïcode-id"])
def test_a_session_id_is_stored_as_its_hmac_sha256_under_the_session_key(session_id: str) -> None:
    # RFC 2104 with SHA-256, under the key derived for session ids: stored sessions of
    # earlier versions still match
    key = derive_key(SECRET, b"stepauth session ids v1")
    expected = hmac.new(key, session_id.encode(), hashlib.sha256).hexdigest()
    assert AtRest(SECRET).session_key(session_id) == expected


def test_session_keys_do_not_share_state_between_lookups() -> None:
    # each lookup copies the keyed MAC: one id's bytes never leak into the next id's key
    at_rest = AtRest(SECRET)
    first = at_rest.session_key("a")
    at_rest.session_key("b")
    assert at_rest.session_key("a") == first
    assert at_rest.session_key("ab") != first
