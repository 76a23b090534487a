"""``stepauth demo``: run the Provider and the Acme Bank demo; ``stepauth demo totp NAME``.

::

    stepauth demo [--dir .demo] [--provider-port 9000] [--bank-port 8000]
    stepauth demo totp alice [--dir .demo]     # the current code of alice's authenticator app
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

from stepauth.errors import StepAuthError
from stepauth.provider.ops.bootstrap import load_dotenv

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo", help="run the Provider and the Acme Bank demo on embedded SQLite"
    )
    _dir_argument(parser)
    parser.add_argument("--provider-port", type=int, default=9000, help="default: 9000")
    parser.add_argument("--bank-port", type=int, default=8000, help="default: 8000")
    parser.add_argument("--log-level", default="warning", help="uvicorn log level")
    parser.set_defaults(func=_run)
    commands = parser.add_subparsers(dest="demo_command", metavar="ACTION")
    totp = commands.add_parser("totp", help="print a demo user's current TOTP code")
    _dir_argument(totp)
    totp.add_argument("name", metavar="NAME")
    totp.set_defaults(func=_totp)


def _dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="demo directory: config, secrets, database (default: .demo)",
    )


def _directory(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "dir", None) or ".demo")


def _ports(args: argparse.Namespace) -> tuple[int, int]:
    ports = (args.provider_port, args.bank_port)
    if not all(1 <= p <= 65535 for p in ports) or ports[0] == ports[1]:
        raise StepAuthError("ports must be two different numbers in 1-65535", error="usage")
    for port, option in zip(ports, ("--provider-port", "--bank-port"), strict=True):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                raise StepAuthError(
                    f"port {port} is in use; choose another with {option}", error="usage"
                ) from None
    return ports


def _command() -> str:
    """How this process was started, so the printed commands work as typed: the
    virtualenv's ``.venv/bin/stepauth`` under ``make demo`` (no activated venv needed),
    else this interpreter with ``-m stepauth.cli``."""
    program = sys.argv[0] if sys.argv else ""
    if Path(program).name == "stepauth":
        found = program if os.sep in program else shutil.which(program)
        if found:
            return shlex.quote(found)
    return f"{shlex.quote(sys.executable)} -m stepauth.cli"


# The demo runs on FastAPI, an optional dependency (the ``fastapi`` extra): the launcher is
# imported when a demo command runs, so ``stepauth`` works without it.


def _banner(setup: Any) -> str:
    from stepauth.demo.launcher import DEMO_USERS, TOTP_SECRET  # optional: fastapi

    totp = f"{_command()} demo totp alice"
    if setup.directory != Path(".demo"):
        totp += f" --dir {shlex.quote(str(setup.directory))}"
    return f"""
  Acme Bank  {setup.bank_url}
  Provider   {setup.issuer}/.well-known/openid-configuration   (issuer {setup.issuer})

  Demo users
    alice / {DEMO_USERS["alice"]}   password + authenticator app (TOTP)
    bob   / {DEMO_USERS["bob"]}     password only

  First: sign in to Acme Bank as alice, then add a passkey at
    {setup.issuer}/account
    (Add passkey asks for alice's authenticator code once more; her passkey then
    works at once.) Payments above €30 and payout changes need that passkey.
    Deleting a tenant (Admin) needs a security key certified in the FIDO Metadata
    Service: add it there with Add security key.

  TOTP codes for alice:  {totp}
    (or add the secret {TOTP_SECRET} to any authenticator app)

  bob has only a password, so a passkey he adds is on hold for a day: until then it
    cannot approve payments.

  Press Ctrl-C to stop.
"""


def _run(args: argparse.Namespace) -> int:
    from stepauth.demo.launcher import prepare, serve  # optional: fastapi

    provider_port, bank_port = _ports(args)
    setup = prepare(_directory(args), provider_port=provider_port, bank_port=bank_port)

    def ready() -> None:
        print(_banner(setup), flush=True)

    try:
        return asyncio.run(
            serve(
                setup,
                provider_port=provider_port,
                bank_port=bank_port,
                log_level=args.log_level,
                ready=ready,
            )
        )
    except SystemExit as exc:  # uvicorn exits when a port is taken
        print(f"stepauth: error: the demo could not start ({exc.code})", file=sys.stderr)
        return 2


def _totp(args: argparse.Namespace) -> int:
    from stepauth.demo.launcher import totp_code  # optional: fastapi

    directory = _directory(args)
    if not (directory / "stepauth.toml").is_file():
        raise StepAuthError(f"no demo in {directory} (start one with `stepauth demo`)")
    load_dotenv(directory / ".env")
    code, remaining = totp_code(directory, args.name)
    print(f"{code}  (valid for {remaining} s)")
    return 0
