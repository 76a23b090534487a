"""Run OpenID Providers as real processes on loopback: ``stepauth serve`` and node's oidc-provider.

Shared by the provider benchmark (``bench/provider.py``) and the interop tests
(``tests/interop``): each server is one process we start, wait for (discovery answers),
measure (``VmRSS`` from ``/proc/<pid>/status``) and stop.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "peers"
VENV_STEPAUTH = ROOT / ".venv" / "bin" / "stepauth"

__all__ = [
    "PEERS",
    "ROOT",
    "Client",
    "Server",
    "ServerFailed",
    "cpu_seconds",
    "free_port",
    "friction_off_command",
    "oidc_provider",
    "rss_kib",
    "stepauth_command",
    "stepauth_config",
    "stepauth_server",
]


class ServerFailed(RuntimeError):
    """A server process exited or never became ready; carries its output."""


@dataclass(frozen=True)
class Client:
    """The one confidential client registered on each benchmarked provider."""

    client_id: str = "bench"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    public: bool = False  # registered without its secret: token_endpoint_auth_method "none"
    dpop_bound: bool = False  # dpop_bound_access_tokens (RFC 9449 §5.2): proofs required
    redirect_uri: str = "http://127.0.0.1:9/cb"  # never served: the RP captures the Location


@dataclass
class Server:
    """A running provider process."""

    name: str
    issuer: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_kib(self) -> int:
        return rss_kib(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    """Resident set size of one process, in KiB (Linux ``/proc/<pid>/status`` VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ServerFailed(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (``/proc/<pid>/stat`` utime, stime)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def stepauth_command(src: Path | None = None) -> list[str]:
    """The ``stepauth`` console script of this checkout's venv (or ``python -m stepauth.cli``);
    with ``src`` (a tree's ``src`` directory, put on ``PYTHONPATH``), always the module."""
    if src is None and VENV_STEPAUTH.exists():
        return [str(VENV_STEPAUTH)]
    return [sys.executable, "-m", "stepauth.cli"]


def friction_off_command(src: Path | None = None) -> tuple[list[str], str]:
    """The ``stepauth`` command with friction telemetry off (:mod:`bench._friction_off`)
    and the ``PYTHONPATH`` it needs: ``src`` (or this process's path) first, then this
    checkout's root for the ``bench`` package."""
    path = [str(src)] if src is not None else []
    path += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return [sys.executable, "-m", "bench._friction_off"], os.pathsep.join([*path, str(ROOT)])


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def stepauth_config(
    directory: Path,
    *,
    port: int,
    clients: Sequence[Client],
    database_url: str | None = None,
    acr_values: str = "required",
    extra_toml: str = "",
) -> Path:
    """Write a ``stepauth serve`` TOML config (SQLite in ``directory`` by default);
    ``extra_toml`` (more tables, e.g. ``[ttl]``) is appended before the clients."""
    issuer = f"http://127.0.0.1:{port}"
    url = database_url or f"sqlite+aiosqlite:///{directory / 'stepauth.db'}"
    lines = [
        f"issuer = {_toml(issuer)}",
        "",
        "[server]",
        'host = "127.0.0.1"',
        f"port = {port}",
        "",
        "[database]",
        f"url = {_toml(url)}",
        "",
        "[webauthn]",
        'rp_id = "localhost"',
        'rp_name = "stepauth"',
        f"origins = [{_toml(f'http://localhost:{port}')}]",
        "",
        extra_toml,
    ]
    for client in clients:
        lines += [
            "",
            "[[clients]]",
            f"client_id = {_toml(client.client_id)}",
            *([] if client.public else [f"client_secret = {_toml(client.client_secret)}"]),
            f"redirect_uris = {_toml([client.redirect_uri])}",
            'id_token_signed_response_alg = "RS256"',
            f"acr_values = {_toml(acr_values)}",
            *(["dpop_bound_access_tokens = true"] if client.dpop_bound else []),
        ]
    path = directory / "stepauth.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    url = f"{server.issuer}/.well-known/openid-configuration"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerFailed(
                f"{server.name} exited ({server.process.returncode}):\n{server.log()}"
            )
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise ServerFailed(f"{server.name} not ready after {timeout}s:\n{server.log()}")


def _stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@contextmanager
def _running(
    name: str, issuer: str, argv: list[str], *, cwd: Path, env: dict[str, str], log_path: Path
) -> Iterator[Server]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, cwd=cwd, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
    server = Server(name, issuer, process, log_path)
    try:
        _wait_ready(server, timeout=90)  # a busy 2-CPU machine can take a while
        yield server
    finally:
        _stop(server)


def stepauth_env(secret_key: str) -> dict[str, str]:
    return {"STEPAUTH_SECRET_KEY": secret_key}


@contextmanager
def stepauth_server(
    directory: Path,
    *,
    client: Client,
    users: Sequence[tuple[str, str]],
    port: int | None = None,
    database_url: str | None = None,
    acr_values: str = "required",
    log_level: str = "info",
    extra_clients: Sequence[Client] = (),
    extra_toml: str = "",
    src: Path | None = None,
    friction: bool = True,
    wrap: Sequence[str] = (),
) -> Iterator[Server]:
    """``stepauth serve --config`` on a fresh config; ``users`` added through the CLI first.
    ``src``: run the ``stepauth`` package of that directory (another checkout's ``src``).
    ``friction=False``: the server records no friction telemetry (``bench._friction_off``).
    ``wrap``: a command the server runs under (``valgrind --tool=callgrind …``)."""
    port = port or free_port()
    config = stepauth_config(
        directory,
        port=port,
        clients=[client, *extra_clients],
        database_url=database_url,
        acr_values=acr_values,
        extra_toml=extra_toml,
    )
    env = {**stepauth_env(secrets.token_urlsafe(32)), "STEPAUTH_CONFIG": str(config)}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    cli = stepauth_command(src)
    for username, password in users:
        proc = subprocess.run(
            [*cli, "users", "add", username, "--password-stdin"],
            input=password + "\n",
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            timeout=60,
            check=False,
        )
        if proc.returncode != 0:
            raise ServerFailed(f"stepauth users add {username} failed:\n{proc.stdout}{proc.stderr}")
    serve_env = env
    if not friction:
        cli, pythonpath = friction_off_command(src)
        serve_env = {**env, "PYTHONPATH": pythonpath}
    with _running(
        "stepauth",
        f"http://127.0.0.1:{port}",
        [*wrap, *cli, "serve", "--config", str(config), "--log-level", log_level],
        cwd=directory,
        env=serve_env,
        log_path=directory / "stepauth-serve.log",
    ) as server:
        yield server


@contextmanager
def oidc_provider(
    directory: Path,
    *,
    client: Client,
    username: str,
    password: str,
    port: int | None = None,
    dpop_client: Client | None = None,
) -> Iterator[Server]:
    """node's oidc-provider configured like stepauth (``peers/bench-op.mjs``);
    ``dpop_client`` (same secret and redirect URI as ``client``) must send DPoP proofs."""
    if dpop_client is not None and (
        dpop_client.client_secret != client.client_secret
        or dpop_client.redirect_uri != client.redirect_uri
    ):
        raise ValueError("bench-op.mjs registers the DPoP client with the first one's secret")
    node = shutil.which("node")
    if node is None:
        raise ServerFailed("node is not installed")
    port = port or free_port()
    argv = [
        node,
        "bench-op.mjs",
        "--port",
        str(port),
        "--client-id",
        client.client_id,
        f"--client-secret={client.client_secret}",
        "--redirect-uri",
        client.redirect_uri,
        "--username",
        username,
        *(["--dpop-client-id", dpop_client.client_id] if dpop_client else []),
    ]
    env = {"BENCH_PASSWORD": password, "NODE_ENV": "production"}
    with _running(
        "oidc-provider",
        f"http://127.0.0.1:{port}",
        argv,
        cwd=PEERS,
        env=env,
        log_path=directory / "oidc-provider.log",
    ) as server:
        yield server
