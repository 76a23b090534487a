"""Reading the Provider's Prometheus metrics: a sample of a text exposition, or the
current value in an app's own registry."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

__all__ = ["sample", "value"]


def sample(exposition: str, name: str, **labels: str) -> float:
    """The value of sample ``name`` with exactly ``labels`` in a text exposition (0 if absent)."""
    for family in text_string_to_metric_families(exposition):
        for metric in family.samples:
            if metric.name == name and metric.labels == labels:
                return float(metric.value)
    return 0.0


def value(app: Any, name: str, **labels: str) -> float:
    """The current value of ``name`` in the app's own registry (0 if never observed)."""
    found = app.state.metrics.registry.get_sample_value(name, labels)
    return float(found) if found is not None else 0.0
