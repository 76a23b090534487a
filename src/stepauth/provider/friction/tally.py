"""Requests a session answered, counted in memory and written as aggregated friction records.

A request answered from the session (no prompt) is the common case — every code flow of a
signed-in user — and the report needs only how many there were per action and UTC day.
Writing one audit row for each cost a store write per flow; instead
:class:`SessionAnswers` counts them per (action, client, UTC day) and :meth:`~SessionAnswers.flush`
writes one ``request`` record per key with ``result`` ``satisfied`` and ``count`` (its
``at`` is the first counted request, so it falls on its day). The Provider flushes every
:data:`FLUSH_INTERVAL` seconds, when :data:`MAX_KEYS` keys are held, and at shutdown;
a crash loses at most the counts of one interval (docs/friction.md). Prompts, refusals
and interaction outcomes stay one record each (:mod:`.recorder`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from stepauth.audit.friction_records import REQUEST, SATISFIED, friction_record

if TYPE_CHECKING:
    from stepauth.store import Store

__all__ = ["FLUSH_INTERVAL", "MAX_KEYS", "SessionAnswers", "flush_logged", "keep_flushing"]

#: Seconds between two flushes of a running Provider: what a crash can lose.
FLUSH_INTERVAL: Final = 60.0
#: Keys held before a flush is forced: memory stays bounded whatever the requests name.
MAX_KEYS: Final = 1000
_DAY: Final = 86_400  # POSIX time has no leap seconds: every UTC day is this long

_log = logging.getLogger("stepauth.friction")


@dataclass
class _Count:
    first_at: float
    count: int = 0


@dataclass
class SessionAnswers:
    """Counts of session-answered requests per (action, client, UTC day), not yet written."""

    #: by (action, client, UTC day number: POSIX seconds // 86,400)
    _counts: dict[tuple[str, str | None, int], _Count] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._counts)

    def count(self, *, action: str, client_id: str | None, at: float) -> bool:
        """Count one request answered at ``at``; whether a flush is due (:data:`MAX_KEYS`)."""
        day = int(at // _DAY)
        held = self._counts.get((action, client_id, day))
        if held is None:
            held = self._counts[(action, client_id, day)] = _Count(first_at=at)
        held.count += 1
        return len(self._counts) >= MAX_KEYS

    async def flush(self, store: Store) -> int:
        """Write one aggregated record per key and forget what was written; the records
        written. On a store error the unwritten counts are kept for the next flush."""
        pending, self._counts = self._counts, {}
        written = 0
        try:
            for (action, client_id, day), held in list(pending.items()):
                record = friction_record(
                    REQUEST, result=SATISFIED, action=action, client_id=client_id, count=held.count
                )
                await store.append_audit(record, now=held.first_at)
                del pending[(action, client_id, day)]
                written += 1
        finally:
            for key, held in pending.items():  # not written: back into the tally
                current = self._counts.setdefault(key, _Count(first_at=held.first_at))
                current.first_at = min(current.first_at, held.first_at)
                current.count += held.count
        return written


async def flush_logged(tally: SessionAnswers, store: Store) -> None:
    """Flush ``tally``; a failure is logged and its counts wait for the next flush."""
    try:
        await tally.flush(store)
    except Exception as exc:  # telemetry must never stop the server
        _log.warning("friction flush failed: %s", type(exc).__name__)


async def keep_flushing(tally: SessionAnswers, store: Store) -> None:
    """Flush every :data:`FLUSH_INTERVAL` seconds until cancelled."""
    while True:
        await asyncio.sleep(FLUSH_INTERVAL)
        await flush_logged(tally, store)
