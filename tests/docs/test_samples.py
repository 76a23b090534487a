"""Every ```python block in README.md and docs/*.md runs, in order, one namespace per file.

Samples run in a scratch folder holding a copy of ``examples/`` (so a sample may load
``policy.toml`` the way a reader would from their own project folder).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _samples(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "path", [p for p in DOCS if _samples(p)], ids=lambda p: str(p.relative_to(ROOT))
)
def test_code_samples_run(path: Path, tmp_path: Path) -> None:
    namespace: dict[str, object] = {"__name__": f"docs_sample_{path.stem}"}
    for example in (ROOT / "examples").glob("*"):
        if example.is_file():
            shutil.copy(example, tmp_path / example.name)
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        for index, source in enumerate(_samples(path)):
            code = compile(source, f"{path.name}[block {index}]", "exec")
            exec(code, namespace)  # the docs are ours; running them is the test
    finally:
        os.chdir(cwd)


def test_there_are_samples() -> None:
    assert any(_samples(p) for p in DOCS)
