"""Fixtures of the CLI tests: the Provider's secret in the environment, a config written
by ``stepauth init``, a terminal for the ``getpass`` prompts and a user added by the CLI
(``add_user``, or the fixture ``with_alice``)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from stepauth.cli import main

__all__ = ["KEY_ENV", "SECRET", "Terminal", "add_user"]

KEY_ENV = "STEPAUTH_SECRET_KEY"
SECRET = "cli-test-secret-0123456789abcdef0123456789"


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    monkeypatch.delenv("STEPAUTH_CONFIG", raising=False)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    assert main(["init", str(tmp_path / "op")]) == 0
    return tmp_path / "op" / "stepauth.toml"


@pytest.fixture
def with_alice(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The password user ``alice`` added to ``config`` by the CLI."""
    assert add_user(config, "alice", "a long enough password", monkeypatch) == 0


class Terminal(io.StringIO):
    """Standard input that is a terminal (for the ``getpass`` prompts)."""

    def isatty(self) -> bool:
        return True


def add_user(config: Path, name: str, password: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    return main(["users", "add", name, "--password-stdin", "--config", str(config)])
