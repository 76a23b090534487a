"""``stepauth purge``: delete expired rows once, print the counts; one error line on failure."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from stepauth.cli import main
from stepauth.provider.config import load_config
from stepauth.provider.ops.purge import retention
from stepauth.store import open_store
from tests.cli.conftest import SECRET

pytestmark = pytest.mark.usefixtures("environment")


def _seed(config: Path, *, expired: int, live: int) -> None:
    loaded = load_config(config)
    now = time.time()
    gone = now - retention(loaded) - 1

    async def seed() -> None:
        store = await open_store(loaded.database.url, secret=SECRET.encode())
        try:
            for n in range(expired):
                await store.put("code", f"old{n}", {}, expires_at=gone)
            for n in range(live):
                await store.put("code", f"new{n}", {}, expires_at=now + 60)
        finally:
            await store.close()

    asyncio.run(seed())


def _codes(config: Path) -> int:
    with sqlite3.connect(config.parent / "stepauth.db") as db:
        count = int(db.execute("SELECT count(*) FROM items WHERE kind = 'code'").fetchone()[0])
    db.close()
    return count


def test_purge_deletes_expired_rows_and_prints_the_counts(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(config, expired=7, live=2)
    capsys.readouterr()
    assert main(["purge", "--batch", "3", "--config", str(config)]) == 0
    assert capsys.readouterr().out.strip() == (
        "purged 7 expired rows (items 7, sessions 0, failures 0)"
    )
    assert _codes(config) == 2
    assert main(["purge", "--config", str(config)]) == 0
    assert capsys.readouterr().out.startswith("purged 0 expired rows")


def test_purge_refuses_a_batch_below_one(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["purge", "--batch", "0", "--config", str(config)]) == 2
    assert capsys.readouterr().err == "stepauth: error: --batch must be at least 1\n"


def test_purge_on_a_database_that_fails_is_one_line(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(config, expired=1, live=0)
    with sqlite3.connect(config.parent / "stepauth.db") as db:
        db.execute("DROP TABLE sessions")
    db.close()
    capsys.readouterr()
    assert main(["purge", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("stepauth: error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err
