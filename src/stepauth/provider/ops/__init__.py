"""Operating the Provider: health checks, metrics, structured logs, tracing, shutdown.

* :mod:`~stepauth.provider.ops.health` — ``/healthz`` and ``/readyz``;
* :mod:`~stepauth.provider.ops.metrics` — Prometheus collectors on a per-app registry,
  served by their own listener (``[metrics]``);
* :mod:`~stepauth.provider.ops.requests` — request ids, the access event, HTTP metrics;
* :mod:`~stepauth.provider.ops.logs` — JSON lines and the redaction filter;
* :mod:`~stepauth.provider.ops.tracing` — OpenTelemetry when it is installed;
* :mod:`~stepauth.provider.ops.shutdown` — the WAL checkpoint after the store closes.
"""

from __future__ import annotations

from stepauth.provider.ops.logs import configure_logging, note_client
from stepauth.provider.ops.metrics import Metrics
from stepauth.provider.ops.requests import RequestObserver
from stepauth.provider.ops.tracing import tracing_middleware

__all__ = ["Metrics", "RequestObserver", "configure_logging", "note_client", "tracing_middleware"]
