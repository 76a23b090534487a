"""Every ``stepauth`` command answers bad input with ONE ``stepauth: error:`` line, exit 2.

The commands are enumerated from the argparse tree (:func:`stepauth.cli.build_parser`), so a
command added later is walked too — and fails here until it is given a bad input below.
"""

from __future__ import annotations

import argparse
import io
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stepauth.cli import build_parser, main
from tests.cli.conftest import Terminal, add_user

pytestmark = pytest.mark.usefixtures("environment")

Command = tuple[str, ...]


def leaf_commands(parser: argparse.ArgumentParser, prefix: Command = ()) -> Iterator[Command]:
    """Each runnable command path (a parser with a ``func``), depth first."""
    if parser.get_default("func") is not None:
        yield prefix
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from leaf_commands(sub, (*prefix, name))


def _bad_inputs(config: Path, tmp: Path, busy_port: int) -> dict[Command, tuple[list[str], str]]:
    """Per command: arguments that are wrong, and what the one error line must say."""
    cfg = ["--config", str(config)]
    missing_config = ["--config", str(tmp / "nowhere" / "stepauth.toml")]
    no_config = (missing_config, "no config file at")
    no_user = "no user named 'ghost'"
    return {
        ("init",): ([str(tmp / "no-such-parent" / "op")], "no directory"),
        ("serve",): ([*cfg, "--port", str(busy_port)], f"cannot listen on 127.0.0.1:{busy_port}"),
        ("users", "add"): (["carol", *cfg], "no terminal to ask for the password"),
        ("users", "set-password"): (
            ["alice", "--password-stdin", *cfg],
            "no password on standard input",
        ),
        ("users", "list"): no_config,
        ("users", "disable"): (["ghost", *cfg], no_user),
        ("users", "enable"): (["ghost", *cfg], no_user),
        ("users", "add-totp"): (["ghost", *cfg], no_user),
        ("users", "factors"): (["ghost", *cfg], no_user),
        ("users", "remove-factor"): (["ghost", "f1", *cfg], no_user),
        ("users", "confirm-factor"): (["ghost", "f1", *cfg], no_user),
        ("users", "unlock"): (["ghost", *cfg], no_user),
        ("users", "grant-admin"): (["ghost", *cfg], no_user),
        ("users", "revoke-admin"): (["ghost", *cfg], no_user),
        ("clients", "list"): no_config,
        ("keys", "rotate"): no_config,
        ("keys", "list"): no_config,
        ("policy", "explain"): (
            ["--action", "transfer", "--policy", str(tmp / "none.toml")],
            "no policy file at",
        ),
        ("policy", "check"): ([], "pass --policy PATH or set $STEPAUTH_POLICY"),
        ("demo",): (["--provider-port", "0"], "ports must be"),
        ("demo", "totp"): (["ghost", "--dir", str(config.parent)], no_user),
        ("audit", "tail"): (["-n", "-3", *cfg], "-n must not be negative"),
        ("audit", "verify-transaction"): (["txn-0", *cfg], "no such transaction 'txn-0'"),
        ("outbox",): (["--path", str(tmp / "none.jsonl")], "no outbox file at"),
        ("purge",): (["--batch", "0", *cfg], "--batch must be at least 1"),
        ("friction", "report"): (
            ["--since", "2026-13-01", *cfg],
            "--since must be a date (YYYY-MM-DD) or an ISO 8601 time, not '2026-13-01'",
        ),
    }


def _one_error_line(err: str, says: str = "") -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("stepauth: error: "), err
    assert says in lines[0], err
    assert "Traceback" not in err


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def test_every_command_has_a_bad_input_here(tmp_path: Path, config: Path) -> None:
    walked = set(leaf_commands(build_parser()))
    assert len(walked) >= 20
    assert walked == set(_bad_inputs(config, tmp_path, 1))


def test_every_command_answers_bad_input_with_one_error_line(
    tmp_path: Path,
    config: Path,
    busy_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert add_user(config, "alice", "correct horse battery staple", monkeypatch) == 0
    monkeypatch.chdir(tmp_path)  # no ./policy.toml, no ./.demo
    monkeypatch.delenv("STEPAUTH_POLICY", raising=False)
    capsys.readouterr()
    for command, (argv, says) in _bad_inputs(config, tmp_path, busy_port).items():
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal; at its end
        assert main([*command, *argv]) == 2, command
        captured = capsys.readouterr()
        _one_error_line(captured.err, says)
        assert not (tmp_path / "no-such-parent").exists()


@pytest.mark.parametrize("command", sorted(leaf_commands(build_parser())), ids=" ".join)
def test_every_command_refuses_an_unknown_option_in_one_line(
    command: Command, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--no-such-option"]) == 2
    err = capsys.readouterr().err
    _one_error_line(err)
    assert "--no-such-option" in err or "the following arguments are required" in err


@pytest.mark.parametrize(
    "argv",
    [["users"], ["no-such-command"], ["serve", "--port", "x"], ["keys", "rotate", "--alg", "X"]],
)
def test_usage_errors_are_one_line_naming_the_help(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    _one_error_line(err)
    assert "--help`)" in err


def test_users_add_at_the_end_of_input_on_a_terminal(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-D at the getpass prompt: one line, no account."""

    def eof(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", eof)
    assert main(["users", "add", "carol", "--config", str(config)]) == 2
    _one_error_line(capsys.readouterr().err, "no password given")
    assert main(["users", "list", "--config", str(config)]) == 0
    assert "carol" not in capsys.readouterr().out
