"""Shared fixtures: real PostgreSQL, Redis, Chromium and the Node.js peers.

Outside CI a test whose peer is missing skips with a message naming it; under
``CI=true`` the same situation fails, so CI never passes by skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "peers"
CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_ADMIN_DSN = os.environ.get("STEPAUTH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("STEPAUTH_TEST_REDIS", "redis://127.0.0.1:6379/0")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def require(available: bool, what: str) -> None:
    """Skip (or, under CI=true, fail) when a required peer is missing."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {what} is missing", pytrace=False)
    pytest.skip(f"{what} is missing")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


_ISSUED_PORTS: set[int] = set()


def free_port() -> int:
    """A free loopback port never handed out before in this test run."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _ISSUED_PORTS:
            _ISSUED_PORTS.add(port)
            return port


@pytest.fixture(scope="session", autouse=True)
def _outbox_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Messages to users that a test does not read go to a file of this run, never to
    ``stepauth-outbox.jsonl`` in the working directory (the sender's default); a test
    that reads its outbox sets ``STEPAUTH_OUTBOX`` itself (``outbox_path``)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STEPAUTH_OUTBOX", str(tmp_path_factory.mktemp("outbox") / "outbox.jsonl"))
        yield


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (SQLAlchemy URL), dropped afterwards."""
    require(_port_open("127.0.0.1", 5432), "PostgreSQL on 127.0.0.1:5432")
    import psycopg

    name = f"stepauth_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url() -> str:
    require(_port_open("127.0.0.1", 6379), "Redis on 127.0.0.1:6379")
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    import redis

    prefix = f"stepauth-test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture(scope="session")
def node_peers() -> Path:
    """The peers/ folder with oidc-provider and openid-client installed."""
    require(shutil.which("node") is not None, "Node.js (node)")
    require((PEERS / "node_modules" / "oidc-provider").is_dir(), "peers/node_modules (make peers)")
    require((PEERS / "node_modules" / "openid-client").is_dir(), "peers/node_modules (make peers)")
    return PEERS


@pytest.fixture
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium driven by Playwright (never ``playwright install``).

    Function-scoped on purpose: sync Playwright keeps an event loop on the main thread
    while it is open, which would break the async tests that run after it.
    """
    require(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def add_virtual_authenticator(context: Any, page: Any, **options: Any) -> tuple[Any, str]:
    """Attach a DevTools virtual WebAuthn authenticator; returns (cdp session, authenticator id)."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    opts = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    opts.update(options)
    result = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": opts})
    return cdp, str(result["authenticatorId"])


def run_node(
    script: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> str:
    """Run a Node.js peer script from peers/ and return its stdout (raises on failure)."""
    proc = subprocess.run(
        ["node", str(script), *args],
        cwd=PEERS,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"node {script.name} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout
