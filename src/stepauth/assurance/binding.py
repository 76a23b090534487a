"""The binding level of an account and the step-up that changes its authenticators.

NIST SP 800-63B-4 §6.1.2.1: binding an authenticator needs authentication at the level
the new authenticator will be used at. A level is only as strong as the weakest way to
obtain the factor behind it (docs/concepts.md, "Binding level"):

* :func:`binding_level` — the highest level :func:`~stepauth.assurance.assess` can reach
  with all of an account's active authenticators at once (``phr`` with a passkey,
  ``urn:stepauth:acr:2fa`` with password + TOTP, ``urn:stepauth:acr:1fa`` with a
  password only), computed from what one verification of each proves (its categories
  and authenticator properties, the fields of :class:`~stepauth.assurance.Need`). The
  ladder's event filters (``exclude_methods``, ``allow_restricted``) are not known from
  capabilities, so a level that filters events counts as reachable: the level errs high,
  and a change asks more, never less (fail closed). Callers leave out recovery codes and
  factors on hold: neither is a way to reach the level.
* :func:`binding_step_up` — does the session hold a step-up *at* that level, at most
  :data:`BINDING_MAX_AGE` seconds old, made of the factors that produce it? Recovery
  codes (a last resort) and events of factors on hold (a ``cap``) never count.
* :func:`recovery_step_up` — the recovery path: a fresh recovery code together with one
  more fresh factor (a password). It may bind a replacement, which goes on hold.

Pure functions over data; no I/O.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from stepauth.assurance.assessment import Assessment, assess
from stepauth.assurance.events import AuthEvent
from stepauth.assurance.levels import DEFAULT_LADDER, Clause, Ladder
from stepauth.assurance.methods import Category

__all__ = [
    "BINDING_MAX_AGE",
    "Authenticator",
    "binding_level",
    "binding_step_up",
    "recovery_step_up",
]

#: A change to authenticators needs a step-up at most this old (ASVS 5.0 7.5.1).
BINDING_MAX_AGE = 300
_RECOVERY = "recovery"


class Authenticator(Protocol):
    """What one verification of an authenticator proves (a ``Need``, a ``Capability``)."""

    @property
    def categories(self) -> frozenset[Category]: ...

    @property
    def phishing_resistant(self) -> bool: ...

    @property
    def hardware_bound(self) -> bool: ...

    @property
    def multi_factor(self) -> bool: ...


def _provides(authenticator: Authenticator, clause: Clause) -> bool:
    return (
        (authenticator.multi_factor or not clause.multi_factor)
        and (authenticator.phishing_resistant or not clause.phishing_resistant)
        and (authenticator.hardware_bound or not clause.hardware_bound)
    )


def _reachable(clause: Clause, authenticators: Sequence[Authenticator]) -> bool:
    """Could one verification of each authenticator, all at once, satisfy ``clause``?"""
    categories: set[Category] = set()
    for authenticator in authenticators:
        categories |= authenticator.categories
    if clause.needs_authenticator and not any(_provides(a, clause) for a in authenticators):
        return False
    return len(categories) >= clause.categories


def binding_level(
    authenticators: Iterable[Authenticator], *, ladder: Ladder = DEFAULT_LADDER
) -> str | None:
    """The highest ``acr`` of ``ladder`` that the authenticators reach together, or
    ``None`` when they reach none (an account with no factor)."""
    present = list(authenticators)
    for level in reversed(ladder.levels):
        if any(_reachable(clause, present) for clause in level.rule.any_of):
            return level.acr
    return None


def _events(events: Iterable[AuthEvent | Mapping[str, Any]]) -> list[AuthEvent]:
    return [e if isinstance(e, AuthEvent) else AuthEvent.from_json(e) for e in events]


def binding_step_up(
    events: Iterable[AuthEvent | Mapping[str, Any]],
    binding_acr: str | None,
    *,
    now: float | None = None,
    ladder: Ladder = DEFAULT_LADDER,
    max_age: int = BINDING_MAX_AGE,
) -> Assessment:
    """``assess`` of the session at the binding level within ``max_age``, without
    recovery codes or events of factors on hold. ``missing`` names what a step-up must
    add. An unknown or absent binding level asks for the ladder's highest (fail closed)."""
    if binding_acr is None or binding_acr not in ladder:
        binding_acr = ladder.levels[-1].acr
    counted = [e for e in _events(events) if e.attrs.get("factor") != _RECOVERY and e.cap is None]
    return assess(
        counted,
        acr_values=(binding_acr,),
        max_age=max_age,
        now=time.time() if now is None else now,
        ladder=ladder,
    )


def recovery_step_up(
    events: Iterable[AuthEvent | Mapping[str, Any]],
    *,
    now: float | None = None,
    ladder: Ladder = DEFAULT_LADDER,
    max_age: int = BINDING_MAX_AGE,
) -> str | None:
    """The level of a fresh recovery step-up (a recovery code and one more factor, both
    within ``max_age``), or ``None``. A factor bound with it is held at this level."""
    result = assess(
        _events(events), max_age=max_age, now=time.time() if now is None else now, ladder=ladder
    )
    used = [e for e in result.events if e.attrs.get("factor") == _RECOVERY]
    if not result.met or not used or len(result.events) < 2:
        return None
    return result.acr
