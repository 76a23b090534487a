"""Password sign-in: argon2id hashes, no username enumeration, lockout after failures.

The first factor plug-in (see :mod:`stepauth.provider.factors.base`). It identifies the
user (username + password) and yields ``AuthEvent(methods=("pwd",))`` (RFC 8176 §2).

* Unknown usernames, disabled users and users without a password run the same argon2
  verification against a dummy hash and get the same message, so neither timing nor text
  reveals whether an account exists (ASVS 5.0 6.3.8 / NIST 800-63B §3.1.1.2).
* Consecutive failures are counted in the store; at :data:`MAX_FAILURES` (PSD2 RTS
  Art. 4(3)(b): at most 5) the password is blocked for :data:`BLOCK_SECONDS`.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from stepauth.assurance import AuthEvent, Category
from stepauth.provider.factors.base import (
    Attempt,
    Capability,
    FactorRejected,
    FormField,
    FormView,
    Verified,
)

if TYPE_CHECKING:
    from stepauth.store import Factor, User

__all__ = ["BLOCK_SECONDS", "MAX_FAILURES", "PasswordFactor", "hash_password", "plugin"]

MAX_FAILURES = 5
BLOCK_SECONDS = 900

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash (RFC 9106 parameters of argon2-cffi's default profile)."""
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class PasswordFactor:
    """Username + password (knowledge factor)."""

    kind: ClassVar[str] = "password"
    title: ClassVar[str] = "Password"
    capability: ClassVar[Capability] = Capability(categories=frozenset({Category.KNOWLEDGE}))
    identifies: ClassVar[bool] = True
    scripts: ClassVar[tuple[str, ...]] = ()

    def is_enrolled(self, user: User, factors: Sequence[Factor]) -> bool:
        return user.password_hash is not None and not user.disabled

    def fields(self, view: FormView) -> Sequence[FormField]:
        username = view.user.username if view.user is not None else (view.login_hint or "")
        return (
            FormField("username", "Username", autocomplete="username", value=username),
            FormField("password", "Password", type="password", autocomplete="current-password"),
        )

    async def verify(self, attempt: Attempt) -> Verified:
        store = attempt.state.store
        username = attempt.form.get("username", "").strip()
        password = attempt.form.get("password", "")
        user = await store.get_user_by_username(username) if username else None
        if attempt.user is not None and (user is None or user.id != attempt.user.id):
            # Step-up of a known user: another account's password never counts.
            user = None
        usable = user is not None and not user.disabled and user.password_hash is not None
        blocked = False
        if usable and user is not None:
            status = await store.failure_state(user.id, self.kind)
            blocked = status.blocked_until is not None and status.blocked_until > attempt.now
        password_hash = user.password_hash if usable and user and user.password_hash else None
        ok = await anyio.to_thread.run_sync(_verify, password_hash or _dummy_hash(), password)
        if not (usable and ok and not blocked and password and user is not None):
            if usable and user is not None and not blocked:
                count = await store.record_failure(user.id, self.kind, now=attempt.now)
                if count >= MAX_FAILURES:
                    await store.set_blocked_until(user.id, self.kind, attempt.now + BLOCK_SECONDS)
            # One generic message for every factor: never say which one failed (PSD2 RTS
            # Art. 4(3)(a)) nor whether the username exists.
            raise FactorRejected(locked=blocked)
        await store.reset_failures(user.id, self.kind)
        if password_hash is not None and _hasher.check_needs_rehash(password_hash):
            await store.set_password_hash(user.id, _hasher.hash(password))
        event = AuthEvent(methods=("pwd",), at=attempt.now, attrs={"factor": "password"})
        return Verified(user=user, event=event)


plugin = PasswordFactor()
