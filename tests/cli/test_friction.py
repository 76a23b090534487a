"""``stepauth friction report``: its period, its output, and bad input in one line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stepauth.cli import main
from stepauth.cli.friction import parse_time
from stepauth.errors import StepAuthError

DEC_1 = datetime(2026, 12, 1, tzinfo=UTC).timestamp()


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("stepauth: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--since", "yesterday"], "--since must be a date (YYYY-MM-DD)"),
        (["--until", "2026-02-30"], "--until must be a date (YYYY-MM-DD)"),
        (["--since", "2026-12-02", "--until", "2026-12-01"], "--since must be before --until"),
    ],
)
def test_a_bad_period_is_one_error_line(
    argv: list[str], says: str, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["friction", "report", *argv, "--config", str(config)]) == 2
    captured = capsys.readouterr()
    assert says in _one_error_line(captured.err)
    assert captured.out == ""


def test_an_empty_log_reports_nothing(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["friction", "report", "--config", str(config), "--since", "2026-12-01"]
    assert main([*argv, "--until", "2026-12-03"]) == 0
    assert capsys.readouterr().out.strip() == "no friction records in this period"
    assert main([*argv, "--until", "2026-12-03", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document == {
        "since": "2026-12-01T00:00:00+00:00",
        "until": "2026-12-04T00:00:00+00:00",  # the --until date is included
        "actions": [],
    }


def test_dates_and_times_are_utc() -> None:
    assert parse_time("2026-12-01", option="--since") == DEC_1
    assert parse_time("2026-12-01", option="--until", end=True) == DEC_1 + 86_400
    assert parse_time("2026-12-01T06:00:00", option="--since") == DEC_1 + 6 * 3600
    assert parse_time("2026-12-01T06:00:00+01:00", option="--since") == DEC_1 + 5 * 3600
    with pytest.raises(StepAuthError, match="--since must be a date"):
        parse_time("12/01/2026", option="--since")
