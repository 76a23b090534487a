"""stepauth.observe: the store and the audit log report to the Provider's metrics and log
context without importing the Provider (the Provider's ops install the receivers)."""

from __future__ import annotations

from typing import Any

import pytest

from stepauth import audit, observe
from stepauth.provider.ops import logs, metrics


class _AuditSink:
    def __init__(self) -> None:
        self.events: list[Any] = []

    async def append_audit(self, event: Any, *, now: float) -> None:
        self.events.append(event)


def test_a_report_without_receivers_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observe, "_receivers", observe._Receivers())
    observe.store_error("redis")
    observe.attempt("totp", "failure")
    observe.client_known("rp")


def test_installing_replaces_only_the_receivers_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observe, "_receivers", observe._Receivers())
    seen: list[tuple[str, ...]] = []
    observe.install(store_error=lambda backend: seen.append(("store", backend)))
    observe.install(attempt=lambda factor, result: seen.append(("attempt", factor, result)))
    observe.store_error("redis")
    observe.attempt("totp", "success")
    assert seen == [("store", "redis"), ("attempt", "totp", "success")]


def test_a_store_error_is_counted_on_the_app_serving_the_request() -> None:
    counted = metrics.Metrics()
    with metrics.active(counted):
        observe.store_error("redis")
    observe.store_error("redis")  # outside a request: nobody's
    value = counted.registry.get_sample_value("stepauth_store_errors_total", {"backend": "redis"})
    assert value == 1.0


async def test_an_audited_attempt_is_counted_and_names_the_request_client() -> None:
    counted = metrics.Metrics()
    sink = _AuditSink()
    context = logs.RequestContext("req-1")
    token = logs.request_context.set(context)
    try:
        with metrics.active(counted):
            await audit.attempt(
                sink,
                now=1.0,
                result="failure",
                factor="totp",
                user_id="u1",
                client=audit.Client(ip="192.0.2.1", user_agent="t"),
                client_id="bank",
            )
    finally:
        logs.request_context.reset(token)
    assert sink.events[0]["result"] == "failure"
    assert context.client_id == "bank"
    value = counted.registry.get_sample_value(
        "stepauth_authentication_attempts_total", {"factor": "totp", "result": "failure"}
    )
    assert value == 1.0
