"""The ``stepauth`` command line, driven through ``main([...])`` (and one real ``serve``)."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from argon2 import PasswordHasher

from stepauth import cli
from stepauth.cli import main
from stepauth.provider.config import load_config
from stepauth.provider.keys import ALGORITHMS
from tests.cli.conftest import KEY_ENV, Terminal, add_user
from tests.cli.stored import password_hash as stored_password_hash
from tests.conftest import free_port

RUN_MAIN = "import sys; from stepauth.cli import main; sys.exit(main(sys.argv[1:]))"

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


def test_users_add_list_disable(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add_user(config, "alice", "correct horse battery staple", monkeypatch) == 0
    assert add_user(config, "bob", "another good passphrase", monkeypatch) == 0
    capsys.readouterr()
    assert main(["users", "list", "--config", str(config)]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [(r[0], r[1]) for r in rows] == [("alice", "active"), ("bob", "active")]

    assert main(["users", "disable", "alice", "--config", str(config)]) == 0
    assert main(["--config", str(config), "users", "list"]) == 0
    out = capsys.readouterr().out
    assert "alice\tdisabled" in out
    assert "bob\tactive" in out

    password_hash = stored_password_hash(config, "bob")
    assert password_hash is not None
    assert password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(password_hash, "another good passphrase")


def test_users_set_password(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add_user(config, "erin", "first long password", monkeypatch) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("second long password\n"))
    command = ["users", "set-password", "erin", "--password-stdin", "--config", str(config)]
    assert main(command) == 0

    password_hash = stored_password_hash(config, "erin")
    assert password_hash is not None
    assert PasswordHasher().verify(password_hash, "second long password")
    monkeypatch.setattr(sys, "stdin", io.StringIO("another long password\n"))
    command[2] = "nobody"
    assert main(command) == 2
    assert "no user named" in capsys.readouterr().err


def test_users_add_twice_is_refused(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add_user(config, "alice", "correct horse battery staple", monkeypatch) == 0
    assert add_user(config, "alice", "correct horse battery staple", monkeypatch) == 2
    assert "already exists" in capsys.readouterr().err


def test_users_add_prompts_twice(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter(["first password", "second password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr(sys, "stdin", Terminal())  # getpass asks on a terminal only
    assert main(["users", "add", "carol", "--config", str(config)]) == 2
    assert "do not match" in capsys.readouterr().err
    answers = iter(["same password", "same password"])
    assert main(["users", "add", "carol", "--config", str(config)]) == 0


@pytest.mark.parametrize("password", ["", "short"])
def test_users_add_refuses_weak_passwords(
    config: Path, password: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add_user(config, "dave", password, monkeypatch) == 2
    assert "at least 8 characters" in capsys.readouterr().err


def test_users_disable_unknown(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["users", "disable", "nobody", "--config", str(config)]) == 2
    assert "no user named" in capsys.readouterr().err


def test_clients_list(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["clients", "list", "--config", str(config)]) == 0
    (row,) = capsys.readouterr().out.splitlines()
    assert row.startswith("demo\tconfidential\tclient_secret_basic")


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


@contextmanager
def serving(config: Path) -> Iterator[str]:
    """``stepauth serve`` in a child process (secret taken from .env); yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    command = [sys.executable, "-c", RUN_MAIN, "serve", "--config", str(config)]
    proc = subprocess.Popen(
        [*command, "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                httpx.get(f"{base}/.well-known/openid-configuration", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert proc.poll() is None, proc.communicate(timeout=5)[0].decode()
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_migrates_and_serves(config: Path) -> None:
    """``stepauth serve`` on a fresh directory: schema created, discovery and JWKS served."""
    with serving(config) as base:
        discovery = httpx.get(f"{base}/.well-known/openid-configuration", timeout=5)
        assert discovery.status_code == 200
        assert discovery.json()["issuer"] == "http://localhost:8080"
        jwks = httpx.get(f"{base}/jwks", timeout=5).json()
        # every signing key is published before the first token is signed
        assert sorted(key["alg"] for key in jwks["keys"]) == sorted(ALGORITHMS * 2)
        assert all("d" not in key for key in jwks["keys"])
    assert (config.parent / "stepauth.db").exists()


def test_serve_migrates_a_0003_database_under_its_secret(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database left at revision 0003 (cookie values in ``sessions.id``, a TOTP seed in
    clear): ``stepauth serve`` migrates it at start with the secret from ``.env``. The
    session goes on under its cookie, the seed opens, neither is in the rows any more, and
    the database, its WAL and SHM are private to their owner."""
    import asyncio

    from sqlalchemy import Connection

    from stepauth.provider.ops.bootstrap import load_dotenv
    from stepauth.store.sql import sql_store
    from tests.cli.stored import store_call
    from tests.helpers.old_rows import insert_factor, insert_session
    from tests.helpers.stolen import raw_rows

    monkeypatch.delenv(KEY_ENV)
    load_dotenv(config.parent / ".env")  # the secret `stepauth serve` reads
    url = load_config(config).database.url
    cookie, seed, now = (
        "cookie-of-0003-" + "e" * 30,
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        time.time(),
    )

    def rows_of_0003(conn: Connection) -> None:
        insert_session(conn, cookie, "u1", "sid-1", now=now)
        insert_factor(conn, "f1", "u1", "totp", {"secret": seed})

    async def at_0003() -> None:
        store = sql_store(url)
        try:
            await store.migrate("0003")
            await store.run_sync(rows_of_0003, write=True)
        finally:
            await store.close()

    asyncio.run(at_0003())
    with serving(config):
        database = config.parent / "stepauth.db"
        for path in (database, *(database.with_name(f"stepauth.db-{x}") for x in ("wal", "shm"))):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    copied = raw_rows(url)
    assert cookie not in copied
    assert seed not in copied

    async def read(store: Any) -> tuple[Any, Any]:
        return await store.get_session(cookie, now=now + 1), await store.list_factors("u1")

    session, (factor,) = store_call(config, read)
    assert session is not None
    assert session.sid == "sid-1"
    assert factor.data["secret"] == seed


def test_a_command_without_the_secret_ends_no_session(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A command run without the secret (here ``stepauth users list``) on a database at
    revision 0003 does not migrate it: the sessions stay, and the error names the way."""
    import asyncio

    from sqlalchemy import text

    from stepauth.store.sql import sql_store
    from tests.helpers.old_rows import insert_session

    url = load_config(config).database.url

    async def at_0003() -> list[str]:
        store = sql_store(url)
        try:
            await store.migrate("0003")
            await store.run_sync(
                lambda conn: insert_session(conn, "cookie-" + "f" * 30, "u1", "sid-1"), write=True
            )
            return await store.run_sync(
                lambda conn: [r[0] for r in conn.execute(text("SELECT id FROM sessions"))]
            )
        finally:
            await store.close()

    before = asyncio.run(at_0003())
    monkeypatch.setenv(KEY_ENV, "")
    capsys.readouterr()
    assert main(["users", "list", "--config", str(config)]) == 2
    assert "stepauth serve" in capsys.readouterr().err

    async def ids() -> list[str]:
        store = sql_store(url)
        try:
            return await store.run_sync(
                lambda conn: [r[0] for r in conn.execute(text("SELECT id FROM sessions"))]
            )
        finally:
            await store.close()

    assert asyncio.run(ids()) == before


@pytest.mark.redis
def test_serve_keeps_pushed_requests_in_redis(
    config: Path, redis_url: str, redis_prefix: str
) -> None:
    config.write_text(
        config.read_text() + f'\n[redis]\nurl = "{redis_url}"\nprefix = "{redis_prefix}"\n'
    )
    demo = load_config(config).client("demo")
    assert demo is not None
    assert demo.client_secret is not None
    with serving(config) as base:
        pushed = httpx.post(
            f"{base}/par",
            auth=(demo.client_id, demo.client_secret),
            data={
                "response_type": "code",
                "client_id": demo.client_id,
                "redirect_uri": demo.redirect_uris[0],
                "scope": "openid",
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256",
            },
            timeout=10,
        )
        assert pushed.status_code == 201, pushed.text
        request_uri = pushed.json()["request_uri"]
        client = redis.Redis.from_url(redis_url)
        try:
            assert client.exists(f"{redis_prefix}item:par:{request_uri}")
        finally:
            client.close()


@pytest.mark.postgres
def test_users_and_keys_on_postgresql(
    config: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The same commands against PostgreSQL: the schema is migrated on first use."""
    text = config.read_text().replace(
        'url = "sqlite+aiosqlite:///stepauth.db"', f'url = "{postgres_url}"'
    )
    config.write_text(text)
    assert load_config(config).database.url == postgres_url
    assert add_user(config, "alice", "correct horse battery staple", monkeypatch) == 0
    assert main(["keys", "rotate", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["users", "list", "--config", str(config)]) == 0
    assert capsys.readouterr().out.startswith("alice\tactive")
    assert not (config.parent / "stepauth.db").exists()


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


def test_serve_leaves_the_client_address_to_trusted_proxies(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn's own ``X-Forwarded-For`` handling trusts 127.0.0.1 by default; ``stepauth
    serve`` turns it off so ``[server] trusted_proxies`` is the only source of the client
    address (a local client could otherwise choose its own)."""
    import uvicorn

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options))
    assert main(["serve", "--config", str(config)]) == 0
    assert seen["proxy_headers"] is False


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
