"""Assess a session's events against the ladder (docs/concepts.md, exact semantics).

1. The window is ``max_age`` if given, else the requested level's own maximum age.
2. A level is met when some subset of the events inside the window satisfies its rule
   — or the rule of a higher level, since a higher level satisfies a lower one. Among
   satisfying subsets the freshest wins: the one whose **oldest** event is newest.
3. ``acr`` is the first requested value (preference order) that is met; with none
   requested, the highest level met. ``amr`` lists the subset's methods plus ``mfa``
   when it spans two categories or holds a multi-factor authenticator. ``auth_time``
   is the subset's oldest event, so ``now - auth_time <= max_age`` means every factor
   behind the ``acr`` was presented within ``max_age`` (OIDC Core §2).

Every rule clause is monotone, so the freshest satisfying subset is found by one scan
over events sorted newest first: the first prefix that satisfies the clause ends at
the freshest possible oldest event, and any satisfying subset of that prefix must
contain that event. No subset enumeration.

Unknown requested ``acr`` values are ignored (OIDC Core §3.1.2.1). For each requested
level that is not met, :attr:`Assessment.missing` lists the alternatives (:class:`Need`)
that would raise the session to it, so a step-up asks for the missing factor only.
Events dated after ``now`` are ignored (fail closed on clock skew). An event with a
``cap`` (a factor on hold, NIST SP 800-63B-4 §6.1.2.1) is not eligible for any level
ranked above its cap; a cap this ladder does not know makes it eligible for none (fail
closed).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from types import MappingProxyType
from typing import Any

from stepauth.assurance.errors import InvalidEvent, InvalidRequirement
from stepauth.assurance.events import CATEGORY_BITS, AuthEvent
from stepauth.assurance.levels import DEFAULT_LADDER, Clause, Ladder, Level
from stepauth.assurance.methods import Category

__all__ = ["Assessment", "Need", "assess"]

_POSSESSION = CATEGORY_BITS[Category.POSSESSION]
_ALL_BITS = sum(CATEGORY_BITS.values())


@dataclass(frozen=True, slots=True)
class Need:
    """One way to reach a level: factors covering every category in ``categories``,
    and, when a flag is set, one authenticator with all the flagged properties."""

    categories: frozenset[Category] = frozenset()
    phishing_resistant: bool = False
    hardware_bound: bool = False
    multi_factor: bool = False


@dataclass(frozen=True, slots=True)
class Assessment:
    """The outcome of :func:`assess`; ``events`` is the subset behind ``acr``."""

    acr: str | None
    amr: tuple[str, ...]
    auth_time: float | None
    met: bool
    missing: Mapping[str, tuple[Need, ...]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    events: tuple[AuthEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class _Found:
    oldest: float
    subset: tuple[AuthEvent, ...]


def _scan(clause: Clause, events: Sequence[AuthEvent]) -> _Found | None:
    """Freshest subset of ``events`` (newest first) satisfying ``clause``."""
    wanted = clause.categories
    needs_authenticator = clause.needs_authenticator
    bits = 0
    have_authenticator = not needs_authenticator
    end = -1
    for index, event in enumerate(events):
        bits |= event.category_bits
        if not have_authenticator and clause.is_authenticator(event):
            have_authenticator = True
        if have_authenticator and bits.bit_count() >= wanted:
            end = index
            break
    if end < 0:
        return None
    # The satisfying prefix must hold events[end]; trim the rest greedily, newest first.
    oldest = events[end]
    subset = [oldest]
    bits = oldest.category_bits
    prefix = events[:end]
    if needs_authenticator and not clause.is_authenticator(oldest):
        authenticator = next(e for e in prefix if clause.is_authenticator(e))
        subset.append(authenticator)
        bits |= authenticator.category_bits
    for event in prefix:
        if bits.bit_count() >= wanted:
            break
        if event.category_bits & ~bits and event not in subset:
            subset.append(event)
            bits |= event.category_bits
    subset.sort(key=lambda e: e.at)
    return _Found(oldest.at, tuple(subset))


def _eligible(level: Level, events: Sequence[AuthEvent], ladder: Ladder) -> Sequence[AuthEvent]:
    rule = level.rule
    for capped in events:  # a plain loop: most sessions have no capped event
        if capped.cap is not None:
            rank = ladder.rank(level.acr)
            events = [e for e in events if e.cap is None or _within_cap(e.cap, rank, ladder)]
            break
    if rule.allow_restricted and not rule.exclude_methods:
        return events
    return [e for e in events if rule.eligible(e)]


def _within_cap(cap: str, rank: int | None, ladder: Ladder) -> bool:
    """Is a level of ``rank`` at or below ``cap``? An unknown cap allows nothing."""
    cap_rank = ladder.rank(cap)
    return cap_rank is not None and rank is not None and rank <= cap_rank


def _best(level: Level, events: Sequence[AuthEvent], ladder: Ladder) -> _Found | None:
    usable = _eligible(level, events, ladder)
    best: _Found | None = None
    for clause in level.rule.any_of:
        found = _scan(clause, usable)
        if found is not None and (best is None or found.oldest > best.oldest):
            best = found
    return best


_CATEGORY_SETS = tuple(
    frozenset(c for c, b in CATEGORY_BITS.items() if bits & b) for bits in range(_ALL_BITS + 1)
)


def _needs(level: Level, events: Sequence[AuthEvent], ladder: Ladder) -> tuple[Need, ...]:
    """Alternatives that would make ``events`` (already in the window) meet ``level``."""
    usable = _eligible(level, events, ladder)
    have = 0
    for event in usable:
        have |= event.category_bits
    needs: list[Need] = []
    for clause in level.rule.any_of:
        authenticator = clause.needs_authenticator and not any(
            clause.is_authenticator(e) for e in usable
        )
        after = have
        extra = 0
        if authenticator:
            # The new authenticator proves possession, and a multi-factor one one more.
            after |= _POSSESSION
            if clause.multi_factor and _ALL_BITS & ~after:
                extra = 1
        still = clause.categories - after.bit_count() - extra
        free = [b for b in CATEGORY_BITS.values() if not after & b]
        combos = combinations(free, still) if still > 0 else [()]
        for combo in combos:
            need = Need(
                categories=_CATEGORY_SETS[sum(combo)],
                phishing_resistant=authenticator and clause.phishing_resistant,
                hardware_bound=authenticator and clause.hardware_bound,
                multi_factor=authenticator and clause.multi_factor,
            )
            if need not in needs:
                needs.append(need)
    return tuple(needs)


def _amr(subset: Sequence[AuthEvent]) -> tuple[str, ...]:
    amr: dict[str, None] = {}
    bits = 0
    multi = False
    for event in subset:
        bits |= event.category_bits
        multi = multi or event.multi_factor
        for method in event.methods:
            if method != "mfa":
                amr[method] = None
    if multi or bits.bit_count() >= 2:
        amr["mfa"] = None
    return tuple(amr)


def _coerce_events(events: Iterable[AuthEvent | Mapping[str, Any]]) -> list[AuthEvent]:
    out: list[AuthEvent] = []
    for event in events:
        if isinstance(event, AuthEvent):
            out.append(event)
        elif isinstance(event, Mapping):
            out.append(AuthEvent.from_json(event))
        else:
            raise InvalidEvent("events must be AuthEvent instances or their JSON form")
    return out


def _coerce_acr_values(acr_values: str | Iterable[str]) -> tuple[str, ...]:
    values = acr_values.split() if isinstance(acr_values, str) else tuple(acr_values)
    if not all(isinstance(v, str) for v in values):
        raise InvalidRequirement("acr_values must be strings")
    return tuple(dict.fromkeys(values))


def assess(
    events: Iterable[AuthEvent | Mapping[str, Any]],
    acr_values: str | Iterable[str] = (),
    max_age: int | None = None,
    *,
    now: float | None = None,
    ladder: Ladder = DEFAULT_LADDER,
) -> Assessment:
    """Which ``acr`` do ``events`` meet at ``now``, and what is missing."""
    if max_age is not None and (
        not isinstance(max_age, int) or isinstance(max_age, bool) or max_age < 0
    ):
        raise InvalidRequirement("max_age must be a non-negative integer")
    if now is None:
        now = time.time()
    elif isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
        raise InvalidRequirement("now must be a finite number of epoch seconds")
    ordered = sorted(
        (e for e in _coerce_events(events) if e.at <= now), key=lambda e: e.at, reverse=True
    )
    requested = [
        level
        for level in map(ladder.get, _coerce_acr_values(acr_values))
        if level is not None  # unknown values are ignored (OIDC Core §3.1.2.1)
    ]

    cache: dict[str, _Found | None] = {}

    def best(level: Level) -> _Found | None:
        if level.acr not in cache:
            cache[level.acr] = _best(level, ordered, ladder)
        return cache[level.acr]

    def met(level: Level) -> _Found | None:
        window = level.max_age if max_age is None else max_age
        chosen: _Found | None = None
        for candidate in ladder.at_or_above(level.acr):
            found = best(candidate)
            if (
                found is not None
                and now - found.oldest <= window
                and (chosen is None or found.oldest > chosen.oldest)
            ):
                chosen = found
        return chosen

    missing: dict[str, tuple[Need, ...]] = {}
    for level in requested or reversed(ladder.levels):
        found = met(level)
        if found is not None:
            return Assessment(
                acr=level.acr,
                amr=_amr(found.subset),
                auth_time=found.oldest,
                met=True,
                missing=MappingProxyType(missing),
                events=found.subset,
            )
        if requested:
            window = level.max_age if max_age is None else max_age
            fresh = [e for e in ordered if now - e.at <= window]
            missing[level.acr] = _needs(level, fresh, ladder)
    return Assessment(
        acr=None,
        amr=(),
        auth_time=None,
        met=False,
        missing=MappingProxyType(missing),
    )
