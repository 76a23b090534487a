"""Deleting expired rows: the background purge of ``stepauth serve`` and ``stepauth purge``.

Codes, tokens, interactions, sessions and per-address throttle rows stop being usable at
their expiry but stay in the database until deleted. :func:`purge_once` deletes them in
bounded batches (:meth:`stepauth.store.sql.SQLStore.purge`); :func:`keep_purging` runs it
every ``[purge] interval`` seconds in the app's lifespan. Several instances may purge the
same database at once: each batch is one short statement that skips rows another purge
holds (PostgreSQL) or waits its turn for the write lock (SQLite).

What is kept: an item stays :func:`retention` seconds past its expiry, the longest
lifetime of a token the Provider issues, so a consumed code or refresh token presented
again still revokes its grant (RFC 6749 §4.1.2, RFC 9700 §4.14.2) for as long as anything
issued from it can be used. The record of an ended session
(:data:`stepauth.provider.sessions.ENDED_SID_TTL`) is read only until its own expiry, and
is kept as long as any item. Per-account failure counters are never purged (their counts
drive the growing lockout).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from stepauth.provider.ops.metrics import Metrics, backend_of, purged, store_error

if TYPE_CHECKING:
    from stepauth.provider.config import ProviderConfig

__all__ = ["keep_purging", "purge_once", "retention"]

_log = logging.getLogger("stepauth.purge")


def retention(config: ProviderConfig) -> float:
    """Seconds an item is kept after its ``expires_at`` (see the module docstring)."""
    ttl = config.ttl
    return float(max(ttl.refresh_token, ttl.access_token, ttl.id_token))


async def purge_once(store: Any, config: ProviderConfig, *, now: float) -> dict[str, int]:
    """One purge of ``store`` (a SQL store, or a Redis-routed one: Redis expires its own
    keys); returns the rows deleted per table."""
    deleted: dict[str, int] = await store.purge(
        now=now,
        retain=retention(config),
        stale_before=now - config.throttle.ip_window,
        batch=config.purge.batch,
        vacuum=config.purge.vacuum,
    )
    return deleted


async def keep_purging(state: Any, metrics: Metrics) -> None:
    """Purge every ``[purge] interval`` seconds until cancelled; a failed purge is logged
    and counted as a store error, and the next one runs on time."""
    config: ProviderConfig = state.config
    while True:
        await asyncio.sleep(config.purge.interval)
        try:
            deleted = await purge_once(state.store, config, now=state.clock())
        except Exception as exc:  # the purge must never stop the server
            backend = backend_of(exc)
            if backend is not None:
                store_error(backend, metrics)
            _log.warning("purge failed: %s", type(exc).__name__)
            continue
        purged(metrics, deleted)
        if any(deleted.values()):
            _log.info("purged expired rows", extra={"purged": deleted})
