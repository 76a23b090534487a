"""Every ```python block in README.md and docs/*.md runs, in order, one namespace per file.

Each file runs in a process of its own (:mod:`tests.docs.samples`), in a scratch folder
holding a copy of ``examples/`` (so a sample may load ``policy.toml`` the way a reader would
from their own project folder). Shell, console, TOML and text blocks are not run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.samples import samples

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
NEEDS = re.compile(r"<!-- samples need: ([a-z ]+) -->")
#: What a page may need → the environment variables its samples get, and their fixtures.
SERVICES = {
    "postgres": {"DATABASE_URL": "postgres_url"},
    "redis": {"REDIS_URL": "redis_url", "REDIS_PREFIX": "redis_prefix"},
}


def _needs(path: Path) -> list[str]:
    found = NEEDS.search(path.read_text(encoding="utf-8"))
    return found.group(1).split() if found else []


def _services(path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    return {
        variable: str(request.getfixturevalue(fixture))
        for name in _needs(path)
        for variable, fixture in SERVICES[name].items()
    }


@pytest.mark.parametrize(
    "path", [p for p in DOCS if samples(p)], ids=lambda p: str(p.relative_to(ROOT))
)
def test_code_samples_run(path: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    for example in (ROOT / "examples").glob("*"):
        if example.is_file():
            shutil.copy(example, tmp_path / example.name)
    _run_samples(path, tmp_path, request)


def _run_samples(path: Path, folder: Path, request: pytest.FixtureRequest) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        **_services(path, request),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "tests.docs.samples", str(path)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-6000:]


@pytest.mark.parametrize(
    "path", sorted((ROOT / "docs").glob("quickstart-*.md")), ids=lambda p: p.name
)
def test_a_quick_start_runs_twice_in_one_folder(
    path: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A reader who runs the page again, where they ran it, gets the same result."""
    _run_samples(path, tmp_path, request)
    _run_samples(path, tmp_path, request)


def test_there_are_samples() -> None:
    assert any(samples(p) for p in DOCS)


def test_every_needed_service_is_known() -> None:
    for path in DOCS:
        assert set(_needs(path)) <= set(SERVICES), path.name
