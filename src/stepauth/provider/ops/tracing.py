"""Optional OpenTelemetry tracing: the app wrapped in ``OpenTelemetryMiddleware``.

Only when ``opentelemetry-instrumentation-asgi`` is importable (the ``otel`` extra) and a
tracer provider is installed when the app is built (``opentelemetry-instrument``, or the
SDK's ``trace.set_tracer_provider``); otherwise nothing is added, silently. With the API's
default no-op provider there is nothing to record, and the middleware would still cost
about 0.2 ms per request. Exporters and samplers are the deployment's.

Spans follow the same rule as the logs and metrics: a span is named by the method and
the route *template* (``POST /interaction/{uid}``), and the query string is hidden from
the instrumentation (an ``id_token_hint``, a ``request`` object or a ``login_hint`` can
ride in it): it is set aside before ``OpenTelemetryMiddleware`` and put back after it. The path
attributes stay: the Provider's paths carry ids (an interaction, a factor), never a
secret.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from starlette.middleware import Middleware

from stepauth.provider.ops.metrics import METHODS
from stepauth.provider.ops.requests import route_template

if TYPE_CHECKING:
    from starlette.routing import BaseRoute
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["OTEL_MODULE", "tracing_middleware"]

OTEL_MODULE = "opentelemetry.instrumentation.asgi"
_QUERY = "stepauth.query_string"


class HideQuery:
    """Outside the instrumentation: move the query string out of its sight."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, _QUERY: scope.get("query_string", b""), "query_string": b""}
        await self.app(scope, receive, send)


class RestoreQuery:
    """Inside the instrumentation: give the app its query string back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _QUERY in scope:
            scope = {**scope, "query_string": scope[_QUERY]}
            del scope[_QUERY]
        await self.app(scope, receive, send)


def tracing_middleware(routes: list[BaseRoute]) -> list[Middleware]:
    """The tracing layers (outermost first) when OpenTelemetry is importable and a tracer
    provider is installed, else ``[]``."""
    try:
        module: Any = importlib.import_module(OTEL_MODULE)
        trace: Any = importlib.import_module("opentelemetry.trace")
    except ImportError:
        return []
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return []  # no tracer provider installed: every span would be dropped

    def span_details(scope: Scope) -> tuple[str, dict[str, str]]:
        route = route_template(routes, scope)
        method = str(scope.get("method", ""))
        return f"{method if method in METHODS else 'HTTP'} {route}", {"http.route": route}

    return [
        Middleware(HideQuery),
        Middleware(module.OpenTelemetryMiddleware, default_span_details=span_details),
        Middleware(RestoreQuery),
    ]
