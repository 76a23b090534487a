"""A command that needs what only an extra installs names the extra: one line, exit 2.

The real thing (a venv holding only the base install) is in :mod:`tests.packaging`; here
the missing package is simulated, so every branch runs in the development install.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from types import ModuleType
from typing import Any

import pytest

import stepauth.cli as cli


def _missing(name: str) -> ModuleNotFoundError:
    return ModuleNotFoundError(f"No module named {name!r}", name=name)


def test_a_command_missing_its_extra_says_which_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import stepauth.demo.launcher as launcher

    def prepare(*_args: Any, **_kw: Any) -> Any:
        raise _missing("fastapi.responses")

    monkeypatch.setattr(launcher, "prepare", prepare)
    assert cli.main(["demo", "--provider-port", "1", "--bank-port", "2"]) in (2,)
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("stepauth: error: `stepauth demo` needs fastapi")
    assert err.rstrip().endswith('install "stepauth[demo]"')


@pytest.mark.parametrize(
    ("module", "extra"), [("sqlalchemy", "provider"), ("psycopg", "postgres"), ("redis", "redis")]
)
def test_a_command_module_that_cannot_load_stands_in_and_names_its_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], module: str, extra: str
) -> None:
    real = importlib.import_module

    def import_module(name: str) -> ModuleType:
        if name == "stepauth.cli.serve":
            raise _missing(f"{module}.ext")
        return real(name)

    monkeypatch.setattr(cli.importlib, "import_module", import_module)
    assert cli.main(["serve", "--port", "9000"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"stepauth: error: `stepauth serve` needs {module}, which is not installed: "
        f'install "stepauth[{extra}]"\n'
    )
    assert "serve" in cli.build_parser().format_help()


def test_any_other_missing_module_is_a_bug_and_propagates(monkeypatch: pytest.MonkeyPatch) -> None:
    def run(_args: argparse.Namespace) -> int:
        raise _missing("not_a_dependency_of_stepauth")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    monkeypatch.setattr(
        parser, "parse_args", lambda _argv: argparse.Namespace(command="policy", func=run)
    )
    with pytest.raises(ModuleNotFoundError):
        cli.main(["policy"])


def test_the_provider_on_sqlite_loads_without_redis_or_psycopg() -> None:
    """``stepauth serve`` and the Provider's modules load in a ``stepauth[provider]`` install:
    Redis and PostgreSQL are extras of their own, imported only when a URL asks for them."""
    code = (
        "import sys\n"
        "sys.modules.update(redis=None, psycopg=None)  # import of either raises ImportError\n"
        "import stepauth.cli.serve, stepauth.cli.users, stepauth.cli.purge\n"
        "import stepauth.provider.ops.health\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
