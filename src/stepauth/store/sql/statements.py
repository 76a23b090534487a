"""Prebuilt SQL statements of the store (built once: constructing a statement per call
costs several times more CPU than executing it). Parameters are ``b_*`` bind names.

Dialect-specific upserts (``INSERT … ON CONFLICT``) come from :func:`upserts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    case,
    cast,
    delete,
    false,
    func,
    insert,
    null,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import BindParameter

from stepauth.store.schema import (
    audit,
    factor_counters,
    factors,
    failures,
    items,
    sessions,
    users,
)

__all__ = ["FailureClaims", "Upserts", "failure_claims", "upserts"]

_kind: BindParameter[Any] = bindparam("b_kind")
_key: BindParameter[Any] = bindparam("b_key")
_now: BindParameter[Any] = bindparam("b_now")
_item = and_(items.c.kind == _kind, items.c.key == _key)
_usable = and_(
    items.c.consumed_at.is_(None),
    or_(items.c.expires_at.is_(None), items.c.expires_at > _now),
    items.c.revoked == false(),
)

GET_ITEM = select(items).where(_item, _usable)
#: Whether an item (or either of two) is live: one statement for two lookups.
LIVE_ITEM = select(items.c.kind).where(_item, _usable).limit(1)
LIVE_ITEM_OF_TWO = (
    select(items.c.kind)
    .where(
        or_(
            _item,
            and_(items.c.kind == bindparam("b_kind2"), items.c.key == bindparam("b_key2")),
        ),
        _usable,
    )
    .limit(1)
)
#: The single-use claim: one atomic statement, never read-then-write.
CLAIM_ITEM = (
    update(items)
    .where(_item, _usable)
    .values(consumed_at=_now)
    .returning(items.c.payload, items.c.grant_id)
)
LOOK_ITEM = select(
    items.c.payload, items.c.grant_id, items.c.consumed_at, items.c.expires_at, items.c.revoked
).where(_item)
DELETE_ITEM = delete(items).where(_item)
REVOKE_GRANT = (
    update(items)
    .where(items.c.grant_id == bindparam("b_grant"), items.c.revoked == false())
    .values(revoked=True)
)
REVOKE_SID = (
    update(items)
    .where(items.c.sid == bindparam("b_sid"), items.c.revoked == false())
    .values(revoked=True)
)
PURGE_ITEMS = delete(items).where(items.c.expires_at.is_not(None), items.c.expires_at <= _now)

# Purge in bounded batches (:meth:`SQLStore.purge`): each statement deletes at most
# ``b_limit`` rows picked by a subquery; on PostgreSQL rows another purge has locked are
# skipped (``FOR UPDATE SKIP LOCKED``), so several instances purging at once never wait on
# each other, and a row already deleted by another is simply not deleted twice.
_limit = bindparam("b_limit", type_=Integer)
_cutoff = bindparam("b_cutoff", type_=Float)
_stale = bindparam("b_stale", type_=Float)
PURGE_ITEMS_BATCH = delete(items).where(
    tuple_(items.c.kind, items.c.key).in_(
        select(items.c.kind, items.c.key)
        .where(items.c.expires_at.is_not(None), items.c.expires_at <= _cutoff)
        .limit(_limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
)
PURGE_SESSIONS_BATCH = delete(sessions).where(
    sessions.c.id.in_(
        select(sessions.c.id)
        .where(or_(sessions.c.idle_expires_at <= _now, sessions.c.absolute_expires_at <= _now))
        .limit(_limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
)
#: Per-address throttle rows (``ip:`` prefix, one per address and window) whose window
#: ended before ``b_stale`` and that block nothing; per-account rows are never purged
#: (their counts drive the growing lockout).
PURGE_FAILURES_BATCH = delete(failures).where(
    tuple_(failures.c.user_id, failures.c.factor_type).in_(
        select(failures.c.user_id, failures.c.factor_type)
        .where(
            failures.c.user_id.startswith("ip:", autoescape=True),
            failures.c.factor_type.startswith("ip:", autoescape=True),
            or_(failures.c.last_failure_at.is_(None), failures.c.last_failure_at <= _stale),
            or_(failures.c.blocked_until.is_(None), failures.c.blocked_until <= _now),
        )
        .limit(_limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
)

INSERT_USER = insert(users)
USER_BY_ID = select(users).where(users.c.id == bindparam("b_id"))
USER_BY_NAME = select(users).where(users.c.username == bindparam("b_username"))
ALL_USERS = select(users).order_by(users.c.username)

_session = sessions.c.id == bindparam("b_id")
_live = and_(sessions.c.idle_expires_at > _now, sessions.c.absolute_expires_at > _now)
INSERT_SESSION = insert(sessions)
GET_SESSION = select(sessions).where(_session, _live)
#: Rotation: whoever deletes the old row wins (DELETE … RETURNING).
TAKE_SESSION = delete(sessions).where(_session, _live).returning(*sessions.c)
_slid = _now + sessions.c.idle_timeout
TOUCH_SESSION = (
    update(sessions)
    .where(_session, _live)
    .values(
        last_seen_at=_now,
        idle_expires_at=case(
            (_slid < sessions.c.absolute_expires_at, _slid),
            else_=sessions.c.absolute_expires_at,
        ),
    )
)
DELETE_SESSION = delete(sessions).where(_session)
_other_sessions = (
    sessions.c.user_id == bindparam("b_user"),
    or_(bindparam("b_except", type_=String).is_(None), sessions.c.id != bindparam("b_except")),
)
USER_SESSIONS = (
    select(sessions)
    .where(sessions.c.user_id == bindparam("b_user"), _live)
    .order_by(sessions.c.created_at)
)
END_USER_SESSIONS = (
    delete(sessions).where(*_other_sessions).returning(sessions.c.id, sessions.c.sid)
)
END_USER_SESSION = (
    delete(sessions)
    .where(sessions.c.user_id == bindparam("b_user"), sessions.c.sid == bindparam("b_sid"))
    .returning(sessions.c.sid)
)
REVOKE_SIDS = (
    update(items)
    .where(items.c.sid.in_(bindparam("b_sids", expanding=True)), items.c.revoked == false())
    .values(revoked=True)
)

_factor_order = (factors.c.created_at, factors.c.id)
FACTORS_OF_USER = (
    select(factors).where(factors.c.user_id == bindparam("b_user")).order_by(*_factor_order)
)
FACTOR_BY_ID = select(factors).where(factors.c.id == bindparam("b_id"))
FACTOR_BY_CREDENTIAL = select(factors).where(factors.c.credential_id == bindparam("b_credential"))
COUNTERS_OF = select(factor_counters).where(
    factor_counters.c.factor_id.in_(bindparam("b_ids", expanding=True))
)
INSERT_FACTOR = insert(factors)

FAILURE_STATE = select(failures).where(
    failures.c.user_id == bindparam("b_user"), failures.c.factor_type == bindparam("b_type")
)
RESET_FAILURES = delete(failures).where(
    failures.c.user_id == bindparam("b_user"), failures.c.factor_type == bindparam("b_type")
)

INSERT_AUDIT = insert(audit)


@dataclass(frozen=True, slots=True)
class Upserts:
    """The dialect's ``INSERT … ON CONFLICT`` statements."""

    put_item: Any
    add_item: Any
    record_failure: Any
    set_blocked_until: Any
    advance_counter: Any


def upserts(dialect: str) -> Upserts:
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert

    item = make(items)
    item_columns = (
        "payload",
        "grant_id",
        "user_id",
        "expires_at",
        "consumed_at",
        "revoked",
        "sid",
    )
    put_item = item.on_conflict_do_update(
        index_elements=["kind", "key"],
        set_={
            **{c: getattr(item.excluded, c) for c in item_columns},
            "created_at": item.excluded.created_at,
        },
    )

    # insert-if-absent: the conflict path only overwrites an expired item (one statement;
    # no row returned means a live item already held the key)
    fresh = make(items).values(
        kind=_kind,
        key=_key,
        payload=bindparam("b_payload", type_=items.c.payload.type),
        grant_id=None,
        user_id=None,
        expires_at=bindparam("b_expires", type_=items.c.expires_at.type),
        consumed_at=None,
        revoked=False,
        created_at=_now,
        sid=None,
    )
    add_item = fresh.on_conflict_do_update(
        index_elements=["kind", "key"],
        set_={
            **{c: getattr(fresh.excluded, c) for c in item_columns},
            "created_at": fresh.excluded.created_at,
        },
        where=and_(items.c.expires_at.is_not(None), items.c.expires_at <= _now),
    ).returning(items.c.kind)

    failure = make(failures)
    record_failure = failure.on_conflict_do_update(
        index_elements=["user_id", "factor_type"],
        set_={"count": failures.c.count + 1, "last_failure_at": failure.excluded.last_failure_at},
    ).returning(failures.c.count)
    blocked = make(failures)
    set_blocked_until = blocked.on_conflict_do_update(
        index_elements=["user_id", "factor_type"],
        set_={"blocked_until": blocked.excluded.blocked_until},
    )

    # advance only if greater than both the counter and the factor's own data[field]
    # (the floor it was registered with), and only for a factor that exists: one statement
    if dialect == "postgresql":
        name = cast(bindparam("b_field", type_=Text), Text)
        raw = factors.c.data.op("->")(name)
        floor: Any = case(
            (func.jsonb_typeof(raw) == "number", cast(factors.c.data.op("->>")(name), BigInteger)),
            else_=None,
        )
    else:
        path: Any = bindparam("b_path")
        floor = case(
            (
                func.json_type(factors.c.data, path) == "integer",
                func.json_extract(factors.c.data, path),
            ),
            else_=None,
        )
    value = cast(bindparam("b_value", type_=BigInteger), BigInteger)
    source = select(factors.c.id, cast(bindparam("b_field", type_=String), String), value).where(
        factors.c.id == bindparam("b_factor"), or_(floor.is_(None), floor < value), true()
    )
    advance = make(factor_counters).from_select(["factor_id", "field", "value"], source)
    advance_counter = advance.on_conflict_do_update(
        index_elements=["factor_id", "field"],
        set_={"value": advance.excluded.value},
        where=factor_counters.c.value < advance.excluded.value,
    ).returning(factor_counters.c.value)
    return Upserts(put_item, add_item, record_failure, set_blocked_until, advance_counter)


@dataclass(frozen=True, slots=True)
class FailureClaims:
    """The lockout's conditional counters: each one atomic statement."""

    claim: Any
    raise_block: Any
    release: Any
    settle: Any


def failure_claims(dialect: str) -> FailureClaims:
    """Statements that count an attempt before it is verified (PSD2 RTS Art. 4(3)(b))."""
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    user = bindparam("b_user", type_=String)
    kind = bindparam("b_type", type_=String)
    now = bindparam("b_now", type_=Float)
    hold = bindparam("b_hold", type_=Float)
    every = bindparam("b_every", type_=Integer)
    row = and_(failures.c.user_id == user, failures.c.factor_type == kind)

    # count one attempt unless a block is in force; the attempt that reaches a multiple of
    # b_every blocks until b_hold (no row returned: refused, nothing counted)
    first = make(failures).values(
        user_id=user,
        factor_type=kind,
        count=1,
        blocked_until=bindparam("b_first", type_=Float),
        last_failure_at=now,
    )
    counted = failures.c.count + 1
    claim = first.on_conflict_do_update(
        index_elements=["user_id", "factor_type"],
        set_={
            "count": counted,
            "last_failure_at": now,
            "blocked_until": case((counted % every == 0, hold), else_=null()),
        },
        where=or_(failures.c.blocked_until.is_(None), failures.c.blocked_until <= now),
    ).returning(failures.c.count.label("claimed"))

    # a block only ever grows (a later, shorter one never replaces it)
    blocked = make(failures).values(
        user_id=user, factor_type=kind, count=0, blocked_until=hold, last_failure_at=None
    )
    raise_block = blocked.on_conflict_do_update(
        index_elements=["user_id", "factor_type"],
        set_={"blocked_until": blocked.excluded.blocked_until},
        where=or_(
            failures.c.blocked_until.is_(None),
            failures.c.blocked_until < blocked.excluded.blocked_until,
        ),
    )
    # give back one counted attempt (it succeeded), lifting the block it reached
    release = (
        update(failures)
        .where(row, failures.c.count > 0)
        .values(count=failures.c.count - 1, blocked_until=None)
    )
    # a success: forget the count and any block shorter than b_hold (kept: a longer one)
    settle = delete(failures).where(
        row, or_(failures.c.blocked_until.is_(None), failures.c.blocked_until < hold)
    )
    return FailureClaims(claim, raise_block, release, settle)
