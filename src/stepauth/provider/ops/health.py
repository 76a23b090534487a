"""``GET /healthz`` (liveness) and ``GET /readyz`` (readiness) for load balancers.

``/healthz`` answers 200 ``{"status": "ok"}`` while the process serves HTTP; it touches
no store, so a slow database never gets a healthy process restarted.

``/readyz`` checks what a request needs, each under :data:`CHECK_TIMEOUT` seconds:

* ``database`` — one query on the store's own pool (the connection requests use);
* ``migrations`` — the schema's Alembic revision (``alembic_version``) is the newest
  migration shipped with this code (an older schema would fail requests further on);
* ``redis`` — a ``PING``, when the ephemeral items live in Redis (``[redis]``).

200 with every check ``ok``, else 503 with the name of each check that is not (and a
fixed, generic word for why). Neither page names a host, a DSN or an error text, and
neither may be cached (``Cache-Control: no-store``).
"""

from __future__ import annotations

import asyncio
import logging
from functools import cache
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from stepauth.provider.ops import metrics
from stepauth.provider.state import get_state
from stepauth.provider.token_endpoint import NO_STORE
from stepauth.store.sql import MIGRATIONS, SQLStore

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from starlette.requests import Request

    from stepauth.store import Store

__all__ = ["CHECK_TIMEOUT", "head_revisions", "readiness", "routes"]

CHECK_TIMEOUT = 2.0
_log = logging.getLogger("stepauth.readiness")


@cache
def head_revisions() -> frozenset[str]:
    """The head revision(s) of the Alembic migrations shipped in the package."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def _revisions(conn: Connection) -> frozenset[str]:
    from sqlalchemy import text

    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return frozenset(str(r) for r in rows)


async def _database(store: Any, checks: dict[str, str]) -> None:
    if not isinstance(store, SQLStore):
        checks["database"] = "unsupported store"
        return
    try:
        revisions = await asyncio.wait_for(store.run_sync(_revisions), CHECK_TIMEOUT)
    except TimeoutError:
        checks["database"] = "timeout"
        metrics.store_error("database")
        return
    except Exception as exc:
        _log.warning("readiness: database check failed (%s)", type(exc).__name__)
        checks["database"] = "unreachable"
        metrics.store_error("database")
        return
    checks["database"] = "ok"
    checks["migrations"] = "ok" if revisions == head_revisions() else "behind head"


async def _redis(client: Any, checks: dict[str, str]) -> None:
    try:
        await asyncio.wait_for(client.ping(), CHECK_TIMEOUT)
    except TimeoutError:
        checks["redis"] = "timeout"
    except Exception as exc:
        _log.warning("readiness: redis check failed (%s)", type(exc).__name__)
        checks["redis"] = "unreachable"
    else:
        checks["redis"] = "ok"
        return
    metrics.store_error("redis")


async def readiness(store: Store) -> dict[str, str]:
    """Each check's word: ``ok`` or why not (``migrations`` only once the DB answers)."""
    checks: dict[str, str] = {}
    if isinstance(store, SQLStore):
        await _database(store, checks)
    else:
        # Imported here: stepauth.store.routed imports redis, which only the redis extra
        # installs; a Provider on SQLite (the provider extra alone) never routes to Redis.
        from stepauth.store.routed import RoutedStore

        if isinstance(store, RoutedStore):
            await _database(store.store, checks)
            await _redis(store.ephemeral.client, checks)
        else:
            await _database(store, checks)
    checks.setdefault("migrations", "unknown")
    return checks


async def healthz(request: Request) -> JSONResponse:
    """Liveness: the process answers."""
    del request
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


async def readyz(request: Request) -> JSONResponse:
    """Readiness: 200 when every check is ``ok``, else 503 naming those that are not."""
    checks = await readiness(get_state(request).store)
    ready = all(value == "ok" for value in checks.values())
    body: dict[str, Any] = {"status": "ready" if ready else "not ready", "checks": checks}
    if not ready:
        body["not_ready"] = sorted(name for name, value in checks.items() if value != "ok")
    return JSONResponse(body, status_code=200 if ready else 503, headers=NO_STORE)


routes: list[BaseRoute] = [
    Route("/healthz", healthz, methods=["GET"], name="healthz"),
    Route("/readyz", readyz, methods=["GET"], name="readyz"),
]
