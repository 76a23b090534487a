"""A quick start's real path: the page's ``stepauth`` commands, run as the page writes them.

``stepauth init`` into a scratch folder, the page's ``[[clients]]`` block appended to the
config as the page says, the user added with the CLI, and ``stepauth serve`` in a child
process on a free port.

By default the commands run in the development install (the checkout's ``src``, every
extra). Given ``venv``, a folder holding a fresh ``python -m venv`` with the page's own
install, they run as the reader's shell would run them there: that venv's ``bin`` first on
``PATH``, its ``stepauth`` console script, and nothing of the checkout importable.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pyotp

from tests.conftest import free_port
from tests.docs.samples import samples

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
TOTP_SECRET = pyotp.random_base32()
PROVIDER_COMMANDS = (
    "stepauth init op",
    "stepauth users add alice --config op/stepauth.toml",
    "stepauth users add-totp alice --config op/stepauth.toml",
    "stepauth serve --config op/stepauth.toml",
)


def fenced(page: Path, kind: str) -> list[str]:
    """The page's fenced blocks of one kind (``sh``, ``toml``), in order."""
    return re.findall(rf"^```{kind}\n(.*?)^```", page.read_text(encoding="utf-8"), re.M | re.S)


def child_env(*path: Path, venv: Path | None = None, **extra: str) -> dict[str, str]:
    """A reader's shell in the scratch folder: ``path`` importable, and either the checkout's
    ``src`` and the development venv, or (given ``venv``) that venv's install alone."""
    env = {**os.environ, **extra}
    bin_dir = Path(sys.executable).parent if venv is None else venv / "bin"
    folders = (*path,) if venv is not None else (ROOT / "src", *path)
    env["PYTHONPATH"] = os.pathsep.join(str(folder) for folder in folders)
    if not folders:
        del env["PYTHONPATH"]
    shell_path = env.get("PATH", "").split(os.pathsep)
    if venv is not None:  # the development venv's commands must not stand in for missing ones
        shell_path = [d for d in shell_path if Path(d) != Path(sys.executable).parent]
        env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(bin_dir), *shell_path])
    env.pop("STEPAUTH_SECRET_KEY", None)  # the CLI reads it from op/.env, as a reader's would
    return env


def stepauth(venv: Path | None) -> list[str]:
    """The ``stepauth`` command: the venv's console script, or the checkout's module."""
    return (
        [sys.executable, "-m", "stepauth.cli"] if venv is None else [str(venv / "bin" / "stepauth")]
    )


def require_installed(command: str, venv: Path | None) -> None:
    """The program that starts ``command`` is the venv's own (a console script of its
    install), not one of the same name found further along the reader's ``PATH``."""
    if venv is None:
        return
    program = command.split()[0]
    assert (venv / "bin" / program).exists(), (
        f"`{program}` (to run `{command}`) is not in the venv: the page's install line "
        "does not install it"
    )


def cli(*argv: str, cwd: Path, stdin: str = "", venv: Path | None = None) -> str:
    proc = subprocess.run(
        [*stepauth(venv), *argv],
        cwd=cwd,
        env=child_env(venv=venv),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def page_user(page: Path, browser: httpx.Client, **names: str) -> dict[str, Any]:
    """The page's ``at_the_provider``, typing alice's password and codes into ``browser``.

    ``names`` replace the page's own (the app's address on a free port, say)."""
    namespace: dict[str, Any] = {"PASSWORD": PASSWORD, "TOTP_SECRET": TOTP_SECRET, "pyotp": pyotp}
    (source,) = [s for s in samples(page) if "def at_the_provider" in s]
    exec(compile(source, page.name, "exec"), namespace)  # the page's code, as written
    namespace["browser"].close()
    namespace.update(browser=browser, **names)
    return namespace


@contextmanager
def running(argv: list[str] | str, *, cwd: Path, env: dict[str, str], ready: str) -> Iterator[None]:
    """A child process (its own process group) until ``ready`` answers; always ended after."""
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        shell=isinstance(argv, str),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a reloader's or shell's children end with it
    )
    try:
        deadline, up = time.monotonic() + 45, False
        while not up and proc.poll() is None and time.monotonic() < deadline:
            try:
                httpx.get(ready, timeout=2)
                up = True
            except httpx.TransportError:
                time.sleep(0.2)
        assert proc.poll() is None, proc.communicate(timeout=5)[0].decode()
        assert up, f"{ready} did not answer"
        yield
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextmanager
def served(
    page: Path, tmp_path: Path, *, app_port: int | None = None, venv: Path | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The Provider as ``page`` sets it up; yields its issuer and the page's client block.

    With ``app_port``, the port of the block's redirect URI becomes that one (the page's
    app port may be taken on the machine running the test); nothing else of the block changes.
    """
    shell = "\n".join(fenced(page, "sh"))
    for command in PROVIDER_COMMANDS:
        assert command in shell, command
    port = free_port()
    cli("init", "op", "--port", str(port), cwd=tmp_path, venv=venv)
    (block,) = [b for b in fenced(page, "toml") if "[[clients]]" in b]
    if app_port is not None:
        block, count = re.subn(r"http://localhost:\d+/", f"http://localhost:{app_port}/", block)
        assert count == 1, block
    config = tmp_path / "op" / "stepauth.toml"
    with config.open("a", encoding="utf-8") as handle:
        handle.write("\n" + block)  # "add this block at its end"
    (client,) = tomllib.loads(block)["clients"]
    cli("users", "add", "alice", "--password-stdin", "--config", "op/stepauth.toml",
        cwd=tmp_path, stdin=PASSWORD + "\n", venv=venv)  # fmt: skip
    cli("users", "add-totp", "alice", "--secret", TOTP_SECRET, "--config", "op/stepauth.toml",
        cwd=tmp_path, venv=venv)  # fmt: skip
    issuer = f"http://localhost:{port}"
    argv = [*stepauth(venv), "serve", "--config", "op/stepauth.toml"]
    ready = f"{issuer}/.well-known/openid-configuration"
    with running(argv, cwd=tmp_path, env=child_env(venv=venv), ready=ready):
        yield issuer, client
