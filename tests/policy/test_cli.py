"""``stepauth policy explain`` prints the decision and why; a bad policy file exits non-zero."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stepauth.cli import main
from tests.policy.conftest import EXAMPLE


def _run(*argv: str) -> int:
    return main(list(argv))


def _context(tmp_path: Path, data: object) -> str:
    path = tmp_path / "ctx.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_explain_prints_decision_and_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx = _context(tmp_path, {"amount": "1250.00", "currency": "EUR", "new_device": True})
    code = _run(
        "policy", "explain", "--action", "transfer", "--context", ctx, "--policy", str(EXAMPLE)
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[:2] == [
        "action: transfer",
        "decision: step-up to acr=phr max_age=300, bound to this transaction",
    ]
    assert "[rules.new_device] context.new_device is true: max_age ≤ 300, no exemption" in out
    assert "a risk rule fired, so no exemption applies" in out


def test_explain_exempt_payment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ctx = _context(tmp_path, {"amount": "30.00", "counters": {"transactions": 2, "amount": "70"}})
    code = _run(
        "policy", "explain", "--action", "transfer", "--context", ctx, "--policy", str(EXAMPLE)
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "decision: no step-up; exempt under low_value" in out
    assert "persist after the action: transactions_since_sca=3 amount_since_sca=100.00" in out


def test_explain_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ctx = _context(tmp_path, {"has_hardware_key": True})
    code = _run(
        "policy", "explain", "--action", "change_payout_details", "--context", ctx,
        "--policy", str(EXAMPLE), "--json",
    )  # fmt: skip
    decision = json.loads(capsys.readouterr().out)
    assert code == 0
    assert decision["requirement"] == {"acr_values": ["phrh"], "max_age": 0}
    assert decision["bind"] is True
    assert [r["rule"] for r in decision["reasons"]][:2] == [
        "actions.change_payout_details",
        "actions.change_payout_details.upgrade[0]",
    ]


def test_policy_from_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STEPAUTH_POLICY", str(EXAMPLE))
    assert _run("policy", "explain", "--action", "view_pii") == 0
    assert "decision: step-up to acr=phr max_age=900" in capsys.readouterr().out


def test_bad_policy_file_exits_with_the_wrong_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "policy.toml"
    bad.write_text(EXAMPLE.read_text(encoding="utf-8").replace('acr = "phrh"', 'acr = "aal3"', 1))
    line = EXAMPLE.read_text(encoding="utf-8").splitlines().index('acr = "phrh"') + 1
    code = _run("policy", "explain", "--action", "transfer", "--policy", str(bad))
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.startswith(
        f"stepauth: error: {bad}:{line}: "
        "actions.change_payout_details.upgrade[0].acr: unknown level 'aal3'"
    )


def test_unknown_action_and_bad_context_exit_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("policy", "explain", "--action", "wire", "--policy", str(EXAMPLE)) == 2
    assert "unknown action 'wire'" in capsys.readouterr().err
    ctx = _context(tmp_path, {"amount": "10", "colour": "red"})
    assert (
        _run(
            "policy", "explain", "--action", "transfer", "--context", ctx, "--policy", str(EXAMPLE)
        )
        == 2
    )
    assert "context.colour: unknown context field" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text('{\n "amount": }', encoding="utf-8")
    assert (
        _run(
            "policy",
            "explain",
            "--action",
            "transfer",
            "--context",
            str(broken),
            "--policy",
            str(EXAMPLE),
        )
        == 2
    )
    assert f"{broken}:2: the context is not JSON" in capsys.readouterr().err


def test_check_reports_ok_or_the_wrong_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("policy", "check", "--policy", str(EXAMPLE)) == 0
    assert capsys.readouterr().out == (
        f"{EXAMPLE}: ok — 7 actions, 8 risk rules, exemptions: account_information, low_value, "
        "recurring, tra, trusted_beneficiary\n"
    )
    bad = tmp_path / "policy.toml"
    bad.write_text('[actions.transfer]\nkind = "payment"\nacr = "phr"\nbind = false\n')
    assert _run("policy", "check", "--policy", str(bad)) == 2
    assert capsys.readouterr().err.startswith(f"stepauth: error: {bad}:4: actions.transfer.bind:")


def test_stepauth_command_runs_policy_explain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through the real ``stepauth`` entry point (stepauth.cli.main)."""
    from stepauth.cli import main

    ctx = _context(tmp_path, {"amount": "25.00", "currency": "EUR"})
    code = main(
        ["policy", "explain", "--action", "transfer", "--context", ctx, "--policy", str(EXAMPLE)]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "decision: no step-up; exempt under low_value" in out
    bad = tmp_path / "bad.toml"
    bad.write_text('[actions.x]\nacr = "phr"\ncolour = "red"\n', encoding="utf-8")
    assert main(["policy", "check", "--policy", str(bad)]) == 2
    assert f"{bad}:3: actions.x.colour: unknown field 'colour'" in capsys.readouterr().err
