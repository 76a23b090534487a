"""The committed screenshots of the hosted pages cannot drift from the page states.

``scripts/page_screenshots.py`` walks the states the accessibility test walks (the same
:func:`~tests.helpers.page_states.walk` and :data:`~tests.helpers.page_states.STATES`),
and ``docs/screenshots/pages/README.md`` lists one PNG per state, language and width, each
of them present, of that width, and nothing else.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import struct
from pathlib import Path

from tests.conftest import ROOT
from tests.helpers import page_states
from tests.helpers.page_shots import LANGUAGES, OUT, WIDTHS, index, shot_path

SCRIPT = ROOT / "scripts" / "page_screenshots.py"
ACCESSIBILITY = ROOT / "tests" / "provider" / "test_accessibility.py"
PNG = b"\x89PNG\r\n\x1a\n"


def _png_width(path: Path) -> int:
    head = path.read_bytes()[:24]
    assert head[:8] == PNG, path
    assert head[12:16] == b"IHDR", path
    width: int = struct.unpack(">I", head[16:20])[0]
    return width


def _imported_from(source: Path, module: str) -> set[str]:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    return {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == module
        for alias in node.names
    }


def test_the_script_and_the_accessibility_test_walk_the_same_states() -> None:
    spec = importlib.util.spec_from_file_location("page_screenshots", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.walk is page_states.walk
    assert script.STATES is page_states.STATES
    assert {"walk", "STATES"} <= _imported_from(ACCESSIBILITY, "tests.helpers.page_states")
    assert len(set(page_states.STATES)) == len(page_states.STATES) == 16


def test_file_names_are_numbered_in_walk_order() -> None:
    names = [page_states.file_name(state) for state in page_states.STATES]
    assert names[0] == "01-sign-in.png"
    assert names[1] == "02-sign-in-refused.png"
    assert [int(n[:2]) for n in names] == list(range(1, len(names) + 1))
    assert len(set(names)) == len(names)


def test_the_index_is_the_one_the_script_writes() -> None:
    readme = OUT / "README.md"
    assert readme.read_text(encoding="utf-8") == index(), (
        "docs/screenshots/pages/README.md is stale: run scripts/page_screenshots.py"
    )


def test_the_index_lists_every_state_language_and_width_and_each_file_exists() -> None:
    listed = set(re.findall(r"\]\(([^)]+\.png)\)", (OUT / "README.md").read_text("utf-8")))
    expected = {
        shot_path(Path("."), lang, width, state).as_posix()
        for lang in LANGUAGES
        for width in WIDTHS
        for state in page_states.STATES
    }
    assert listed == expected
    assert len(listed) == 16 * 2 * 2
    for link in sorted(listed):
        path = OUT / link
        assert path.is_file(), f"{link} is listed but missing: run scripts/page_screenshots.py"
        assert _png_width(path) == int(path.parent.name), link
    on_disk = {p.relative_to(OUT).as_posix() for p in OUT.glob("*/*/*.png")}
    assert on_disk == listed, on_disk ^ listed
