"""Lockout and throttling of authentication attempts (PSD2 RTS Art. 4(3), NIST SP 800-63B-4 §3.2.2).

Every factor plug-in (password, TOTP, recovery codes, passkeys — a first-factor
passkey against its credential's owner — and OOB codes) verifies under
:func:`guarded`; the step-up pages (``/interaction/{uid}``, ``/account/reauth``) add
the per-IP limit and the audit (:mod:`stepauth.provider.interaction.outcome`):

* **per user and factor type** (Art. 4(3)(b)): every ``max_failures``
  consecutive failures start a temporary block; each block is longer than the last
  (``block_delays``, by default 1 min, 5 min, 15 min, 1 h). The user is alerted out of band
  at every block and warned at the last temporary one; one more series makes the block
  permanent until an operator runs ``stepauth users unlock NAME``. A success resets the
  count (NIST SP 800-63B-4 §3.2.2: "previous failures SHOULD be disregarded"); a new OOB
  code does not.
* **per IP address**: at most ``ip_limit`` failures per ``ip_window`` seconds from one
  client address (:mod:`stepauth.provider.forwarded`; an IPv6 client by its /64,
  :func:`address_bucket`), whatever the account — stops one client spraying many
  users. The
  counters are rows of the store's ``failures`` table (``user_id = "ip:<addr>"``,
  ``factor_type = "ip:<window>"``), so every worker process sees the same numbers (no
  process-local state).
* **counted before verified** (fail closed): every attempt is counted by one atomic
  statement *before* its factor is checked (``Store.claim_failure``), and refused
  unchecked while a block is in force; the attempt that reaches a threshold holds a
  block at once. Concurrent attempts therefore never get more than ``max_failures``
  verifications per block window (or ``ip_limit`` per address and window), each
  threshold is crossed by one attempt only (one block, one alert), and blocks only ever
  grow (``Store.raise_blocked_until``). A success gives its per-address count back.
* **one generic message** (Art. 4(3)(a)): :data:`GENERIC_FAILURE` never says
  which factor failed, nor that an account is blocked.

:func:`guarded` runs one verification of a plug-in (password, TOTP, recovery code,
passkey, OOB code) under the per-user lockout; the user is alerted with the account
notice of :func:`stepauth.provider.notices.notify` unless a ``notify`` is given.

The limits are the ``[throttle]`` table of the configuration
(:class:`stepauth.provider.config.ThrottleConfig`); every function takes them as
``limits`` (default: :data:`DEFAULT_LIMITS`, whose values the constants below repeat).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from stepauth.provider import notices
from stepauth.provider.config import ThrottleConfig
from stepauth.provider.factors.base import Attempt, FactorRejected, Verified
from stepauth.provider.i18n import N_, gettext, ngettext

if TYPE_CHECKING:
    from stepauth.provider.state import ProviderState
    from stepauth.store import FailureState, User

__all__ = [
    "BLOCK_DELAYS",
    "DEFAULT_LIMITS",
    "GENERIC_FAILURE",
    "IP_LIMIT",
    "IP_WINDOW",
    "MAX_FAILURES",
    "PERMANENT",
    "Lockout",
    "address_bucket",
    "block_for",
    "block_notice",
    "claim_attempt",
    "claim_ip_attempt",
    "guarded",
    "is_blocked",
    "register_failure",
    "register_success",
    "release_ip_attempt",
    "user_alert",
]

#: The limits when the configuration sets none.
DEFAULT_LIMITS = ThrottleConfig()
#: PSD2 RTS Art. 4(3)(b): at most five consecutive failures, then a block.
MAX_FAILURES = DEFAULT_LIMITS.max_failures
#: Growing temporary blocks
#: (NIST SP 800-63B-4 §3.2.2: "increasing waits, e.g. 30 seconds up to an hour").
BLOCK_DELAYS = tuple(float(d) for d in DEFAULT_LIMITS.block_delays)
#: ``blocked_until`` of a permanent block (far future; cleared by ``users unlock``).
PERMANENT = 32503680000.0  # 3000-01-01
#: Failures from one IP address per window, over all accounts.
IP_LIMIT = DEFAULT_LIMITS.ip_limit
IP_WINDOW = DEFAULT_LIMITS.ip_window
#: The one message for any failed factor (Art. 4(3)(a)).
GENERIC_FAILURE = N_("We could not verify that. Please try again.")

Notify = Callable[[str, str], Awaitable[None]]


class _FailureStore(Protocol):
    async def claim_failure(
        self, user_id: str, factor_type: str, *, now: float, every: int, hold_until: float
    ) -> int | None: ...

    async def raise_blocked_until(self, user_id: str, factor_type: str, until: float) -> None: ...

    async def release_failure(self, user_id: str, factor_type: str) -> None: ...

    async def settle_failures(
        self, user_id: str, factor_type: str, *, keep_from: float
    ) -> None: ...

    async def failure_state(self, user_id: str, factor_type: str) -> FailureState: ...


@dataclass(frozen=True)
class Lockout:
    """The outcome of one failure: the count, and the block it started (if any)."""

    count: int
    blocked_until: float | None = None
    permanent: bool = False

    @property
    def blocked(self) -> bool:
        return self.blocked_until is not None


def block_for(count: int, limits: ThrottleConfig = DEFAULT_LIMITS) -> float | None:
    """Seconds to block after ``count`` consecutive failures (``inf``: permanent)."""
    every = limits.max_failures
    if count < every or count % every:
        return None
    series = count // every
    if series > len(limits.block_delays):
        return float("inf")
    return float(limits.block_delays[series - 1])


def is_blocked(state: FailureState, now: float) -> bool:
    return state.blocked_until is not None and state.blocked_until > now


async def claim_attempt(
    store: _FailureStore,
    user_id: str,
    factor_type: str,
    *,
    now: float,
    limits: ThrottleConfig = DEFAULT_LIMITS,
) -> int | None:
    """Count one attempt before it is verified (one atomic statement).

    Returns its number in the series of consecutive failures, or ``None`` while a block
    is in force (nothing counted). The attempt numbered at a threshold holds the
    shortest block at once, so no other attempt is counted until it is settled: at most
    ``max_failures`` verifications per block window, however many arrive together.
    """
    return await store.claim_failure(
        user_id,
        factor_type,
        now=now,
        every=limits.max_failures,
        hold_until=now + limits.block_delays[0],
    )


async def register_failure(
    store: _FailureStore,
    user_id: str,
    factor_type: str,
    *,
    count: int,
    now: float,
    notify: Notify | None = None,
    limits: ThrottleConfig = DEFAULT_LIMITS,
) -> Lockout:
    """Settle the failed attempt ``count`` (:func:`claim_attempt`): at a threshold, block.

    Each threshold is crossed by exactly one attempt, so each block (and its alert) is
    set once; a block only ever grows (a permanent one is never shortened).
    ``notify(user_id, message)`` alerts the user at each block, and says so before the
    block that would be permanent.
    """
    delay = block_for(count, limits)
    if delay is None:
        return Lockout(count=count)
    permanent = delay == float("inf")
    until = PERMANENT if permanent else now + delay
    await store.raise_blocked_until(user_id, factor_type, until)
    if notify is not None:
        last = not permanent and count // limits.max_failures == len(limits.block_delays)
        await notify(user_id, block_notice(delay, limits.max_failures, last=last))
    return Lockout(count=count, blocked_until=until, permanent=permanent)


def block_notice(delay: float, failures: int, *, last: bool = False) -> str:
    """The alert of a block of ``delay`` seconds (``inf``: until support unlocks it) after
    ``failures`` failed attempts, in the request's language (the request whose failure
    set the block, :mod:`stepauth.provider.notices`); ``last``: the next block is
    permanent, and the alert says so."""
    if delay == float("inf"):
        return gettext(
            "Sign-in to your account was blocked after repeated failed attempts. "
            "Contact support to unlock it."
        )
    minutes = max(math.ceil(delay / 60), 1)  # never shorter than it is
    sentences = [
        ngettext(
            "There was %(num)d failed attempt to sign in to your account.",
            "There were %(num)d failed attempts to sign in to your account.",
            failures,
        )
        % {"num": failures},
        ngettext(
            "Sign-in is paused for %(num)d minute.",
            "Sign-in is paused for %(num)d minutes.",
            minutes,
        )
        % {"num": minutes},
        gettext("If this was not you, change your password."),
    ]
    if last:
        sentences.append(
            gettext("More failed attempts will block sign-in until support unlocks it.")
        )
    return " ".join(sentences)


async def register_success(store: _FailureStore, user_id: str, factor_type: str) -> None:
    """A verified factor: forget the consecutive failures of that type and any temporary
    block; a permanent block stays until an operator unlocks it."""
    await store.settle_failures(user_id, factor_type, keep_from=PERMANENT)


def _ip_key(ip: str, now: float, window: int) -> tuple[str, str]:
    return f"ip:{address_bucket(ip)}"[:64], f"ip:{int(now // window)}"


def address_bucket(ip: str) -> str:
    """The per-address counter of ``ip``: the address itself, or for IPv6 its /64.

    One IPv6 end site gets at least a /64 (RFC 6177 §2, RFC 7421), so a client owns
    2**64 addresses: counted one by one, it would never meet the limit.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else address)


async def claim_ip_attempt(
    store: _FailureStore, ip: str | None, *, now: float, limits: ThrottleConfig = DEFAULT_LIMITS
) -> bool:
    """Count one attempt from ``ip`` before it is verified; ``False`` (nothing counted)
    once ``ip_limit`` attempts of the current window are failures or in flight."""
    if not ip:
        return True
    user, window = _ip_key(ip, now, limits.ip_window)
    end = (int(now // limits.ip_window) + 1) * float(limits.ip_window)
    claimed = await store.claim_failure(
        user, window, now=now, every=limits.ip_limit, hold_until=end
    )
    return claimed is not None


async def release_ip_attempt(
    store: _FailureStore, ip: str | None, *, now: float, limits: ThrottleConfig = DEFAULT_LIMITS
) -> None:
    """Give back the attempt counted by :func:`claim_ip_attempt` (it was no failure)."""
    if not ip:
        return
    user, window = _ip_key(ip, now, limits.ip_window)
    await store.release_failure(user, window)


def user_alert(state: ProviderState) -> Notify:
    """Alerts through the account notices of ``state`` (the user's OOB address or email)."""

    async def alert(user_id: str, message: str) -> None:
        await notices.notify(state, user_id, message)

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

    The attempt is counted before ``check`` runs (:func:`claim_attempt`, fail closed):
    refused while blocked, even when right, and ``check`` is then never run. ``None``
    (or a verification of anyone else) leaves it counted as a failure
    (:func:`register_failure`, the user alerted at each block); a success resets the
    count and stamps the factor's last use. Every refusal carries
    :data:`GENERIC_FAILURE` and the id of the account it was counted against.
    """
    who = user if user is not None else attempt.user
    if who is None:
        raise FactorRejected(GENERIC_FAILURE)
    store: Any = attempt.state.store
    limits = attempt.state.config.throttle
    count = await claim_attempt(store, who.id, factor_type, now=attempt.now, limits=limits)
    if count is None:
        raise FactorRejected(GENERIC_FAILURE, locked=True, user_id=who.id)
    alert = notify if notify is not None else user_alert(attempt.state)
    try:
        verified = await check()
    except Exception:
        # an attempt that could not be verified stays counted, and blocks at a threshold
        await register_failure(
            store, who.id, factor_type, count=count, now=attempt.now, notify=alert, limits=limits
        )
        raise
    if verified is None or verified.user.id != who.id:
        lockout = await register_failure(
            store, who.id, factor_type, count=count, now=attempt.now, notify=alert, limits=limits
        )
        raise FactorRejected(GENERIC_FAILURE, locked=lockout.blocked, user_id=who.id)
    await register_success(store, who.id, factor_type)
    if verified.factor_id is not None:
        await store.update_factor(verified.factor_id, last_used_at=attempt.now)
    return verified
