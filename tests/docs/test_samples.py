"""Every ```python block in README.md and docs/*.md runs, in order, one namespace per file.

Each file runs in a process of its own (:mod:`tests.docs.samples`), in a scratch folder
holding a copy of ``examples/`` (so a sample may load ``policy.toml`` the way a reader would
from their own project folder). Shell, console, TOML and text blocks are not run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.samples import samples

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@pytest.mark.parametrize(
    "path", [p for p in DOCS if samples(p)], ids=lambda p: str(p.relative_to(ROOT))
)
def test_code_samples_run(path: Path, tmp_path: Path) -> None:
    for example in (ROOT / "examples").glob("*"):
        if example.is_file():
            shutil.copy(example, tmp_path / example.name)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.docs.samples", str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-6000:]


def test_there_are_samples() -> None:
    assert any(samples(p) for p in DOCS)
