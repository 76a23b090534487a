"""A database ``stepauth`` cannot use is refused at start with one line, exit status 2.

An unknown schema revision (``alembic_version`` names none this stepauth ships), a file
that is not a database, a corrupted SQLite file (``PRAGMA quick_check``) and a schema at
the newest revision with a table missing: ``stepauth serve`` and the other commands that
open the store print ONE ``stepauth: error: …`` line on stderr and exit 2 (no
traceback), before anything listens; never a 500 on the first request that needs it.
The real CLI runs in a subprocess.
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from stepauth.cli import main
from tests.conftest import free_port
from tests.helpers.cli_process import KEY_ENV, env_without_secret, stepauth_argv


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``stepauth init`` output (secret in .env), its SQLite database migrated."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv("STEPAUTH_CONFIG", raising=False)
    assert main(["init", str(tmp_path / "op")]) == 0
    path = tmp_path / "op" / "stepauth.toml"
    assert _stepauth(path, "keys", "list").returncode == 0
    assert (tmp_path / "op" / "stepauth.db").exists()
    return path


def _stepauth(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        stepauth_argv("--config", str(config), *args),
        env=env_without_secret(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _refused_with_one_line(config: Path, reason: str) -> None:
    for args in (("serve", "--port", str(free_port())), ("keys", "list"), ("users", "list")):
        result = _stepauth(config, *args)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.splitlines()
        assert len(lines) == 1, (args, result.stderr)
        assert lines[0].startswith("stepauth: error: "), lines
        assert reason in lines[0], lines
        assert "Traceback" not in result.stdout + result.stderr


def _unknown_revision(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'f00dfeed0099'")


def _not_a_database(db: Path) -> None:
    db.write_bytes(b"these are notes, not a database\n" * 200)


def _corrupted(db: Path) -> None:
    # keep the header and the schema page; garble every page after the second
    size = db.stat().st_size
    with db.open("r+b") as f:
        f.seek(2 * 4096)
        f.write(bytes((i * 131 + 7) % 256 for i in range(size - 2 * 4096)))


def _table_missing(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE factor_counters")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_unknown_revision, "unknown schema revision"),
        (_not_a_database, "file is not a database"),
        (_corrupted, "corrupted"),
        (_table_missing, "lacks factor_counters"),
    ],
    ids=["unknown_revision", "not_a_database", "corrupted", "table_missing"],
)
def test_unusable_database_is_refused_at_start_with_one_line(
    config: Path, damage: Callable[[Path], None], reason: str
) -> None:
    db = config.parent / "stepauth.db"
    for leftover in (db.with_name("stepauth.db-wal"), db.with_name("stepauth.db-shm")):
        leftover.unlink(missing_ok=True)
    damage(db)
    _refused_with_one_line(config, reason)
