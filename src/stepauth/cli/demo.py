"""``stepauth demo``: run the Provider and the Acme Bank demo; ``stepauth demo totp NAME``.

::

    stepauth demo [--dir .demo] [--provider-port 9000] [--bank-port 8000]
    stepauth demo totp alice [--dir .demo]     # the current code of alice's authenticator app
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from pathlib import Path
from typing import Any

from stepauth.errors import StepAuthError

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


def _banner(setup: Any) -> str:
    from stepauth.demo.launcher import DEMO_USERS, TOTP_SECRET

    return f"""
  Acme Bank  {setup.bank_url}
  Provider   {setup.issuer}/.well-known/openid-configuration   (issuer {setup.issuer})

  Demo users
    alice / {DEMO_USERS["alice"]}   password + authenticator app (TOTP)
    bob   / {DEMO_USERS["bob"]}     password only

  TOTP codes for alice:  stepauth demo totp alice --dir {setup.directory}
    (or add the secret {TOTP_SECRET} to any authenticator app)

  Passkeys: add one at {setup.issuer}/account. Adding a sign-in method needs the
    account's strongest sign-in: alice is asked for her TOTP code as well as her
    password, and her passkey then works at once. bob has only a password, so a
    passkey he adds is on hold for a day: until then it cannot approve payments.

  Press Ctrl-C to stop.
"""


def _run(args: argparse.Namespace) -> int:
    from stepauth.demo.launcher import prepare, serve

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
    from stepauth.cli import load_dotenv
    from stepauth.demo.launcher import totp_code

    directory = _directory(args)
    if not (directory / "stepauth.toml").is_file():
        raise StepAuthError(f"no demo in {directory} (start one with `stepauth demo`)")
    load_dotenv(directory / ".env")
    code, remaining = totp_code(directory, args.name)
    print(f"{code}  (valid for {remaining} s)")
    return 0
