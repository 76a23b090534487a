"""``stepauth init [DIR]``: write a working development configuration.

Writes ``DIR/stepauth.toml`` (an ``http://localhost`` issuer, SQLite next to it, one
confidential client ``demo`` with a generated secret) and ``DIR/.env`` holding the
key-encryption secret ``STEPAUTH_SECRET_KEY`` — kept out of the TOML so the config can
be shared while the secret stays local (``stepauth serve`` loads ``.env``; in
production set the variable in the environment instead). Both files are created with
mode 0600; an existing ``stepauth.toml`` is never overwritten.
"""

from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path
from typing import Any

from stepauth.errors import StepAuthError
from stepauth.provider.config import DEFAULT_KEY_ENV, default_config_text

__all__ = ["register", "run"]

_ENV_HEADER = "# stepauth development secrets — keep out of version control\n"


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "init", help="write a development stepauth.toml (and .env) into DIR"
    )
    parser.add_argument("dir", nargs="?", default=".", metavar="DIR")
    parser.add_argument("--port", type=int, default=8080, help="port of the issuer URL")
    parser.set_defaults(func=run)


def _write_private(path: Path, text: str, *, append: bool = False) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def run(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    if not 1 <= args.port <= 65535:
        raise StepAuthError("--port must be between 1 and 65535", error="usage")
    if not directory.parent.exists():
        # a typo in the path must not grow a tree of folders
        raise StepAuthError(
            f"no directory {directory.parent} to create {directory} in", error="usage"
        )
    try:
        directory.mkdir(exist_ok=True)
    except OSError as exc:
        raise StepAuthError(f"cannot create {directory}: {exc.strerror}", error="usage") from None
    target = directory / "stepauth.toml"
    if target.exists():
        raise StepAuthError(f"{target} already exists; not overwriting it", error="exists")
    env_file = directory / ".env"
    try:
        existing = env_file.read_text(encoding="utf-8") if env_file.exists() else ""
        _write_private(target, default_config_text(directory, port=args.port))
        if not any(line.startswith(f"{DEFAULT_KEY_ENV}=") for line in existing.splitlines()):
            line = f"{DEFAULT_KEY_ENV}={secrets.token_urlsafe(48)}\n"
            prefix = "" if not existing or existing.endswith("\n") else "\n"
            header = "" if existing else _ENV_HEADER
            _write_private(env_file, header + prefix + line, append=env_file.exists())
    except FileExistsError:
        raise StepAuthError(
            f"{target} already exists; not overwriting it", error="exists"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise StepAuthError(f"cannot write into {directory}: {reason}", error="usage") from None
    print(f"wrote {target} and {env_file}")
    print(f"next: stepauth users add alice --config {target}")
    print(f"      stepauth serve --config {target}")
    return 0
