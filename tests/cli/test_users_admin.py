"""``stepauth users grant-admin|revoke-admin`` through ``stepauth.cli.main``."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest

from stepauth.cli import main
from tests.cli.stored import store_call

KEY_ENV = "STEPAUTH_SECRET_KEY"
SECRET = "cli-test-secret-0123456789abcdef0123456789"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    monkeypatch.delenv("STEPAUTH_CONFIG", raising=False)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    assert main(["init", str(tmp_path / "op")]) == 0
    path = tmp_path / "op" / "stepauth.toml"
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    assert main(["users", "add", "alice", "--password-stdin", "--config", str(path)]) == 0
    return path


def _roles_and_audit(config: Path) -> tuple[frozenset[str], list[dict[str, Any]]]:
    async def work(store: Any) -> tuple[frozenset[str], list[dict[str, Any]]]:
        user = await store.get_user_by_username("alice")
        rows = [r for r in await store.tail_audit(50) if r.get("event") == "role_change"]
        return await store.user_roles(user.id), rows

    return store_call(config, work)


def test_grant_then_revoke_admin(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["users", "grant-admin", "alice", "--config", str(config)]) == 0
    assert capsys.readouterr().out.strip() == "admin role granted: alice"
    roles, rows = _roles_and_audit(config)
    assert roles == {"admin"}
    assert [(r["action"], r["role"]) for r in rows] == [("grant", "admin")]
    assert main(["users", "grant-admin", "alice", "--config", str(config)]) == 0
    assert capsys.readouterr().out.strip() == "admin role granted: alice (no change)"
    assert main(["users", "revoke-admin", "alice", "--config", str(config)]) == 0
    assert capsys.readouterr().out.strip() == "admin role revoked: alice"
    roles, rows = _roles_and_audit(config)
    assert roles == frozenset()
    assert sorted(r["action"] for r in rows) == ["grant", "revoke"]


def test_grant_admin_to_unknown_user_fails(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["users", "grant-admin", "nobody", "--config", str(config)]) != 0
    assert "no user named 'nobody'" in capsys.readouterr().err
