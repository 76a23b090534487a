"""The ``[metrics]``, ``[logging]`` and ``[server] shutdown_timeout`` settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stepauth.errors import ConfigError
from stepauth.provider.config import LoggingConfig, MetricsConfig, ProviderConfig
from tests.helpers.harness import config_data


def _load(tmp_path: Path, **overrides: Any) -> ProviderConfig:
    return ProviderConfig.from_dict(config_data(tmp_path / "db", **overrides), base_dir=tmp_path)


def test_defaults_keep_metrics_off_and_on_loopback(tmp_path: Path) -> None:
    config = _load(tmp_path)
    assert config.metrics == MetricsConfig(enabled=False, host="127.0.0.1", port=9464)
    assert config.logging == LoggingConfig(format="json", level="info")
    assert config.server.shutdown_timeout == 30


def test_values_are_read(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        metrics={"enabled": True, "host": "0.0.0.0", "port": 9100},
        logging={"format": "text", "level": "DEBUG"},
        server={"shutdown_timeout": 5},
    )
    assert config.metrics == MetricsConfig(enabled=True, host="0.0.0.0", port=9100)
    assert config.logging == LoggingConfig(format="text", level="debug")
    assert config.server.shutdown_timeout == 5


@pytest.mark.parametrize(
    ("table", "value", "key"),
    [
        ("metrics", {"enabled": "yes"}, "metrics.enabled"),
        ("metrics", {"port": 0}, "metrics.port"),
        ("metrics", {"port": 70000}, "metrics.port"),
        ("metrics", {"host": ""}, "metrics.host"),
        ("metrics", {"path": "/metrics"}, "metrics.path"),
        ("logging", {"format": "xml"}, "logging.format"),
        ("logging", {"level": "loud"}, "logging.level"),
        ("logging", {"file": "/tmp/x"}, "logging.file"),
        ("server", {"shutdown_timeout": 0}, "server.shutdown_timeout"),
        ("server", {"shutdown_timeout": "30"}, "server.shutdown_timeout"),
    ],
)
def test_bad_values_name_their_key(tmp_path: Path, table: str, value: Any, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, **{table: value})
    assert caught.value.key == key
