"""The friction report of a test Provider: through ``stepauth friction report`` (the CLI
reading the harness's database, at the Provider's clock) and its ``--json`` rows."""

from __future__ import annotations

import asyncio
import contextlib
import io
from pathlib import Path
from typing import Any

import pytest

from stepauth.cli import main
from tests.helpers.harness import ISSUER, Provider

__all__ = ["action_total", "cli_report"]


def _config(tmp_path: Path) -> Path:
    """A config file for the CLI naming the harness's database."""
    path = tmp_path / "cli.toml"
    url = f"sqlite+aiosqlite:///{tmp_path / 'stepauth.db'}"
    path.write_text(f'issuer = "{ISSUER}"\n\n[database]\nurl = "{url}"\n')
    return path


async def cli_report(
    tmp_path: Path, provider: Provider, monkeypatch: pytest.MonkeyPatch, *argv: str
) -> tuple[int, str, str]:
    """Run the CLI at the Provider's clock, in a thread: it runs its own event loop. The
    CLI reads the store: first the Provider writes the requests its sessions answered,
    as a running one does every interval and at shutdown."""
    await provider.state.friction.flush(provider.store)
    monkeypatch.setattr("stepauth.cli.friction.time.time", provider.clock)
    args = ["friction", "report", "--config", str(_config(tmp_path)), *argv]
    out, err = io.StringIO(), io.StringIO()

    def run() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return main(args)

    code = await asyncio.to_thread(run)
    return code, out.getvalue(), err.getvalue()


def action_total(document: dict[str, Any], action: str) -> dict[str, Any]:
    """The ``total`` row of ``action`` in a ``--json`` report."""
    (entry,) = [a for a in document["actions"] if a["action"] == action]
    total: dict[str, Any] = entry["total"]
    return total
