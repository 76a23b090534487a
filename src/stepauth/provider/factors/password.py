"""Password sign-in: argon2id hashes, no username enumeration, lockout after failures.

The first factor plug-in (see :mod:`stepauth.provider.factors.base`). It identifies the
user (username + password) and yields ``AuthEvent(methods=("pwd",))`` (RFC 8176 §2).

* Unknown usernames, disabled users and users without a password run the same argon2
  verification against a dummy hash and get the same message, so neither timing nor text
  reveals whether an account exists (ASVS 5.0 6.3.8 / NIST 800-63B §3.1.1.2).
* The check runs under :func:`stepauth.provider.throttle.guarded`: every
  ``[throttle] max_failures`` consecutive failures (PSD2 RTS Art. 4(3)(b): at most 5) block
  the password for a growing delay, then permanently; the hash is verified first
  either way, so a blocked account answers no faster than any other.
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
from stepauth.provider.i18n import N_, gettext
from stepauth.provider.throttle import GENERIC_FAILURE, MAX_FAILURES, guarded

if TYPE_CHECKING:
    from stepauth.store import Factor, User

__all__ = [
    "MAX_FAILURES",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "PasswordFactor",
    "hash_password",
    "password_problem",
    "plugin",
]

#: NIST SP 800-63B §3.1.1.2: at least 8 characters for a password used alone.
MIN_PASSWORD_LENGTH = 8
#: Long passphrases are welcome; the bound only keeps hashing cheap to refuse.
MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash (RFC 9106 parameters of argon2-cffi's default profile)."""
    return _hasher.hash(password)


def password_problem(password: str) -> str | None:
    """Why a new password is refused, in words for its owner (``None``: accepted).

    Length only (NIST SP 800-63B §3.1.1.2: no composition rules)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return gettext("A password needs at least %(n)d characters.") % {"n": MIN_PASSWORD_LENGTH}
    if len(password) > MAX_PASSWORD_LENGTH:
        return gettext("A password has at most %(n)d characters.") % {"n": MAX_PASSWORD_LENGTH}
    return None


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
    title: ClassVar[str] = N_("Password")
    capability: ClassVar[Capability] = Capability(categories=frozenset({Category.KNOWLEDGE}))
    identifies: ClassVar[bool] = True
    scripts: ClassVar[tuple[str, ...]] = ()

    def is_enrolled(self, user: User, factors: Sequence[Factor]) -> bool:
        return user.password_hash is not None and not user.disabled

    def fields(self, view: FormView) -> Sequence[FormField]:
        username = view.user.username if view.user is not None else (view.login_hint or "")
        return (
            FormField("username", N_("Username"), autocomplete="username", value=username),
            FormField("password", N_("Password"), type="password", autocomplete="current-password"),
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
        password_hash = user.password_hash if usable and user and user.password_hash else None
        ok = await anyio.to_thread.run_sync(_verify, password_hash or _dummy_hash(), password)
        if not usable or user is None:
            # One generic message for every factor: never say which one failed (PSD2 RTS
            # Art. 4(3)(a)) nor whether the username exists.
            raise FactorRejected(GENERIC_FAILURE)
        known = user

        async def check() -> Verified | None:
            if not (ok and password):
                return None
            event = AuthEvent(methods=("pwd",), at=attempt.now, attrs={"factor": "password"})
            return Verified(user=known, event=event)

        verified = await guarded(attempt, self.kind, check, user=known)
        if password_hash is not None and _hasher.check_needs_rehash(password_hash):
            await store.set_password_hash(known.id, _hasher.hash(password))
        return verified


plugin = PasswordFactor()
