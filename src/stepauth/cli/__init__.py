"""The ``stepauth`` command line (argparse).

``main(argv)`` builds one parser from :data:`COMMAND_MODULES`; each module exposes
``register(subparsers) -> None`` and sets ``func`` (``(args) -> int``) on its parsers.
A listed module that is not installed yet (``ModuleNotFoundError`` for exactly that
module) is left out; any other import error propagates.

Errors: a :class:`~stepauth.errors.StepAuthError`, and a usage error argparse finds, is
printed as one ``stepauth: error: …`` line on stderr and the exit code is 2 — bad input
never produces a traceback.

Config path resolution (:func:`config_path`): ``--config PATH``, then the
``STEPAUTH_CONFIG`` environment variable, then ``./stepauth.toml``. Variables in a
``.env`` file next to the config (written by ``stepauth init``) are loaded into the
environment unless already set there.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from stepauth.errors import ConfigError, StepAuthError
from stepauth.provider.config import ProviderConfig, load_config
from stepauth.provider.ops.bootstrap import key_secret, load_dotenv, load_key_ring, opened_store
from stepauth.store import Store, User

__all__ = [
    "COMMAND_MODULES",
    "CONFIG_ENV",
    "add_action",
    "add_command_group",
    "add_config_argument",
    "build_parser",
    "config_path",
    "find_user",
    "key_secret",
    "load_cli_config",
    "load_dotenv",
    "load_key_ring",
    "main",
    "opened_store",
    "run",
    "with_store",
]

COMMAND_MODULES = [
    "stepauth.cli.init",
    "stepauth.cli.serve",
    "stepauth.cli.users",
    "stepauth.cli.clients",
    "stepauth.cli.keys",
    "stepauth.cli.policy",
    "stepauth.cli.demo",
    "stepauth.cli.audit",
    "stepauth.cli.outbox",
    "stepauth.cli.purge",
]
CONFIG_ENV = "STEPAUTH_CONFIG"
DEFAULT_CONFIG = "stepauth.toml"

T = TypeVar("T")


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """``--config PATH`` on a sub-command (also accepted before the command name)."""
    parser.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        metavar="PATH",
        help=f"config file (default: ${CONFIG_ENV} or ./{DEFAULT_CONFIG})",
    )


def add_command_group(subparsers: Any, name: str, summary: str) -> Any:
    """The parser of ``stepauth NAME ACTION``; returns its sub-parsers, one per action."""
    parser: argparse.ArgumentParser = subparsers.add_parser(name, help=summary)
    return parser.add_subparsers(dest=f"{name}_command", metavar="ACTION", required=True)


def add_action(
    commands: Any, name: str, summary: str, func: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    """An action of a command group: it takes ``--config`` and runs ``func``."""
    action: argparse.ArgumentParser = commands.add_parser(name, help=summary)
    add_config_argument(action)
    action.set_defaults(func=func)
    return action


def config_path(args: argparse.Namespace) -> Path:
    """``--config``, else ``$STEPAUTH_CONFIG``, else ``./stepauth.toml``."""
    given = getattr(args, "config", None) or os.environ.get(CONFIG_ENV)
    return Path(given) if given else Path.cwd() / DEFAULT_CONFIG


def load_cli_config(args: argparse.Namespace) -> ProviderConfig:
    """The resolved config file, validated, with its ``.env`` loaded."""
    path = config_path(args)
    if not path.is_file():
        raise ConfigError(
            f"no config file at {path} (run `stepauth init`, or pass --config / ${CONFIG_ENV})"
        )
    load_dotenv(path.resolve().parent / ".env")
    return load_config(path)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine to completion (CLI commands are synchronous at the top)."""
    return asyncio.run(coro)


def with_store(config: ProviderConfig, work: Callable[[Store], Awaitable[T]]) -> T:
    """Run ``work`` on the configured store (opened for it, then closed) to completion."""

    async def go() -> T:
        async with opened_store(config) as store:
            return await work(store)

    return run(go())


async def find_user(store: Store, name: str) -> User:
    """The user named ``name`` (surrounding spaces ignored); ``unknown_user`` otherwise."""
    user = await store.get_user_by_username(name.strip())
    if user is None:
        raise StepAuthError(f"no user named {name!r}", error="unknown_user")
    return user


def _register_commands(subparsers: Any) -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # not installed yet
            raise
        module.register(subparsers)


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one ``stepauth: error:`` line (exit 2).

    Sub-parsers are made of the same class (``add_subparsers`` takes the parser's type).
    """

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("stepauth").strip()
        where = f"{command}: " if command else ""
        print(f"stepauth: error: {where}{message} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="stepauth", description="Step-up authentication: OpenID Provider, SDK and policy."
    )
    parser.add_argument(
        "--config",
        default=None,
        metavar="PATH",
        help=f"config file (default: ${CONFIG_ENV} or ./{DEFAULT_CONFIG})",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _register_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stepauth`` command; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed by argparse
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(func(args) or 0)
    except StepAuthError as exc:
        print(f"stepauth: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
