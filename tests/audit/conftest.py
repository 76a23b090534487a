"""Fixtures of the audit tests: an initialised Provider directory for CLI runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from stepauth.cli import main

KEY_ENV = "STEPAUTH_SECRET_KEY"
SECRET = "audit-test-secret-0123456789abcdef0123456789"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(KEY_ENV, SECRET)
    monkeypatch.delenv("STEPAUTH_CONFIG", raising=False)
    assert main(["init", str(tmp_path / "op")]) == 0
    return tmp_path / "op" / "stepauth.toml"
