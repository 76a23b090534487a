"""The ``stepauth`` command line, driven through ``main([...])``: init, config discovery, keys,
the secret and .env, usage errors. ``users``/``clients`` and ``serve`` have their own modules."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from stepauth import cli
from stepauth.cli import main
from stepauth.provider.config import load_config
from tests.cli.conftest import KEY_ENV

pytestmark = pytest.mark.usefixtures("environment")


def test_init_writes_a_loadable_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "new"
    assert main(["init", str(target)]) == 0
    loaded = load_config(target / "stepauth.toml")
    demo = loaded.client("demo")
    assert demo is not None
    assert demo.client_secret is not None
    assert len(demo.client_secret) >= 32
    # the SDK's default callback (BrowserStepUp.callback_path) of an app on port 8000
    assert "http://localhost:8000/stepauth/callback" in demo.redirect_uris
    assert loaded.database.url == f"sqlite+aiosqlite:///{(target / 'stepauth.db').resolve()}"
    env = (target / ".env").read_text()
    (line,) = [ln for ln in env.splitlines() if ln.startswith(f"{KEY_ENV}=")]
    assert len(line.split("=", 1)[1]) >= 43
    for name in ("stepauth.toml", ".env"):
        assert stat.S_IMODE((target / name).stat().st_mode) == 0o600
    assert "stepauth.toml" in capsys.readouterr().out


def test_init_refuses_to_overwrite(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = config.read_text()
    env_before = (config.parent / ".env").read_text()
    capsys.readouterr()
    assert main(["init", str(config.parent)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert config.read_text() == before
    assert (config.parent / ".env").read_text() == env_before


def test_bad_config_exits_nonzero_naming_the_key(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One clear line naming the key, no traceback, exit code != 0."""
    text = config.read_text().replace(
        'redirect_uris = ["http://localhost:8000/stepauth/callback"',
        'redirect_uris = ["http://rp.example/callback"',
    )
    config.write_text(text)
    capsys.readouterr()
    for command in (["clients", "list"], ["users", "list"], ["keys", "rotate"], ["serve"]):
        assert main([*command, "--config", str(config)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("stepauth: error: clients[0].redirect_uris:")
        assert "Traceback" not in err


def test_unknown_key_in_config(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config.write_text(config.read_text().replace("[server]", "[server]\nworkers = 4"))
    capsys.readouterr()
    assert main(["clients", "list", "--config", str(config)]) == 2
    assert "server.workers: unknown key" in capsys.readouterr().err


def test_config_path_resolution(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    monkeypatch.chdir(config.parent.parent)
    assert main(["clients", "list"]) == 2
    assert "stepauth init" in capsys.readouterr().err
    monkeypatch.setenv("STEPAUTH_CONFIG", str(config))
    assert main(["clients", "list"]) == 0
    monkeypatch.delenv("STEPAUTH_CONFIG")
    monkeypatch.chdir(config.parent)
    assert main(["clients", "list"]) == 0
    assert capsys.readouterr().out.startswith("demo\t")


def test_keys_rotate(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["keys", "rotate", "--config", str(config)]) == 0
    first = capsys.readouterr().out.split()[1]
    assert main(["keys", "rotate", "--config", str(config)]) == 0
    second = capsys.readouterr().out.split()[1]
    assert second != first
    assert main(["keys", "list", "--config", str(config)]) == 0
    states = {
        row.split("\t")[0]: row.split("\t")[2] for row in capsys.readouterr().out.splitlines()
    }
    assert states[first] == "retired"
    assert states[second] == "active"
    assert sorted(states.values()) == ["active", "next", "retired"]


def test_keys_rotate_reads_secret_from_dotenv(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV)
    assert main(["keys", "rotate", "--alg", "ES256", "--config", str(config)]) == 0
    written = (config.parent / ".env").read_text().split(f"{KEY_ENV}=")[1].strip()
    assert os.environ[KEY_ENV] == written


def test_missing_secret_fails_closed(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(KEY_ENV, "")
    capsys.readouterr()
    for command in (["keys", "rotate"], ["serve"]):
        assert main([*command, "--config", str(config)]) == 2
        assert "secrets.key_env" in capsys.readouterr().err


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["--help"]) == 0
    assert main(["no-such-command"]) == 2
    assert main(["users"]) == 2
    assert main(["serve", "--port", "70000"]) == 2
    assert "usage:" in capsys.readouterr().err


def test_missing_command_modules_are_skipped_other_import_errors_propagate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "stepauth_cli_broken_probe.py").write_text("import stepauth_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["stepauth.cli.init", "stepauth.cli.not_yet"])
    assert main(["init", str(tmp_path / "x")]) == 0
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["stepauth_cli_broken_probe"])
    with pytest.raises(ModuleNotFoundError) as caught:
        main(["--help"])
    assert caught.value.name == "stepauth_no_such_dependency"


def test_unreachable_database_is_one_line(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = config.read_text().replace(
        'url = "sqlite+aiosqlite:///stepauth.db"',
        'url = "sqlite+aiosqlite:////nonexistent-stepauth-dir/op.db"',
    )
    config.write_text(text)
    capsys.readouterr()
    assert main(["users", "list", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("stepauth: error: cannot open the database")
    assert "Traceback" not in err


def test_init_into_an_unwritable_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["init", str(blocker / "op")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("stepauth: error: cannot create")
    assert "Traceback" not in err


def test_init_with_unreadable_dotenv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "op"
    target.mkdir()
    (target / ".env").write_bytes(b"\xff\xfe")
    assert main(["init", str(target)]) == 2
    assert "cannot write into" in capsys.readouterr().err


def test_dotenv_sets_only_unset_variables_and_names_a_bad_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``.env`` lines: ``export``, comments and quotes as python-dotenv reads them; a variable
    already in the environment wins; a line that is not NAME=VALUE is an error naming it."""
    from stepauth.errors import ConfigError
    from stepauth.provider.ops.bootstrap import load_dotenv

    monkeypatch.setenv("STEPAUTH_T_SET", "from-env")
    for name in ("STEPAUTH_T_A", "STEPAUTH_T_B"):  # recorded, so the test leaves them unset
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    env = tmp_path / ".env"
    env.write_text(
        "# a comment\n\nexport STEPAUTH_T_A=1\nSTEPAUTH_T_B=\"x y\"\nSTEPAUTH_T_SET='file'\n"
    )
    assert load_dotenv(env) == {
        "STEPAUTH_T_A": "1",
        "STEPAUTH_T_B": "x y",
        "STEPAUTH_T_SET": "file",
    }
    assert os.environ["STEPAUTH_T_B"] == "x y"
    assert os.environ["STEPAUTH_T_SET"] == "from-env"
    assert load_dotenv(tmp_path / "missing.env") == {}
    env.write_text("# a comment\n\nSTEPAUTH_T_A=1\nnot a binding\n")
    with pytest.raises(ConfigError, match=r"\.env:4: expected NAME=VALUE"):
        load_dotenv(env)
