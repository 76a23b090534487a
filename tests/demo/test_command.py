"""``stepauth demo`` as a newcomer runs it (what ``make demo`` does): it starts, answers on
the URLs it prints, gives TOTP codes, and stops cleanly on Ctrl-C (SIGINT) or SIGTERM."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pyotp
import pytest

from stepauth.demo.launcher import TOTP_SECRET
from tests.conftest import free_port
from tests.demo.launch import COMMAND, start_demo


def _start(directory: Path) -> tuple[subprocess.Popen[str], list[str]]:
    return start_demo(directory, provider_port=free_port(), bank_port=free_port())


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_demo_starts_answers_on_printed_urls_and_stops_cleanly(
    tmp_path: Path, stop: signal.Signals
) -> None:
    proc, lines = _start(tmp_path / "demo")
    try:
        banner = "".join(lines)
        urls = re.findall(r"^\s+(?:Acme Bank|Provider)\s+(http://localhost:\d+\S*)", banner, re.M)
        assert len(urls) == 2, banner
        for url in urls:
            assert httpx.get(url, timeout=10).status_code == 200, url
        assert "alice / alice-loves-acme" in banner
        assert "bob   / bob-banks-here" in banner
        assert TOTP_SECRET in banner

        totp = subprocess.run(
            [*COMMAND, "demo", "totp", "alice", "--dir", str(tmp_path / "demo")],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        code = totp.stdout.split()[0]
        assert pyotp.TOTP(TOTP_SECRET).verify(code, valid_window=1)
    finally:
        proc.send_signal(stop)
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert rc == 0
    assert (tmp_path / "demo" / "stepauth.toml").is_file()


def test_demo_restarts_on_the_same_directory(tmp_path: Path) -> None:
    """A second run keeps the database and the secrets; the seeding does not repeat."""
    directory = tmp_path / "demo"
    for _ in range(2):
        proc, _lines = _start(directory)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    assert len(list(directory.glob("stepauth.db*"))) >= 1


def test_busy_port_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [
                *COMMAND,
                "demo",
                "--dir",
                str(tmp_path),
                "--bank-port",
                str(port),
                "--provider-port",
                str(free_port()),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert f"port {port} is in use; choose another with --bank-port" in result.stderr
    assert "Traceback" not in result.stderr


def test_totp_for_a_user_without_an_authenticator_app_is_refused(tmp_path: Path) -> None:
    proc, _lines = _start(tmp_path)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    result = subprocess.run(
        [*COMMAND, "demo", "totp", "bob", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "'bob' has no authenticator app" in result.stderr
