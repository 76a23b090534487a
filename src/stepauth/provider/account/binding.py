"""Who may change how an account signs in: the binding level and the step-up at it.

NIST SP 800-63B-4 §6.1.2.1: binding an authenticator needs authentication at the level it
will be used at. The account's **binding level** is
:func:`stepauth.assurance.binding_level` over the capabilities of its active factors
(:func:`stepauth.provider.factors.base.capability_of`), leaving out recovery codes (a
last resort) and factors on hold (:mod:`stepauth.provider.factors.hold`). Every change
to authenticators or the password needs :func:`stepauth.assurance.binding_step_up`: a
step-up at that level, at most five minutes old, made of the factors that produce it.
The password alone passes only for an account whose binding level is the ladder's
lowest.

The **recovery path** (:func:`stepauth.assurance.recovery_step_up`: a recovery code and
the password, both fresh) may *add* a replacement factor, nothing else; a factor added
that way — or by an account with one way to sign in — goes on hold for
``[account] binding_hold`` seconds at the level of the session that bound it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stepauth.assurance import Need, binding_level, binding_step_up, recovery_step_up
from stepauth.provider.factors.base import FactorPlugin, capability_of
from stepauth.provider.factors.hold import active_factors, hold_data, is_held

if TYPE_CHECKING:
    from stepauth.provider.state import ProviderState
    from stepauth.store import Factor, Session, User

__all__ = ["Authority", "authority", "binding_factors", "binding_of", "snapshot"]

_RECOVERY = "recovery"


def binding_factors(
    state: ProviderState, user: User, factors: list[Factor]
) -> tuple[list[FactorPlugin], list[Factor]]:
    """The plug-ins and factors that make the binding level: enrolled, not on hold,
    no recovery codes."""
    active = [f for f in active_factors(factors, state.clock()) if f.kind != _RECOVERY]
    plugins = [p for p in state.factors.enrolled(user, active) if p.kind != _RECOVERY]
    return plugins, active


def binding_of(state: ProviderState, user: User, factors: list[Factor]) -> str | None:
    """The account's binding level (``None``: no factor at all)."""
    plugins, active = binding_factors(state, user, factors)
    return binding_level([capability_of(p, active) for p in plugins], ladder=state.ladder)


@dataclass(frozen=True)
class Authority:
    """What the session may change now."""

    #: The account's binding level.
    binding: str | None
    #: The session holds a step-up at the binding level (any change).
    full: bool
    #: The level of a fresh recovery step-up (``None``: none): adding only.
    recovery: str | None
    #: What a step-up must add to reach the binding level (``assess`` Needs).
    missing: tuple[Need, ...]
    #: The binding level is the ladder's lowest: the account has one way to sign in.
    single_factor: bool

    def allows(self, *, adds: bool) -> bool:
        """May the session make this change (``adds``: it only adds a factor)?"""
        return self.full or (adds and self.recovery is not None)

    def hold(self, state: ProviderState) -> dict[str, Any]:
        """The ``data`` members of a factor added now: on hold when bound by the recovery
        path or by a one-factor account, none when the hold is turned off."""
        seconds = state.config.account.binding_hold
        if seconds <= 0:
            return {}
        until = state.clock() + seconds
        if not self.full and self.recovery is not None:
            return hold_data(until=until, acr=self.recovery, reason="recovery")
        if self.single_factor:
            acr = self.binding or state.ladder.levels[0].acr
            return hold_data(until=until, acr=acr, reason="single_factor")
        return {}


async def authority(state: ProviderState, session: Session, user: User) -> Authority:
    """The session's authority over the account's authenticators (module docstring)."""
    factors = await state.store.list_factors(user.id)
    binding = binding_of(state, user, factors)
    now = state.clock()
    result = binding_step_up(session.events, binding, now=now, ladder=state.ladder)
    missing: tuple[Need, ...] = ()
    if not result.met:
        missing = tuple(need for needs in result.missing.values() for need in needs)
    return Authority(
        binding=binding,
        full=result.met,
        recovery=recovery_step_up(session.events, now=now, ladder=state.ladder),
        missing=missing,
        single_factor=binding is None or binding == state.ladder.levels[0].acr,
    )


async def snapshot(state: ProviderState, user_id: str) -> dict[str, Any]:
    """The account's factors and binding level, for the audit of a change (before/after)."""
    user = await state.store.get_user(user_id)
    if user is None:
        return {"factors": [], "held": [], "binding": None}
    factors = await state.store.list_factors(user_id)
    now = state.clock()
    names = ["password"] if user.password_hash else []
    names += [f"{f.kind}:{f.id}" for f in factors if not f.disabled]
    held = [f"{f.kind}:{f.id}" for f in factors if not f.disabled and is_held(f, now)]
    return {"factors": names, "held": held, "binding": binding_of(state, user, factors)}
