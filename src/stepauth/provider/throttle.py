"""Lockout and throttling of authentication attempts (PSD2 RTS Art. 4(3), NIST-15).

Every factor plug-in (password, TOTP, recovery codes, passkeys — a first-factor
passkey against its credential's owner — and OOB codes) verifies under
:func:`guarded`; the step-up pages (``/interaction/{uid}``, ``/account/reauth``) add
the per-IP limit and the audit (:mod:`stepauth.provider.interaction.outcome`):

* **per user and factor type** (Art. 4(3)(b), PSD2-06): every :data:`MAX_FAILURES`
  consecutive failures start a temporary block; each block is longer than the last
  (:data:`BLOCK_DELAYS`: 1 min, 5 min, 15 min, 1 h). The user is alerted out of band
  at every block and warned at the last temporary one; one more series makes the block
  permanent until an operator runs ``stepauth users unlock NAME``. A success resets the
  count (NIST-15 "previous failures SHOULD be disregarded"); a new OOB code does not.
* **per IP address**: at most :data:`IP_LIMIT` failures per :data:`IP_WINDOW` seconds
  from one address, whatever the account — stops one client spraying many users. The
  counters are rows of the store's ``failures`` table (``user_id = "ip:<addr>"``,
  ``factor_type = "ip:<window>"``) incremented by one atomic upsert, so every worker
  process sees the same numbers (no process-local state).
* **one generic message** (Art. 4(3)(a), PSD2-05): :data:`GENERIC_FAILURE` never says
  which factor failed, nor that an account is blocked.

:func:`guarded` runs one verification of a plug-in (password, TOTP, recovery code,
passkey, OOB code) under the per-user lockout; the user is alerted with the account
notice of :func:`stepauth.provider.factors.oob.notify` unless a ``notify`` is given.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from stepauth.provider.factors.base import Attempt, FactorRejected, Verified

if TYPE_CHECKING:
    from stepauth.provider.state import ProviderState
    from stepauth.store import FailureState, User

__all__ = [
    "BLOCK_DELAYS",
    "GENERIC_FAILURE",
    "IP_LIMIT",
    "IP_WINDOW",
    "MAX_FAILURES",
    "PERMANENT",
    "Lockout",
    "block_for",
    "guarded",
    "ip_throttled",
    "is_blocked",
    "record_ip_failure",
    "register_failure",
    "register_success",
    "user_alert",
]

#: PSD2 RTS Art. 4(3)(b): at most five consecutive failures, then a block.
MAX_FAILURES = 5
#: Growing temporary blocks (NIST-15 "increasing waits, e.g. 30 seconds up to an hour").
BLOCK_DELAYS = (60.0, 300.0, 900.0, 3600.0)
#: ``blocked_until`` of a permanent block (far future; cleared by ``users unlock``).
PERMANENT = 32503680000.0  # 3000-01-01
#: Failures from one IP address per window, over all accounts.
IP_LIMIT = 30
IP_WINDOW = 900
#: The one message for any failed factor (Art. 4(3)(a)).
GENERIC_FAILURE = "We could not verify that. Please try again."

Notify = Callable[[str, str], Awaitable[None]]


class _FailureStore(Protocol):
    async def record_failure(self, user_id: str, factor_type: str, *, now: float) -> int: ...

    async def reset_failures(self, user_id: str, factor_type: str) -> None: ...

    async def failure_state(self, user_id: str, factor_type: str) -> FailureState: ...

    async def set_blocked_until(
        self, user_id: str, factor_type: str, until: float | None
    ) -> None: ...


@dataclass(frozen=True)
class Lockout:
    """The outcome of one failure: the count, and the block it started (if any)."""

    count: int
    blocked_until: float | None = None
    permanent: bool = False

    @property
    def blocked(self) -> bool:
        return self.blocked_until is not None


def block_for(count: int) -> float | None:
    """Seconds to block after ``count`` consecutive failures (``inf``: permanent)."""
    if count < MAX_FAILURES or count % MAX_FAILURES:
        return None
    series = count // MAX_FAILURES
    if series > len(BLOCK_DELAYS):
        return float("inf")
    return BLOCK_DELAYS[series - 1]


def is_blocked(state: FailureState, now: float) -> bool:
    return state.blocked_until is not None and state.blocked_until > now


async def register_failure(
    store: _FailureStore,
    user_id: str,
    factor_type: str,
    *,
    now: float,
    notify: Notify | None = None,
) -> Lockout:
    """Count one failure atomically; start a (growing) block every :data:`MAX_FAILURES`.

    ``notify(user_id, message)`` alerts the user at each block, and says so before the
    block that would be permanent.
    """
    count = await store.record_failure(user_id, factor_type, now=now)
    delay = block_for(count)
    if delay is None:
        return Lockout(count=count)
    permanent = delay == float("inf")
    until = PERMANENT if permanent else now + delay
    await store.set_blocked_until(user_id, factor_type, until)
    if notify is not None:
        if permanent:
            message = (
                "Sign-in to your account was blocked after repeated failed attempts. "
                "Contact support to unlock it."
            )
        else:
            message = (
                f"Sign-in to your account was paused for {int(delay // 60)} minutes after "
                f"{MAX_FAILURES} failed attempts. If this was not you, change your password."
            )
            if count // MAX_FAILURES == len(BLOCK_DELAYS):
                message += " More failed attempts will block sign-in until support unlocks it."
        await notify(user_id, message)
    return Lockout(count=count, blocked_until=until, permanent=permanent)


async def register_success(store: _FailureStore, user_id: str, factor_type: str) -> None:
    """A verified factor: forget the consecutive failures of that type."""
    await store.reset_failures(user_id, factor_type)


def _ip_key(ip: str, now: float) -> tuple[str, str]:
    return f"ip:{ip}"[:64], f"ip:{int(now // IP_WINDOW)}"


async def record_ip_failure(store: _FailureStore, ip: str | None, *, now: float) -> int:
    """Count one failure from ``ip`` in the current window (atomic upsert)."""
    if not ip:
        return 0
    user, window = _ip_key(ip, now)
    return await store.record_failure(user, window, now=now)


async def ip_throttled(store: _FailureStore, ip: str | None, *, now: float) -> bool:
    """``True`` once ``ip`` reached :data:`IP_LIMIT` failures in the current window."""
    if not ip:
        return False
    user, window = _ip_key(ip, now)
    return (await store.failure_state(user, window)).count >= IP_LIMIT


def user_alert(state: ProviderState) -> Notify:
    """Alerts through the account notices of ``state`` (the user's OOB address or email)."""
    from stepauth.provider.factors.oob import notify

    async def alert(user_id: str, message: str) -> None:
        await notify(state, user_id, message)

    return alert


async def guarded(
    attempt: Attempt,
    factor_type: str,
    check: Callable[[], Awaitable[Verified | None]],
    *,
    user: User | None = None,
    notify: Notify | None = None,
) -> Verified:
    """Run ``check`` under the lockout of ``user`` (default: the attempt's user).

    Refused while blocked, even when right; ``None`` (or a verification of anyone else)
    counts a failure (:func:`register_failure`, the user alerted at each block); a
    success resets the count and stamps the factor's last use. Every refusal carries
    :data:`GENERIC_FAILURE` and the id of the account it was counted against.
    """
    who = user if user is not None else attempt.user
    if who is None:
        raise FactorRejected(GENERIC_FAILURE)
    store: Any = attempt.state.store
    if is_blocked(await store.failure_state(who.id, factor_type), attempt.now):
        raise FactorRejected(GENERIC_FAILURE, locked=True, user_id=who.id)
    verified = await check()
    if verified is None or verified.user.id != who.id:
        lockout = await register_failure(
            store,
            who.id,
            factor_type,
            now=attempt.now,
            notify=notify if notify is not None else user_alert(attempt.state),
        )
        raise FactorRejected(GENERIC_FAILURE, locked=lockout.blocked, user_id=who.id)
    await register_success(store, who.id, factor_type)
    if verified.factor_id is not None:
        await store.update_factor(verified.factor_id, last_used_at=attempt.now)
    return verified
