"""``bench.compare_trees``: each tree beside the first, round by round and in total."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.compare_trees import _print_cpu


def test_each_tree_is_divided_by_the_first_round_by_round(
    capsys: pytest.CaptureFixture[str],
) -> None:
    old, new = Path("old/src"), Path("new/src")
    _print_cpu([old, new], {0: [2.0, 2.5, 2.0], 1: [2.2, 2.5, 2.1]})
    rows = capsys.readouterr().out.splitlines()
    assert rows[2] == "| old/src | 2.00 2.50 2.00 | 2.00 | 2.17 | | | |"
    # per round 1.1, 1.0, 1.05: median 1.05; totals 6.8 / 6.5
    assert (
        rows[3] == "| new/src | 2.20 2.50 2.10 | 2.20 | 2.27 | 1.100 1.000 1.050 | 1.050 | 1.046 |"
    )
    assert all(row.count("|") == 8 for row in rows)
