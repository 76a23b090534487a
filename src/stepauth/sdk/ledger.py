"""The SDK's one "consume once" ledger: what makes an approval good for one action.

Three things in the SDK may be used once only, and all are recorded here:

* the ``txn`` of a transaction-bound access token, when a resource server runs the action
  (:mod:`stepauth.sdk.transaction`, RFC 9396 §9; PSD2 RTS Art. 5: one approval, one
  payment);
* the grant a browser session received from a bound step-up, when the guarded action runs
  (:meth:`stepauth.sdk.browser.BrowserStepUp.check_bound`): the session keeps what was
  granted, the ledger remembers that it was used, so a copy of an old session cookie, or two
  requests sent at once with the same one, run the action once.
* the ``jti`` of a DPoP proof at a resource server (:mod:`stepauth.sdk.dpop_check`,
  RFC 9449 §11.1): a proof is good for one request, and a captured one replayed within its
  window is refused.

``consume(key, expires_at=...)`` is ONE atomic operation, never read-then-write: of any
number of concurrent calls with one key exactly one gets ``True``, across processes and
hosts when the ledger is shared. The record lives until ``expires_at`` (epoch seconds, on
the ledger's clock), the moment after which the approval could not be accepted anyway; a
key whose ``expires_at`` is already past is never a first use (``False``: such a record
would be forgotten at once and a replay would pass).

Implementations: :class:`MemoryLedger` (one process; sync, also accepted where an async
ledger is), :class:`stepauth.sdk.sql_ledger.SQLLedger` / ``SyncSQLLedger`` (SQLite or
PostgreSQL, ``INSERT … ON CONFLICT DO NOTHING RETURNING``; the ``sql`` extra) and
:class:`stepauth.sdk.redis_stores.RedisLedger` / ``SyncRedisLedger`` (``SET … NX PX``;
the ``redis`` extra).
"""

from __future__ import annotations

import inspect
import secrets
import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = ["AnyLedger", "Ledger", "MemoryLedger", "SyncLedger", "consume"]


@runtime_checkable
class Ledger(Protocol):
    """A consume-once ledger for async code."""

    async def consume(self, key: str, *, expires_at: float) -> bool:
        """Record ``key`` as used until ``expires_at``: ``True`` for exactly one caller per
        key, ``False`` if it was recorded before (or ``expires_at`` is past)."""
        ...


@runtime_checkable
class SyncLedger(Protocol):
    """:class:`Ledger` for sync code (Flask, Django, the browser flow's session checks)."""

    def consume(self, key: str, *, expires_at: float) -> bool:
        """``True`` for exactly one caller per key; ``False`` if recorded before."""
        ...


AnyLedger = Ledger | SyncLedger


async def consume(ledger: AnyLedger, key: str, *, expires_at: float) -> bool:
    """``ledger.consume`` from async code, whichever kind of ledger it is."""
    won = ledger.consume(key, expires_at=expires_at)
    if inspect.isawaitable(won):
        won = await won
    return won is True


class MemoryLedger:
    """Used keys in this process (one worker, tests, the demo): a dict under a lock.

    Several workers or hosts need a shared ledger (SQL or Redis): each process would
    otherwise accept the same approval once. ``scope`` names this ledger (random, per
    instance): what is recorded here is known here only, so the browser flow ties the grants
    it hands out to it and another process (or this one after a restart) refuses them.

    Full (``max_items`` live records), it first forgets the expired ones and then refuses
    every new key: fail closed, never forget a record that still matters.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time, max_items: int = 100_000) -> None:
        self.clock = clock
        self.max_items = max_items
        self.scope = secrets.token_urlsafe(12)
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()

    def consume(self, key: str, *, expires_at: float) -> bool:
        now = self.clock()
        if not expires_at > now:
            return False
        with self._lock:
            if key in self._used and self._used[key] > now:
                return False
            if len(self._used) >= self.max_items:
                self._used = {k: exp for k, exp in self._used.items() if exp > now}
                if len(self._used) >= self.max_items:
                    return False
            self._used[key] = expires_at
            return True

    def purge(self, *, now: float | None = None) -> int:
        """Forget the records that have expired; returns how many."""
        cutoff = self.clock() if now is None else now
        with self._lock:
            before = len(self._used)
            self._used = {k: exp for k, exp in self._used.items() if exp > cutoff}
            return before - len(self._used)
