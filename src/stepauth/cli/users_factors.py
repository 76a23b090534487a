"""``stepauth users add-totp|factors|remove-factor|confirm-factor|unlock``: factors by hand.

``register_users_commands(commands)`` adds the actions to the ``stepauth users``
sub-parsers:

* ``add-totp NAME [--secret BASE32]`` — a TOTP factor (RFC 6238, SHA-1, 6 digits, 30 s);
  with no ``--secret`` a random 160-bit one is made. Prints the ``otpauth://`` URI once
  (scan it, then forget it: the secret is not shown again);
* ``factors NAME`` — the user's factors: id, kind, name, created, last use;
* ``remove-factor NAME ID`` — remove one (recovery codes are revoked with it);
* ``confirm-factor NAME ID`` — end the hold of a factor added during account recovery or
  by a one-factor account (:mod:`stepauth.provider.factors.hold`), after the operator
  confirmed out of band that its owner added it: from now on it counts at its full level
  (:func:`stepauth.provider.factors.confirm.confirm_factor`, which ``/admin`` uses too);
* ``unlock NAME`` — clear the lockout of every factor type (an operator reset,
  NIST SP 800-63B-4 §3.2.2).

Each change is written to the audit log (``event=factor_change``/``unlock``) and the
user is notified (:func:`stepauth.provider.notices.notify`) with a "this wasn't me"
link (:mod:`stepauth.provider.account.not_me`).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stepauth.cli import add_action, find_user, load_cli_config, with_store
from stepauth.errors import StepAuthError
from stepauth.provider.factors import totp
from stepauth.provider.factors.confirm import ADDED_BY_OPERATOR, REMOVED_BY_OPERATOR, confirm_factor
from stepauth.provider.factors.confirm import factor_change_audit as _audit
from stepauth.provider.factors.confirm import operator_notice as _notice
from stepauth.provider.factors.recovery import revoke_codes

if TYPE_CHECKING:
    from stepauth.store import Store

__all__ = ["FACTOR_TYPES", "confirm_factor", "register_users_commands"]

#: Factor types whose lockout ``unlock`` clears.
FACTOR_TYPES = ("password", "totp", "webauthn", "recovery", "oob")


def register_users_commands(commands: Any) -> None:
    """Add the factor actions to the ``stepauth users`` sub-parsers."""
    add = add_action(commands, "add-totp", "add a TOTP authenticator to a user", _add_totp)
    add.add_argument("name", metavar="NAME")
    add.add_argument("--secret", metavar="BASE32", help="use this base32 secret")
    add.add_argument("--label", default="Authenticator app", help="the factor's name")
    listing = add_action(commands, "factors", "list a user's factors", _factors)
    listing.add_argument("name", metavar="NAME")
    remove = add_action(commands, "remove-factor", "remove one of a user's factors", _remove)
    remove.add_argument("name", metavar="NAME")
    remove.add_argument("factor_id", metavar="ID")
    confirm = add_action(
        commands, "confirm-factor", "end the hold of a factor added in recovery", _confirm
    )
    confirm.add_argument("name", metavar="NAME")
    confirm.add_argument("factor_id", metavar="ID")
    unlock = add_action(commands, "unlock", "clear a user's failed-attempt lockout", _unlock)
    unlock.add_argument("name", metavar="NAME")


def _with_store(args: argparse.Namespace, work: Any) -> Any:
    config = load_cli_config(args)
    return with_store(config, lambda store: work(store, config))


def _add_totp(args: argparse.Namespace) -> int:
    secret = (args.secret or totp.generate_secret()).replace(" ", "").upper().rstrip("=")
    params = totp.TotpParams(secret=secret)  # InvalidTotpParams names the problem

    async def work(store: Store, config: Any) -> tuple[str, str]:
        user = await find_user(store, args.name)
        factor = await store.add_factor(
            user.id, "totp", params.to_data(), label=args.label[:64], now=time.time()
        )
        await _audit(store, user, "add", "totp", factor.id)
        await _notice(
            store,
            user,
            ADDED_BY_OPERATOR,
            config=config,
            action="add",
            what="authenticator app",
            factor_id=factor.id,
        )
        uri = totp.provisioning_uri(
            params, account_name=user.username, issuer=config.webauthn.rp_name
        )
        return factor.id, uri

    factor_id, uri = _with_store(args, work)
    print(f"added TOTP factor {factor_id} to {args.name}")
    print(uri)
    return 0


def _when(value: float | None) -> str:
    if value is None:
        return "never"
    return datetime.fromtimestamp(value, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _factors(args: argparse.Namespace) -> int:
    async def work(store: Store, config: Any) -> list[Any]:
        user = await find_user(store, args.name)
        return list(await store.list_factors(user.id))

    for f in _with_store(args, work):
        kind = str(f.data.get("type", f.kind)) if f.kind == "webauthn" else f.kind
        status = "disabled" if f.disabled else "active"
        until = f.data.get("hold_until")
        if not f.disabled and isinstance(until, int | float) and until > time.time():
            status = f"on hold until {_when(float(until))}"
        created, used = _when(f.created_at), _when(f.last_used_at)
        print(f"{f.id}\t{kind}\t{f.label}\t{status}\tadded {created}\tlast used {used}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    async def work(store: Store, config: Any) -> str:
        user = await find_user(store, args.name)
        factor = await store.get_factor(args.factor_id)
        if factor is None or factor.user_id != user.id:
            raise StepAuthError(f"{args.name} has no factor {args.factor_id}", error="unknown")
        if factor.kind == "recovery":
            await revoke_codes(store, keys=[str(k) for k in factor.data.get("keys", [])])
        await store.remove_factor(factor.id)
        await _audit(store, user, "remove", factor.kind, factor.id)
        await _notice(
            store,
            user,
            REMOVED_BY_OPERATOR,
            config=config,
            action="remove",
            what="sign-in method",
        )
        return factor.kind

    kind = _with_store(args, work)
    print(f"removed {kind} factor {args.factor_id} from {args.name}")
    return 0


def _confirm(args: argparse.Namespace) -> int:
    async def work(store: Store, config: Any) -> str:
        user = await find_user(store, args.name)
        return await confirm_factor(store, user, args.factor_id, config=config)

    kind = _with_store(args, work)
    print(f"confirmed {kind} factor {args.factor_id} of {args.name}: no longer on hold")
    return 0


def _unlock(args: argparse.Namespace) -> int:
    async def work(store: Store, config: Any) -> None:
        user = await find_user(store, args.name)
        for factor_type in FACTOR_TYPES:
            await store.reset_failures(user.id, factor_type)
        await store.append_audit(
            {"event": "unlock", "result": "success", "user_id": user.id},
            now=time.time(),
        )

    _with_store(args, work)
    print(f"unlocked {args.name}")
    return 0
