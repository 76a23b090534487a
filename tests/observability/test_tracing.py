"""OpenTelemetry: spans named by route template, no query string; no tracer, no wrap.

``opentelemetry-instrumentation-asgi`` is in the ``otel`` extra (part of ``dev``), so
under CI the first test runs; outside CI a missing package skips it with its name.
"""

from __future__ import annotations

import importlib
import secrets
from pathlib import Path
from typing import Any

import pytest

from stepauth.provider.ops import tracing
from tests.conftest import require
from tests.helpers.harness import running_provider


def _exporter() -> Any:
    """An in-memory exporter on the global tracer provider (set once per process)."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def _installed() -> bool:
    try:
        importlib.import_module(tracing.OTEL_MODULE)
        importlib.import_module("opentelemetry.sdk.trace")
    except ImportError:
        return False
    return True


async def test_spans_are_named_by_route_template_without_the_query(tmp_path: Path) -> None:
    require(_installed(), "opentelemetry-instrumentation-asgi and opentelemetry-sdk (otel extra)")
    exporter = _exporter()
    hint = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln"
    uid = secrets.token_urlsafe(24)
    async with running_provider(tmp_path) as provider:
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        assert any(m.cls is OpenTelemetryMiddleware for m in provider.app.user_middleware)
        response = await provider.browser.get(f"/interaction/{uid}", params={"id_token_hint": hint})
        assert response.status_code == 400
        # the app still gets its query string behind the instrumentation
        authorize = await provider.browser.get("/authorize", params={"client_id": "spa"})
        assert "redirect_uri" in authorize.text
    spans = exporter.get_finished_spans()
    names = {span.name for span in spans}
    assert "GET /interaction/{uid}" in names
    assert "GET /authorize" in names
    assert not any(uid in name for name in names)  # an id never names a span
    recorded = repr([(s.name, dict(s.attributes or {})) for s in spans])
    assert hint not in recorded
    assert "id_token_hint" not in recorded


async def test_without_a_tracer_provider_nothing_is_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed but not configured (the API's no-op provider): no middleware, no cost."""
    require(_installed(), "opentelemetry-instrumentation-asgi and opentelemetry-sdk (otel extra)")
    from opentelemetry import trace

    monkeypatch.setattr(trace, "get_tracer_provider", trace.ProxyTracerProvider)
    assert tracing.tracing_middleware([]) == []
    async with running_provider(tmp_path) as provider:
        names = [m.cls.__name__ for m in provider.app.user_middleware]
        assert names == ["RequestFrame"]


async def test_without_opentelemetry_nothing_is_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.import_module

    def without_otel(name: str, package: str | None = None) -> Any:
        if name == tracing.OTEL_MODULE:
            raise ImportError(f"No module named {name!r}")
        return real(name, package)

    monkeypatch.setattr(tracing.importlib, "import_module", without_otel)
    assert tracing.tracing_middleware([]) == []
    async with running_provider(tmp_path) as provider:
        names = [m.cls.__name__ for m in provider.app.user_middleware]
        assert names == ["RequestFrame"]
        assert (await provider.browser.get("/healthz")).status_code == 200
