"""The ``stepauth`` command line as a child process, its secret taken from the config's .env.

:func:`stepauth_argv` is the command (this interpreter, so this checkout's package);
:func:`env_without_secret` leaves ``STEPAUTH_SECRET_KEY`` out of the environment so the
command reads it where ``stepauth init`` wrote it; :func:`serving` runs ``stepauth serve`` on
a free port until it answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import free_port

KEY_ENV = "STEPAUTH_SECRET_KEY"
RUN_MAIN = "import sys; from stepauth.cli import main; sys.exit(main(sys.argv[1:]))"


def stepauth_argv(*args: str) -> list[str]:
    return [sys.executable, "-c", RUN_MAIN, *args]


def env_without_secret() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != KEY_ENV}


@contextmanager
def serving(
    config: Path, *args: str, ready: str = "/healthz"
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``stepauth serve --config CONFIG --port P ARGS`` until ``ready`` answers 200; yields the
    process (stdout and stderr piped) and its base URL; terminated at the end if still up."""
    port = free_port()
    proc = subprocess.Popen(
        [*stepauth_argv("serve", "--config", str(config), "--port", str(port)), *args],
        env=env_without_secret(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{base}{ready}", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        assert proc.poll() is None, b"".join(proc.communicate(timeout=5)).decode()
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=30)
