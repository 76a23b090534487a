"""Prometheus metrics of one Provider app, on a registry of its own.

Every counter is bumped at the one place its event already passes through: the request
middleware (:mod:`stepauth.provider.ops.requests`) for HTTP traffic and store errors,
the audit helpers (:mod:`stepauth.audit.log`) for attempts, failures and lockouts, the
authorization step (started) and the interaction pages (completed, abandoned) for
step-ups, the token endpoint for replays.
Those callers use the module functions below, which find the app's :class:`Metrics`
through a context variable set for each request (by
:class:`~stepauth.provider.request_frame.RequestFrame`); outside a request
(the CLI, unit tests of a single module) they do nothing.

Labels have bounded values only: a route *template* (``/interaction/{uid}``, never the
path), an HTTP method from a fixed list, a status code, a factor kind, a policy reason
from :data:`stepauth.provider.login_policy.REASONS`, an acr of the Provider's ladder. A
value outside its set is counted as ``other``, so no request can grow the series.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from stepauth import observe
from stepauth.provider.login_policy import REASONS
from stepauth.store.adapter import StoreUnavailable

if TYPE_CHECKING:
    from stepauth.assurance import Ladder

__all__ = [
    "METHODS",
    "Metrics",
    "activate",
    "attempt",
    "current",
    "deactivate",
    "purged",
    "replay_detected",
    "step_up_abandoned",
    "step_up_completed",
    "step_up_started",
    "store_error",
]

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "other"
#: Buckets (seconds) from a cache hit to a slow password hash under load.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Attempt results written by the interaction pages (:mod:`stepauth.audit.log`).
RESULTS = frozenset({"success", "failure", "locked", "throttled", "code_sent"})
#: What a replay can be: an authorization code or a refresh token (RFC 9700 §4.14.2).
REPLAY_KINDS = frozenset({"code", "refresh_token"})
#: Tables the purge deletes from (:meth:`stepauth.store.sql.SQLStore.purge`).
PURGE_TABLES = frozenset({"items", "sessions", "failures"})
_FACTOR_KIND = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


class Metrics:
    """The collectors of one app, registered on ``registry`` (a fresh one by default)."""

    def __init__(
        self, registry: CollectorRegistry | None = None, *, ladder: Ladder | None = None
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.ladder = ladder
        reg = self.registry
        self.requests = Counter(
            "stepauth_http_requests",
            "HTTP requests by route template, method and status.",
            ("route", "method", "status"),
            registry=reg,
        )
        self.latency = Histogram(
            "stepauth_http_request_duration_seconds",
            "Time from the request to the end of its response, by route template.",
            ("route", "method"),
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.attempts = Counter(
            "stepauth_authentication_attempts",
            "Factor submissions by factor kind and result.",
            ("factor", "result"),
            registry=reg,
        )
        self.factor_failures = Counter(
            "stepauth_factor_failures",
            "Refused factor submissions (wrong value or locked) by factor kind.",
            ("factor",),
            registry=reg,
        )
        self.lockouts = Counter(
            "stepauth_lockouts",
            "Submissions refused because the factor is locked, by factor kind.",
            ("factor",),
            registry=reg,
        )
        self.step_ups_started = Counter(
            "stepauth_step_ups_started",
            "Interactions begun, by the login policy's first reason and the acr asked for.",
            ("reason", "acr"),
            registry=reg,
        )
        self.step_ups_completed = Counter(
            "stepauth_step_ups_completed",
            "Interactions that ended with an authorization code, by the acr asked for.",
            ("acr",),
            registry=reg,
        )
        self.step_ups_abandoned = Counter(
            "stepauth_step_ups_abandoned",
            "Interactions that ended without a code: expired, or an error sent back.",
            ("why",),
            registry=reg,
        )
        self.replays = Counter(
            "stepauth_replays_detected",
            "Single-use credentials presented again (the grant is revoked), by kind.",
            ("kind",),
            registry=reg,
        )
        self.purged = Counter(
            "stepauth_purged_rows",
            "Expired rows deleted by the background purge, by table.",
            ("table",),
            registry=reg,
        )
        self.store_errors = Counter(
            "stepauth_store_errors",
            "Errors of the database or of Redis seen by requests and readiness checks.",
            ("backend",),
            registry=reg,
        )

    # -- label sanitising ------------------------------------------------------------------

    def acr(self, value: str | None) -> str:
        if not value:
            return "none"
        return value if self.ladder is not None and value in self.ladder else OTHER

    @staticmethod
    def reason(reasons: Iterable[str]) -> str:
        first = next(iter(reasons), "none")
        return first if first in REASONS or first == "none" else OTHER

    @staticmethod
    def factor(kind: str) -> str:
        ok = 0 < len(kind) <= 32 and set(kind) <= _FACTOR_KIND
        return kind if ok else OTHER


_current: ContextVar[Metrics | None] = ContextVar("stepauth_metrics", default=None)


def current() -> Metrics | None:
    """The metrics of the app serving the current request (``None`` outside one)."""
    return _current.get()


@contextmanager
def active(metrics: Metrics) -> Iterator[None]:
    """Make ``metrics`` :func:`current` for the duration (one request)."""
    token = activate(metrics)
    try:
        yield
    finally:
        deactivate(token)


def activate(metrics: Metrics) -> Token[Metrics | None]:
    """Make ``metrics`` :func:`current` until :func:`deactivate` with the token returned
    (what :func:`active` does, without a context manager's calls on every request)."""
    return _current.set(metrics)


def deactivate(token: Token[Metrics | None]) -> None:
    _current.reset(token)


def attempt(factor: str, result: str) -> None:
    """One factor submission and its audited ``result``."""
    metrics = _current.get()
    if metrics is None:
        return
    kind = metrics.factor(factor)
    metrics.attempts.labels(kind, result if result in RESULTS else OTHER).inc()
    if result in ("failure", "locked"):
        metrics.factor_failures.labels(kind).inc()
    if result == "locked":
        metrics.lockouts.labels(kind).inc()


def _requested(acr_values: Sequence[str], essential_acr: Sequence[str]) -> str | None:
    wanted = list(essential_acr) or list(acr_values)
    return wanted[0] if wanted else None


def step_up_started(
    reasons: Iterable[str], *, acr_values: Sequence[str], essential_acr: Sequence[str]
) -> None:
    """An interaction began: the login policy's first reason and the acr asked for."""
    metrics = _current.get()
    if metrics is not None:
        acr = metrics.acr(_requested(acr_values, essential_acr))
        metrics.step_ups_started.labels(metrics.reason(reasons), acr).inc()


def step_up_completed(*, acr_values: Sequence[str], essential_acr: Sequence[str]) -> None:
    """An interaction ended with a code (labelled by the acr asked for, as when started)."""
    metrics = _current.get()
    if metrics is not None:
        acr = metrics.acr(_requested(acr_values, essential_acr))
        metrics.step_ups_completed.labels(acr).inc()


def step_up_abandoned(why: str) -> None:
    """An interaction ended without a code: ``expired`` (found gone when the browser came
    back) or ``error`` (an error was sent back to the client)."""
    metrics = _current.get()
    if metrics is not None:
        metrics.step_ups_abandoned.labels(why if why in ("expired", "error") else OTHER).inc()


def replay_detected(kind: str) -> None:
    """A consumed authorization code or refresh token was presented again."""
    metrics = _current.get()
    if metrics is not None:
        metrics.replays.labels(kind if kind in REPLAY_KINDS else OTHER).inc()


def purged(metrics: Metrics, deleted: dict[str, int]) -> None:
    """Rows deleted by one purge, per table (:mod:`stepauth.provider.ops.purge`)."""
    for table, count in deleted.items():
        metrics.purged.labels(table if table in PURGE_TABLES else OTHER).inc(count)


def store_error(backend: str, metrics: Metrics | None = None) -> None:
    """A database (``database``) or Redis (``redis``) error."""
    target = metrics if metrics is not None else _current.get()
    if target is not None:
        target.store_errors.labels(backend).inc()


def backend_of(exc: BaseException) -> str | None:
    """``database`` / ``redis`` when ``exc`` comes from that store, else ``None``."""
    import sqlite3

    from psycopg import Error as PsycopgError
    from redis.exceptions import RedisError
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(exc, StoreUnavailable):
        return exc.backend
    if isinstance(exc, RedisError):
        return "redis"
    if isinstance(exc, SQLAlchemyError | PsycopgError | sqlite3.Error):
        return "database"
    return None


# The store and the audit log report through stepauth.observe (they never import the app).
observe.install(store_error=store_error, attempt=attempt)


def serve_metrics(metrics: Metrics, *, host: str, port: int) -> Any:
    """Start the Prometheus listener on its own thread; returns a ``stop()`` callable."""
    from prometheus_client import start_http_server

    server, thread = start_http_server(port, addr=host, registry=metrics.registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
