"""``stepauth users add|set-password|list|disable|enable|grant-admin|revoke-admin``.

``grant-admin NAME`` / ``revoke-admin NAME`` give or take the ``admin`` role, which
opens the operator console ``/admin`` (docs/console.md); each is audited
(``event=role_change``).

Passwords are hashed with argon2id (argon2-cffi defaults, RFC 9106). ``users add NAME
--password-stdin`` reads one line from standard input; without it the password is asked
twice with ``getpass`` (never echoed, never on the command line) — on a terminal only:
without one, or at the end of input, the command stops with one error line.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stepauth import audit
from stepauth.cli import add_action, add_command_group, find_user, load_cli_config, with_store
from stepauth.cli.users_factors import register_users_commands
from stepauth.errors import StepAuthError
from stepauth.provider.console.access import ADMIN_ROLE
from stepauth.provider.factors.password import MIN_PASSWORD_LENGTH, password_problem

if TYPE_CHECKING:
    from stepauth.store import Store

__all__ = ["MIN_PASSWORD_LENGTH", "read_password", "register"]


def register(subparsers: Any) -> None:
    commands = add_command_group(subparsers, "users", "manage user accounts")
    for action, summary, func in (
        ("add", "create a user with a password", _add),
        ("set-password", "replace a user's password", _set_password),
    ):
        with_password = add_action(commands, action, summary, func)
        with_password.add_argument("name", metavar="NAME")
        with_password.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
        )
    add_action(commands, "list", "list users", _list)
    for action, disabled in (("disable", True), ("enable", False)):
        sub = add_action(commands, action, f"{action} a user", _set_disabled)
        sub.add_argument("name", metavar="NAME")
        sub.set_defaults(disabled=disabled)

    for action, granted in (("grant-admin", True), ("revoke-admin", False)):
        verb = "give" if granted else "take"
        sub = add_action(commands, action, f"{verb} a user the admin role", _set_admin)
        sub.add_argument("name", metavar="NAME")
        sub.set_defaults(granted=granted)

    # add-totp, factors, remove-factor, unlock: the admin provisioning commands
    register_users_commands(commands)


def _check(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StepAuthError(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters", error="weak_password"
        )
    if password_problem(password) is not None:
        raise StepAuthError("password is too long", error="weak_password")
    return password


def read_password(from_stdin: bool) -> str:
    """One line from stdin, or two matching ``getpass`` prompts."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise StepAuthError("no password on standard input", error="usage")
        return _check(line.removesuffix("\n").removesuffix("\r"))
    if not sys.stdin.isatty():
        # getpass would fall back to reading (and echoing) stdin, or fail on its end
        raise StepAuthError(
            "no terminal to ask for the password on; pipe it in with --password-stdin",
            error="usage",
        )
    try:
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Repeat password: ")
    except EOFError:
        raise StepAuthError("no password given (end of input)", error="usage") from None
    if first != second:
        raise StepAuthError("passwords do not match", error="usage")
    return _check(first)


def _username(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 255 or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise StepAuthError("NAME must be 1-255 printable characters without spaces", error="usage")
    return name


def _name_and_hash(args: argparse.Namespace) -> tuple[str, str]:
    """``NAME`` checked, and the argon2id hash of the password read for it."""
    from argon2 import PasswordHasher

    name = _username(args.name)
    return name, PasswordHasher().hash(read_password(args.password_stdin))


def _add(args: argparse.Namespace) -> int:
    config = load_cli_config(args)
    name, password_hash = _name_and_hash(args)

    async def create(store: Store) -> str:
        if await store.get_user_by_username(name) is not None:
            raise StepAuthError(f"user {name!r} already exists", error="user_exists")
        return (await store.create_user(name, password_hash)).id

    user_id = with_store(config, create)
    print(f"added user {name} ({user_id})")
    return 0


def _list(args: argparse.Namespace) -> int:
    config = load_cli_config(args)
    for user in with_store(config, lambda store: store.list_users()):
        created = datetime.fromtimestamp(user.created_at, tz=UTC).strftime("%Y-%m-%d %H:%M")
        status = "disabled" if user.disabled else "active"
        print(f"{user.username}\t{status}\t{created}\t{user.id}")
    return 0


def _set_disabled(args: argparse.Namespace) -> int:
    config = load_cli_config(args)
    name = _username(args.name)

    async def change(store: Store) -> None:
        user = await find_user(store, name)
        await store.set_user_disabled(user.id, args.disabled)

    with_store(config, change)
    print(f"{'disabled' if args.disabled else 'enabled'} user {name}")
    return 0


def _set_admin(args: argparse.Namespace) -> int:
    config = load_cli_config(args)
    name = _username(args.name)

    async def change(store: Store) -> bool:
        user = await find_user(store, name)
        changed = await store.set_user_role(user.id, ADMIN_ROLE, args.granted)
        if changed:
            await audit.role_change(
                store,
                now=time.time(),
                user_id=user.id,
                role=ADMIN_ROLE,
                granted=args.granted,
                client=audit.Client(),
            )
        return changed

    changed = with_store(config, change)
    verb = "granted" if args.granted else "revoked"
    print(f"admin role {verb}: {name}" + ("" if changed else " (no change)"))
    return 0


def _set_password(args: argparse.Namespace) -> int:
    config = load_cli_config(args)
    name, password_hash = _name_and_hash(args)

    async def change(store: Store) -> None:
        user = await find_user(store, name)
        await store.set_password_hash(user.id, password_hash)
        await store.reset_failures(user.id, "password")

    with_store(config, change)
    print(f"password of {name} replaced")
    return 0
