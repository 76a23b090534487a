"""One object over the store's parts: :class:`StoreFacade`.

Each method forwards, explicitly and typed, to the part that owns it
(:mod:`stepauth.store.repositories`), so callers keep one ``store`` while each part stays
its own object: the SQL store composes its SQL repositories
(:class:`stepauth.store.sql.SQLStore`), the routed store the same repositories and a
Redis-or-SQL item store (:class:`stepauth.store.routed.RoutedStore`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stepauth.store.records import (
    Consumed,
    Factor,
    FailureState,
    Item,
    KeyRecord,
    Session,
    SessionSummary,
    User,
)
from stepauth.store.repositories import (
    AuditRepository,
    FactorRepository,
    FailureRepository,
    ItemStore,
    KeyRepository,
    SessionRepository,
    UserRepository,
)

__all__ = ["StoreFacade"]


class StoreFacade:
    """The :class:`~stepauth.store.adapter.Store` methods over one object per part;
    subclasses add ``protect`` and ``close``."""

    def __init__(
        self,
        *,
        items: ItemStore,
        users: UserRepository,
        sessions: SessionRepository,
        signing_keys: KeyRepository,
        factors: FactorRepository,
        failures: FailureRepository,
        audit: AuditRepository,
    ) -> None:
        self.items = items
        self.users = users
        self.sessions = sessions
        self.signing_keys = signing_keys
        self.factors = factors
        self.failures = failures
        self.audit = audit

    # ItemStore: self.items

    async def put(
        self,
        kind: str,
        key: str,
        payload: Mapping[str, Any],
        *,
        expires_at: float | None,
        grant_id: str | None = None,
        user_id: str | None = None,
        sid: str | None = None,
    ) -> None:
        await self.items.put(
            kind, key, payload, expires_at=expires_at, grant_id=grant_id, user_id=user_id, sid=sid
        )

    async def get(self, kind: str, key: str, *, now: float) -> Item | None:
        return await self.items.get(kind, key, now=now)

    async def any_live(self, wanted: Sequence[tuple[str, str]], *, now: float) -> bool:
        return await self.items.any_live(wanted, now=now)

    async def consume(self, kind: str, key: str, *, now: float) -> Consumed:
        return await self.items.consume(kind, key, now=now)

    async def add(
        self,
        kind: str,
        key: str,
        *,
        expires_at: float,
        now: float,
        data: Mapping[str, Any] | None = None,
    ) -> bool:
        return await self.items.add(kind, key, expires_at=expires_at, now=now, data=data)

    async def delete(self, kind: str, key: str) -> None:
        await self.items.delete(kind, key)

    async def revoke_grant(self, grant_id: str) -> int:
        return await self.items.revoke_grant(grant_id)

    async def revoke_session_items(self, sid: str) -> int:
        return await self.items.revoke_session_items(sid)

    # UserRepository: self.users

    async def create_user(self, username: str, password_hash: str | None) -> User:
        return await self.users.create_user(username, password_hash)

    async def get_user(self, user_id: str) -> User | None:
        return await self.users.get_user(user_id)

    async def get_user_by_username(self, username: str) -> User | None:
        return await self.users.get_user_by_username(username)

    async def list_users(self) -> list[User]:
        return await self.users.list_users()

    async def set_user_disabled(self, user_id: str, disabled: bool) -> None:
        await self.users.set_user_disabled(user_id, disabled)

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        await self.users.set_password_hash(user_id, password_hash)

    async def user_roles(self, user_id: str) -> frozenset[str]:
        return await self.users.user_roles(user_id)

    async def set_user_role(self, user_id: str, role: str, granted: bool) -> bool:
        return await self.users.set_user_role(user_id, role, granted)

    # SessionRepository: self.sessions

    async def list_user_sessions(self, user_id: str, *, now: float) -> list[SessionSummary]:
        return await self.sessions.list_user_sessions(user_id, now=now)

    async def create_session(
        self,
        user_id: str,
        events: Sequence[Mapping[str, Any]],
        *,
        now: float,
        idle_timeout: int,
        absolute_timeout: int,
    ) -> Session:
        return await self.sessions.create_session(
            user_id, events, now=now, idle_timeout=idle_timeout, absolute_timeout=absolute_timeout
        )

    async def get_session(self, session_id: str, *, now: float) -> Session | None:
        return await self.sessions.get_session(session_id, now=now)

    async def rotate_session(
        self, session_id: str, *, append_events: Sequence[Mapping[str, Any]], now: float
    ) -> Session | None:
        return await self.sessions.rotate_session(session_id, append_events=append_events, now=now)

    async def touch_session(self, session_id: str, *, now: float) -> None:
        await self.sessions.touch_session(session_id, now=now)

    async def delete_session(self, session_id: str) -> None:
        await self.sessions.delete_session(session_id)

    async def delete_user_sessions(
        self, user_id: str, *, except_session_id: str | None = None
    ) -> int:
        return await self.sessions.delete_user_sessions(
            user_id, except_session_id=except_session_id
        )

    async def end_user_sessions(
        self, user_id: str, *, except_session_id: str | None = None
    ) -> list[str]:
        return await self.sessions.end_user_sessions(user_id, except_session_id=except_session_id)

    async def end_user_session(self, user_id: str, sid: str) -> bool:
        return await self.sessions.end_user_session(user_id, sid)

    # KeyRepository: self.signing_keys

    async def add_key(self, key: KeyRecord) -> None:
        await self.signing_keys.add_key(key)

    async def list_keys(self) -> list[KeyRecord]:
        return await self.signing_keys.list_keys()

    async def set_key_state(self, kid: str, state: str, *, now: float) -> None:
        await self.signing_keys.set_key_state(kid, state, now=now)

    # FactorRepository: self.factors

    async def add_factor(
        self,
        user_id: str,
        kind: str,
        data: Mapping[str, Any],
        *,
        label: str,
        credential_id: str | None = None,
        now: float,
    ) -> Factor:
        return await self.factors.add_factor(
            user_id, kind, data, label=label, credential_id=credential_id, now=now
        )

    async def list_factors(self, user_id: str) -> list[Factor]:
        return await self.factors.list_factors(user_id)

    async def get_factor(self, factor_id: str) -> Factor | None:
        return await self.factors.get_factor(factor_id)

    async def get_factor_by_credential_id(self, credential_id: str) -> Factor | None:
        return await self.factors.get_factor_by_credential_id(credential_id)

    async def update_factor(
        self,
        factor_id: str,
        *,
        data: Mapping[str, Any] | None = None,
        label: str | None = None,
        last_used_at: float | None = None,
        disabled: bool | None = None,
    ) -> None:
        await self.factors.update_factor(
            factor_id, data=data, label=label, last_used_at=last_used_at, disabled=disabled
        )

    async def remove_factor(self, factor_id: str) -> None:
        await self.factors.remove_factor(factor_id)

    async def advance_counter(self, factor_id: str, field: str, value: int) -> bool:
        return await self.factors.advance_counter(factor_id, field, value)

    # FailureRepository: self.failures

    async def record_failure(self, user_id: str, factor_type: str, *, now: float) -> int:
        return await self.failures.record_failure(user_id, factor_type, now=now)

    async def reset_failures(self, user_id: str, factor_type: str) -> None:
        await self.failures.reset_failures(user_id, factor_type)

    async def failure_state(self, user_id: str, factor_type: str) -> FailureState:
        return await self.failures.failure_state(user_id, factor_type)

    async def set_blocked_until(self, user_id: str, factor_type: str, until: float | None) -> None:
        await self.failures.set_blocked_until(user_id, factor_type, until)

    async def claim_failure(
        self, user_id: str, factor_type: str, *, now: float, every: int, hold_until: float
    ) -> int | None:
        return await self.failures.claim_failure(
            user_id, factor_type, now=now, every=every, hold_until=hold_until
        )

    async def raise_blocked_until(self, user_id: str, factor_type: str, until: float) -> None:
        await self.failures.raise_blocked_until(user_id, factor_type, until)

    async def release_failure(self, user_id: str, factor_type: str) -> None:
        await self.failures.release_failure(user_id, factor_type)

    async def settle_failures(self, user_id: str, factor_type: str, *, keep_from: float) -> None:
        await self.failures.settle_failures(user_id, factor_type, keep_from=keep_from)

    # AuditRepository: self.audit

    async def append_audit(self, event: Mapping[str, Any], *, now: float) -> None:
        await self.audit.append_audit(event, now=now)

    async def tail_audit(self, limit: int = 50) -> list[dict[str, Any]]:
        return await self.audit.tail_audit(limit)

    async def audit_between(
        self, *, since: float, until: float, event: str | None = None
    ) -> list[dict[str, Any]]:
        return await self.audit.audit_between(since=since, until=until, event=event)
