"""``stepauth demo`` as a subprocess, for the tests and the screenshot script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["COMMAND", "start_demo"]

#: The installed ``stepauth`` entry point, run by this interpreter.
COMMAND = [sys.executable, "-c", "import sys; from stepauth.cli import main; sys.exit(main())"]


def start_demo(
    directory: Path, *, provider_port: int, bank_port: int
) -> tuple[subprocess.Popen[str], list[str]]:
    """Start ``stepauth demo`` in ``directory`` and wait for its banner (printed once both
    servers answer); returns the process and its output so far. Fails with the output if
    the demo exits first."""
    proc = subprocess.Popen(
        [
            *COMMAND,
            "demo",
            "--dir",
            str(directory),
            "--provider-port",
            str(provider_port),
            "--bank-port",
            str(bank_port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line)
        if "Press Ctrl-C to stop" in line:
            return proc, lines
    proc.wait(timeout=30)
    raise AssertionError("stepauth demo did not start:\n" + "".join(lines))
