"""``stepauth users grant-admin|revoke-admin`` through ``stepauth.cli.main``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stepauth.cli import main
from tests.cli.stored import store_call

pytestmark = pytest.mark.usefixtures("environment", "with_alice")


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
