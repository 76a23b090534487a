"""The provider benchmark's friction-off server and the row comparing it with the real one."""

from __future__ import annotations

import importlib
import os
import subprocess
from typing import Any

import pytest
from bench._provider_report import BEARER, NO_FRICTION, Outcome, friction_cost, render
from bench._servers import ROOT, friction_off_command

from bench import _friction_off as friction_off
from stepauth.provider.friction import recorder


class Untouchable:
    """A context no recorder function may read: any attribute access fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the silenced recorder read {name}")


@pytest.fixture
def silenced(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in friction_off.RECORDER_ENTRY_POINTS:  # restored after the test
        monkeypatch.setattr(recorder, name, getattr(recorder, name))
    friction_off.silence_recorder()


def test_call_sites_reach_the_module_attributes() -> None:
    # the Provider calls recorder.answered(…) etc. through the module: a replaced
    # attribute is what runs
    for name in ("authorize.conclude", "interaction.routes"):
        module = importlib.import_module(f"stepauth.provider.{name}")
        assert module.friction is recorder


async def test_silenced_recorder_records_nothing(silenced: None) -> None:
    ctx: Any = Untouchable()
    assert await recorder.answered(ctx, None, ctx, ctx) is None
    async with recorder.refusals(ctx, None):
        pass
    assert await recorder.factor_tried(ctx, "uid", "totp", None) is None
    assert await recorder.completed(ctx, "uid", ctx, ctx) is None
    assert await recorder.ended(ctx, "uid", RuntimeError()) is None


def test_friction_off_command_runs_the_cli() -> None:
    argv, pythonpath = friction_off_command(ROOT / "src")
    assert pythonpath.split(os.pathsep)[0] == str(ROOT / "src")
    assert pythonpath.split(os.pathsep)[-1] == str(ROOT)
    proc = subprocess.run(
        [*argv, "serve", "--help"],
        env={**os.environ, "PYTHONPATH": pythonpath},
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "--config" in proc.stdout


def _outcome(server: str, cpu_ms: list[float]) -> Outcome:
    rounds = [
        {"flows": 100, "server_cpu_seconds": ms * 100 / 1000, "seconds": 1.0} for ms in cpu_ms
    ]
    return Outcome(server, BEARER, rounds=rounds)


def test_friction_cost_within_goal() -> None:
    text = friction_cost([_outcome("stepauth", [2.04, 2.04]), _outcome(NO_FRICTION, [2.0, 2.0])])
    assert text is not None
    assert "+0.04 ms (+2.0 %)" in text
    assert "median ×1.02" in text
    assert "goal ≤ +5 %: met." in text


def test_friction_cost_over_goal() -> None:
    text = friction_cost([_outcome("stepauth", [2.2]), _outcome(NO_FRICTION, [2.0])])
    assert text is not None
    assert "+10.0 %" in text
    assert "not met" in text


def test_no_friction_row_no_sentence() -> None:
    assert friction_cost([_outcome("stepauth", [2.0])]) is None


def test_render_names_the_command() -> None:
    outcomes = [_outcome("stepauth", [2.04]), _outcome(NO_FRICTION, [2.0])]
    for o in outcomes:
        o.rounds[0].update(
            flows_per_second=100.0, latency_ms={"p50": 1.0, "p95": 2.0, "p99": 3.0}, errors=0
        )
    text = render(
        outcomes,
        flows={BEARER: 100},
        rounds=1,
        concurrency=8,
        warmup=0,
        load_start=1.0,
        command=".venv/bin/python -m bench.provider --friction-off",
    )
    assert "Command: `.venv/bin/python -m bench.provider --friction-off`" in text
    assert "| stepauth (friction off) |" in text
    assert "goal ≤ +5 %: met." in text
