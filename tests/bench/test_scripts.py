"""``make bench`` runs the benchmarks, not the tools that need arguments of their own."""

from __future__ import annotations

from bench.__main__ import scripts


def test_make_bench_runs_each_benchmark_but_not_the_tree_comparison() -> None:
    default = scripts([])
    assert "compare_trees" not in default
    assert {"assurance", "factors", "provider", "sdk"} <= set(default)
    assert "soak" not in default
    assert scripts(["soak"]) == ["soak"]
