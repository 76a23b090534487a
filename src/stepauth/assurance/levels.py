"""The ordered ladder of ``acr`` values and the rules behind them (docs/concepts.md).

A :class:`Level` is an ``acr`` value, a :class:`Rule` over authentication events and
the level's own maximum age. A rule is plain data: a disjunction (``any_of``) of
:class:`Clause` conjunctions, each evaluated over a *subset* of events:

* ``categories`` — at least N distinct factor categories across the subset;
* ``multi_factor`` / ``phishing_resistant`` / ``hardware_bound`` — one event of the
  subset is an authenticator with **all** these properties together;

plus event filters for the whole rule: ``exclude_methods`` (events carrying any of
these ``amr`` values are not eligible) and ``allow_restricted`` (NIST §3.1.3.3).

Every clause is monotone — adding an event to a satisfying subset keeps it
satisfying — which is what lets :func:`~stepauth.assurance.assess` find the freshest
satisfying subset with one scan over events sorted newest first.

The default ladder (NIST SP 800-63B-4 §2.1-§2.3, reauthentication §2.x.3 and §5.2,
syncable authenticators Appendix B; OpenID Connect EAP ACR Values 1.0 §2):

=========================  ============================================  ======
acr                        rule                                          window
=========================  ============================================  ======
``urn:stepauth:acr:1fa``   one factor (AAL1)                             30 days
``urn:stepauth:acr:2fa``   two categories, or a multi-factor             24 h
                           authenticator (AAL2)
``phr``                    a phishing-resistant multi-factor             24 h
                           authenticator, synced passkeys included
``phrh``                   ``phr`` on a device-bound key (BE=0) with     12 h
                           trusted attestation (AAL3)
=========================  ============================================  ======

Deployments change or extend it from data (dict or TOML) with :func:`ladder_from_data`::

    base = "default"
    [[levels]]
    acr = "urn:openbanking:psd2:sca"
    above = "urn:stepauth:acr:2fa"
    max_age = 300
    rule = { categories = 2, exclude_methods = ["sms", "tel"] }
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from stepauth.assurance.errors import InvalidLadder
from stepauth.assurance.events import AuthEvent
from stepauth.assurance.methods import Category

__all__ = [
    "DEFAULT_LADDER",
    "Clause",
    "Ladder",
    "Level",
    "Rule",
    "default_ladder_data",
    "ladder_from_data",
]

ACR_1FA = "urn:stepauth:acr:1fa"
ACR_2FA = "urn:stepauth:acr:2fa"
ACR_PHR = "phr"
ACR_PHRH = "phrh"

_DAY = 86_400
_CATEGORY_COUNT = len(Category)


@dataclass(frozen=True, slots=True)
class Clause:
    """One way to satisfy a rule; all its conditions hold together."""

    categories: int = 1
    multi_factor: bool = False
    phishing_resistant: bool = False
    hardware_bound: bool = False

    @property
    def needs_authenticator(self) -> bool:
        """True when one event must carry the authenticator properties."""
        return self.multi_factor or self.phishing_resistant or self.hardware_bound

    def is_authenticator(self, event: AuthEvent) -> bool:
        """Does ``event`` alone carry every authenticator property of this clause?"""
        return (
            (event.multi_factor or not self.multi_factor)
            and (event.phishing_resistant or not self.phishing_resistant)
            and (event.hardware_bound or not self.hardware_bound)
        )


@dataclass(frozen=True, slots=True)
class Rule:
    """A disjunction of clauses plus the events the rule may use."""

    any_of: tuple[Clause, ...]
    exclude_methods: frozenset[str] = frozenset()
    allow_restricted: bool = True

    def eligible(self, event: AuthEvent) -> bool:
        """May ``event`` take part in a subset for this rule?"""
        if event.restricted and not self.allow_restricted:
            return False
        return not self.exclude_methods.intersection(event.methods)


@dataclass(frozen=True, slots=True)
class Level:
    """An ``acr`` value, its rule and its maximum age in seconds."""

    acr: str
    rule: Rule
    max_age: int
    description: str = ""


@dataclass(frozen=True, slots=True, init=False)
class Ladder:
    """Levels ordered lowest first; a higher level satisfies a lower one."""

    levels: tuple[Level, ...]
    _rank: Mapping[str, int] = field(repr=False, compare=False)
    # Precomputed for evaluate(), which runs on every request: want -> acr values meeting it.
    _satisfied_by: Mapping[str, frozenset[str]] = field(repr=False, compare=False)
    _max_age: Mapping[str, int] = field(repr=False, compare=False)

    def __init__(self, levels: Sequence[Level]) -> None:
        rank: dict[str, int] = {}
        for index, level in enumerate(levels):
            where = f"levels[{index}]"
            if not isinstance(level, Level):
                raise InvalidLadder("must be a Level", field=where)
            _check_acr(level.acr, f"{where}.acr")
            if level.acr in rank:
                raise InvalidLadder(f"duplicate acr {level.acr!r}", field=f"{where}.acr")
            _check_max_age(level.max_age, f"{where}.max_age")
            if not level.rule.any_of:
                raise InvalidLadder("a rule needs at least one clause", field=f"{where}.rule")
            rank[level.acr] = index
        object.__setattr__(self, "levels", tuple(levels))
        object.__setattr__(self, "_rank", MappingProxyType(rank))
        names = [level.acr for level in levels]
        object.__setattr__(
            self,
            "_satisfied_by",
            MappingProxyType({acr: frozenset(names[i:]) for i, acr in enumerate(names)}),
        )
        object.__setattr__(
            self, "_max_age", MappingProxyType({level.acr: level.max_age for level in levels})
        )

    def __iter__(self) -> Iterator[Level]:
        return iter(self.levels)

    def __len__(self) -> int:
        return len(self.levels)

    def __contains__(self, acr: object) -> bool:
        return acr in self._rank

    @property
    def acr_values(self) -> tuple[str, ...]:
        """The ``acr`` values, lowest first (``acr_values_supported``, RFC 9470 §7)."""
        return tuple(level.acr for level in self.levels)

    def get(self, acr: str) -> Level | None:
        """The level named ``acr``, or None when this ladder does not know it."""
        index = self._rank.get(acr)
        return None if index is None else self.levels[index]

    def rank(self, acr: str) -> int | None:
        """Position of ``acr`` (0 = lowest), or None when unknown."""
        return self._rank.get(acr)

    def satisfies(self, have_acr: str, want_acr: str) -> bool:
        """Does a session at ``have_acr`` meet ``want_acr``? Unknown values: equality only."""
        return have_acr == want_acr or have_acr in self._satisfied_by.get(want_acr, ())

    def at_or_above(self, acr: str) -> tuple[Level, ...]:
        """The level named ``acr`` and every higher one (empty when unknown)."""
        index = self._rank.get(acr)
        return () if index is None else self.levels[index:]

    def to_data(self) -> dict[str, Any]:
        """Plain data that :func:`ladder_from_data` reads back into an equal ladder."""
        return {"levels": [_level_to_data(level) for level in self.levels]}


def _check_acr(acr: object, where: str) -> None:
    # acr values travel space-separated in acr_values (OIDC Core §3.1.2.1, RFC 9470 §3).
    if not isinstance(acr, str) or not acr or any(c.isspace() for c in acr):
        raise InvalidLadder("must be a non-empty string without whitespace", field=where)
    if not acr.isprintable() or '"' in acr or "\\" in acr:
        raise InvalidLadder("must be printable, without quotes or backslashes", field=where)


def _check_max_age(value: object, where: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidLadder("must be a non-negative integer number of seconds", field=where)


def _level_to_data(level: Level) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "any_of": [
            {
                "categories": c.categories,
                "multi_factor": c.multi_factor,
                "phishing_resistant": c.phishing_resistant,
                "hardware_bound": c.hardware_bound,
            }
            for c in level.rule.any_of
        ],
        "exclude_methods": sorted(level.rule.exclude_methods),
        "allow_restricted": level.rule.allow_restricted,
    }
    data: dict[str, Any] = {"acr": level.acr, "max_age": level.max_age, "rule": rule}
    if level.description:
        data["description"] = level.description
    return data


_CLAUSE_KEYS = frozenset({"categories", "multi_factor", "phishing_resistant", "hardware_bound"})
_RULE_KEYS = frozenset({"any_of", "exclude_methods", "allow_restricted"})
_LEVEL_KEYS = frozenset({"acr", "max_age", "rule", "description", "above"})


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidLadder("must be a table / mapping", field=where)
    for key in value:
        if not isinstance(key, str):
            raise InvalidLadder("keys must be strings", field=where)
    return value


def _bool(data: Mapping[str, Any], key: str, default: bool, where: str) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise InvalidLadder("must be a boolean", field=f"{where}.{key}")
    return value


def _unknown(data: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    for key in data:
        if key not in allowed:
            raise InvalidLadder("unknown key", field=f"{where}.{key}")


def _clause(raw: object, where: str) -> Clause:
    data = _mapping(raw, where)
    _unknown(data, _CLAUSE_KEYS, where)
    count = data.get("categories", 1)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= _CATEGORY_COUNT:
        raise InvalidLadder(
            f"must be an integer from 1 to {_CATEGORY_COUNT}", field=f"{where}.categories"
        )
    return Clause(
        categories=count,
        multi_factor=_bool(data, "multi_factor", False, where),
        phishing_resistant=_bool(data, "phishing_resistant", False, where),
        hardware_bound=_bool(data, "hardware_bound", False, where),
    )


def _rule(raw: object, where: str) -> Rule:
    data = _mapping(raw, where)
    _unknown(data, _RULE_KEYS | _CLAUSE_KEYS, where)
    if "any_of" in data:
        for key in _CLAUSE_KEYS & data.keys():
            raise InvalidLadder("give clauses inside any_of, not beside it", field=f"{where}.{key}")
        raw_clauses = data["any_of"]
        if not isinstance(raw_clauses, list | tuple) or not raw_clauses:
            raise InvalidLadder("must be a non-empty list of clauses", field=f"{where}.any_of")
        clauses = tuple(_clause(c, f"{where}.any_of[{i}]") for i, c in enumerate(raw_clauses))
    else:
        clauses = (_clause({k: v for k, v in data.items() if k in _CLAUSE_KEYS}, where),)
    excluded = data.get("exclude_methods", [])
    if not isinstance(excluded, list | tuple) or not all(
        isinstance(m, str) and m for m in excluded
    ):
        raise InvalidLadder("must be a list of amr values", field=f"{where}.exclude_methods")
    return Rule(
        any_of=clauses,
        exclude_methods=frozenset(excluded),
        allow_restricted=_bool(data, "allow_restricted", True, where),
    )


def _level(raw: Mapping[str, Any], where: str) -> Level:
    if "acr" not in raw:
        raise InvalidLadder("is required", field=f"{where}.acr")
    _check_acr(raw["acr"], f"{where}.acr")
    if "max_age" not in raw:
        raise InvalidLadder("is required", field=f"{where}.max_age")
    _check_max_age(raw["max_age"], f"{where}.max_age")
    if "rule" not in raw:
        raise InvalidLadder("is required", field=f"{where}.rule")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise InvalidLadder("must be a string", field=f"{where}.description")
    return Level(
        acr=raw["acr"],
        rule=_rule(raw["rule"], f"{where}.rule"),
        max_age=raw["max_age"],
        description=description,
    )


def ladder_from_data(data: Mapping[str, Any]) -> Ladder:
    """Build a ladder from plain data (a dict, or the result of ``tomllib.loads``).

    ``levels`` is a list of level tables, lowest first. With ``base = "default"`` the
    levels are merged into the default ladder: a known ``acr`` replaces that level in
    place; a new one goes directly ``above`` the named level (default: on top).
    Malformed data raises :class:`InvalidLadder` whose ``field`` names the value.
    """
    data = _mapping(data, "ladder")
    _unknown(data, frozenset({"base", "levels"}), "ladder")
    base = data.get("base")
    if base is None:
        levels: list[Level] = []
    elif base == "default":
        levels = list(DEFAULT_LADDER.levels)
    else:
        raise InvalidLadder('must be "default" or absent', field="ladder.base")
    raw_levels = data.get("levels")
    if not isinstance(raw_levels, list | tuple) or (base is None and not raw_levels):
        raise InvalidLadder("must be a non-empty list of levels", field="ladder.levels")
    for index, raw in enumerate(raw_levels):
        where = f"levels[{index}]"
        entry = _mapping(raw, where)
        _unknown(entry, _LEVEL_KEYS, where)
        level = _level(entry, where)
        names = [existing.acr for existing in levels]
        above = entry.get("above")
        if level.acr in names:
            if base is None:
                raise InvalidLadder(f"duplicate acr {level.acr!r}", field=f"{where}.acr")
            if above is not None:
                raise InvalidLadder("cannot move a replaced level", field=f"{where}.above")
            levels[names.index(level.acr)] = level
        elif above is None:
            levels.append(level)
        elif isinstance(above, str) and above in names:
            levels.insert(names.index(above) + 1, level)
        else:
            raise InvalidLadder("must name a level defined before", field=f"{where}.above")
    return Ladder(levels)


def default_ladder_data() -> dict[str, Any]:
    """The default ladder as data (a starting point for a deployment's own file)."""
    return DEFAULT_LADDER.to_data()


DEFAULT_LADDER = Ladder(
    (
        Level(
            ACR_1FA,
            Rule(any_of=(Clause(categories=1),)),
            max_age=30 * _DAY,
            description="any one verified factor (NIST AAL1)",
        ),
        Level(
            ACR_2FA,
            Rule(any_of=(Clause(categories=2), Clause(multi_factor=True))),
            max_age=_DAY,
            description="two factor categories or one multi-factor authenticator (NIST AAL2)",
        ),
        Level(
            ACR_PHR,
            Rule(
                any_of=(Clause(multi_factor=True, phishing_resistant=True),),
                allow_restricted=False,
            ),
            max_age=_DAY,
            description="phishing-resistant multi-factor authenticator, synced passkeys included",
        ),
        Level(
            ACR_PHRH,
            Rule(
                any_of=(Clause(multi_factor=True, phishing_resistant=True, hardware_bound=True),),
                allow_restricted=False,
            ),
            max_age=12 * 3_600,
            description="phr with a device-bound, attested hardware key (NIST AAL3)",
        ),
    )
)
"""The default ladder (docs/concepts.md) with NIST SP 800-63B-4 reauthentication windows."""
