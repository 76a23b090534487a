"""``stepauth users`` and ``stepauth clients`` through ``main([...])``: adding, listing,
disabling, passwords (prompted twice, weak ones refused), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from stepauth.cli import main
from stepauth.provider.config import load_config
from tests.cli.conftest import Terminal, add_user
from tests.cli.stored import password_hash as stored_password_hash

pytestmark = pytest.mark.usefixtures("environment")


def test_users_add_list_disable(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add_user(config, "alice", "correct horse battery staple", monkeypatch) == 0
    assert add_user(config, "bob", "another good passphrase", monkeypatch) == 0
    capsys.readouterr()
    assert main(["users", "list", "--config", str(config)]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [(r[0], r[1]) for r in rows] == [("alice", "active"), ("bob", "active")]

    assert main(["users", "disable", "alice", "--config", str(config)]) == 0
    assert main(["--config", str(config), "users", "list"]) == 0
    out = capsys.readouterr().out
    assert "alice\tdisabled" in out
    assert "bob\tactive" in out

    password_hash = stored_password_hash(config, "bob")
    assert password_hash is not None
    assert password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(password_hash, "another good passphrase")


def test_users_set_password(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add_user(config, "erin", "first long password", monkeypatch) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("second long password\n"))
    command = ["users", "set-password", "erin", "--password-stdin", "--config", str(config)]
    assert main(command) == 0

    password_hash = stored_password_hash(config, "erin")
    assert password_hash is not None
    assert PasswordHasher().verify(password_hash, "second long password")
    monkeypatch.setattr(sys, "stdin", io.StringIO("another long password\n"))
    command[2] = "nobody"
    assert main(command) == 2
    assert "no user named" in capsys.readouterr().err


def test_users_add_twice_is_refused(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add_user(config, "alice", "correct horse battery staple", monkeypatch) == 0
    assert add_user(config, "alice", "correct horse battery staple", monkeypatch) == 2
    assert "already exists" in capsys.readouterr().err


def test_users_add_prompts_twice(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter(["first password", "second password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr(sys, "stdin", Terminal())  # getpass asks on a terminal only
    assert main(["users", "add", "carol", "--config", str(config)]) == 2
    assert "do not match" in capsys.readouterr().err
    answers = iter(["same password", "same password"])
    assert main(["users", "add", "carol", "--config", str(config)]) == 0


@pytest.mark.parametrize("password", ["", "short"])
def test_users_add_refuses_weak_passwords(
    config: Path, password: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add_user(config, "dave", password, monkeypatch) == 2
    assert "at least 8 characters" in capsys.readouterr().err


def test_users_disable_unknown(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["users", "disable", "nobody", "--config", str(config)]) == 2
    assert "no user named" in capsys.readouterr().err


def test_clients_list(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["clients", "list", "--config", str(config)]) == 0
    (row,) = capsys.readouterr().out.splitlines()
    assert row.startswith("demo\tconfidential\tclient_secret_basic")


@pytest.mark.postgres
def test_users_and_keys_on_postgresql(
    config: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The same commands against PostgreSQL: the schema is migrated on first use."""
    text = config.read_text().replace(
        'url = "sqlite+aiosqlite:///stepauth.db"', f'url = "{postgres_url}"'
    )
    config.write_text(text)
    assert load_config(config).database.url == postgres_url
    assert add_user(config, "alice", "correct horse battery staple", monkeypatch) == 0
    assert main(["keys", "rotate", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["users", "list", "--config", str(config)]) == 0
    assert capsys.readouterr().out.startswith("alice\tactive")
    assert not (config.parent / "stepauth.db").exists()
