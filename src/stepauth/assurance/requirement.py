"""Per-action requirements checked against token claims (RFC 9470 §3).

:func:`evaluate` runs on every protected request, so it does dictionary look-ups only.
It fails closed (RFC 9470 §3, §6; OIDC Core §2 (``acr``, ``auth_time``); OIDC Core §5.5.1.1,
§3.1.3.7 step 12; RFC 9470 §5; OIDC Core §12.2; RFC 9470 §6.1; NIST SP 800-63B-4 §5.1):

* claims that are not a mapping → ``claims_invalid``;
* a missing ``acr`` → ``acr_missing``; a non-string or empty one → ``acr_invalid``;
* an ``acr`` that does not reach any requested value → ``acr_not_met``;
* a missing ``auth_time`` → ``auth_time_missing``; a boolean, string, non-finite or
  negative one → ``auth_time_invalid``; one later than ``now + leeway`` →
  ``auth_time_in_future``;
* ``now - auth_time`` above the requirement's ``max_age`` — or, without one, above the
  maximum age of the level the ``acr`` was matched against (docs/concepts.md) — plus
  ``max_age_leeway`` → ``max_age_exceeded``.

Freshness and clock skew. ``auth_time`` is whole seconds (OIDC Core §2) and the OP's clock
is not the RP's, so an exact ``now - auth_time <= max_age`` would refuse an authentication
that happened a moment ago: ``max_age=0`` ("authenticate now", OIDC Core §3.1.2.1) could
never pass. ``max_age_leeway`` is added to every window. :func:`evaluate` itself is exact
by default (0, the Provider's own rule, so both sides agree); every SDK caller — ID tokens
in browser apps, access tokens in APIs — passes :data:`MAX_AGE_LEEWAY` (5 s) unless
configured otherwise, so an API that checks ``max_age=0`` on an access token accepts an
authentication at most that old. A browser flow knows more: when it started the step-up request.
``not_before`` is that instant; with ``max_age=0`` an ``auth_time`` at or after
``not_before - max_age_leeway`` ("authenticated after the request was made") is fresh
however long the user took at the OP. ``not_before`` never loosens a positive ``max_age``.

Both claims are required even when the requirement names no ``acr`` value: a token
that does not say how and when its user authenticated never satisfies a step-up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from stepauth.assurance.errors import InvalidRequirement
from stepauth.assurance.levels import DEFAULT_LADDER, Ladder

__all__ = [
    "MAX_AGE_LEEWAY",
    "REASONS",
    "Requirement",
    "Satisfied",
    "StepUp",
    "evaluate",
    "unmet_reason",
]

CLAIMS_INVALID: Final = "claims_invalid"
ACR_MISSING: Final = "acr_missing"
ACR_INVALID: Final = "acr_invalid"
ACR_NOT_MET: Final = "acr_not_met"
AUTH_TIME_MISSING: Final = "auth_time_missing"
AUTH_TIME_INVALID: Final = "auth_time_invalid"
AUTH_TIME_IN_FUTURE: Final = "auth_time_in_future"
MAX_AGE_EXCEEDED: Final = "max_age_exceeded"

REASONS: Final = frozenset(
    {
        CLAIMS_INVALID,
        ACR_MISSING,
        ACR_INVALID,
        ACR_NOT_MET,
        AUTH_TIME_MISSING,
        AUTH_TIME_INVALID,
        AUTH_TIME_IN_FUTURE,
        MAX_AGE_EXCEEDED,
    }
)
"""Every stable ``StepUp.reason`` value."""

MAX_AGE_LEEWAY: Final = 5.0
"""Seconds the SDK adds to ``max_age`` windows: whole-second ``auth_time`` and clock skew."""


@dataclass(frozen=True, slots=True)
class Requirement:
    """What an action needs: ``acr_values`` in preference order and an optional ``max_age``.

    A single string is read as a space-separated list (the wire form, RFC 9470 §3).
    """

    acr_values: tuple[str, ...] = ()
    max_age: int | None = None

    def __post_init__(self) -> None:
        raw: object = self.acr_values
        if isinstance(raw, str):
            values: tuple[object, ...] = tuple(raw.split())
        elif isinstance(raw, Iterable):
            values = tuple(raw)
        else:
            raise InvalidRequirement("acr_values must be a sequence of strings")
        for value in values:
            if not isinstance(value, str) or not value or any(c.isspace() for c in value):
                raise InvalidRequirement(
                    "each acr value must be a non-empty string without whitespace"
                )
        object.__setattr__(self, "acr_values", tuple(dict.fromkeys(values)))
        max_age = self.max_age
        if max_age is not None and (
            not isinstance(max_age, int) or isinstance(max_age, bool) or max_age < 0
        ):
            raise InvalidRequirement("max_age must be a non-negative integer")


@dataclass(frozen=True, slots=True)
class Satisfied:
    """The claims meet the requirement; ``acr`` and ``auth_time`` as found in them."""

    acr: str
    auth_time: float

    def __bool__(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class StepUp:
    """The claims fall short: ask again with these values (RFC 9470 §3/§4)."""

    acr_values: tuple[str, ...]
    max_age: int | None
    reason: str

    def __bool__(self) -> bool:
        return False


def evaluate(
    requirement: Requirement,
    claims: Mapping[str, Any],
    now: float,
    leeway: float = 0,
    ladder: Ladder = DEFAULT_LADDER,
    *,
    max_age_leeway: float = 0,
    not_before: float | None = None,
) -> Satisfied | StepUp:
    """Decide whether token ``claims`` meet ``requirement`` at ``now`` (RFC 9470 §3, §6).

    ``leeway`` bounds how far ``auth_time`` may lie in the future (clock skew);
    ``max_age_leeway`` is added to the freshness window; ``not_before`` is when the step-up
    request for ``max_age=0`` was made (see the module docstring).
    """
    reason = unmet_reason(requirement, claims, now, leeway, ladder, max_age_leeway, not_before)
    if reason is None:
        return Satisfied(acr=str(claims["acr"]), auth_time=claims["auth_time"])
    return StepUp(acr_values=requirement.acr_values, max_age=requirement.max_age, reason=reason)


def unmet_reason(
    requirement: Requirement,
    claims: Mapping[str, Any],
    now: float,
    leeway: float = 0,
    ladder: Ladder = DEFAULT_LADDER,
    max_age_leeway: float = 0,
    not_before: float | None = None,
) -> str | None:
    """:func:`evaluate`'s decision alone: ``None`` when met, else the stable reason.

    For a resource server's hot path, which needs no :class:`Satisfied` object.
    """
    if type(claims) is not dict and not isinstance(claims, Mapping):
        return CLAIMS_INVALID
    acr = claims.get("acr")
    level_max_age: int | None = None
    if acr is None:
        return ACR_MISSING
    if type(acr) is not str or not acr:
        return ACR_INVALID
    wanted = requirement.acr_values
    if wanted:
        satisfied_by = ladder._satisfied_by  # precomputed ranks, no per-call work
        for want in wanted:
            if acr == want or acr in satisfied_by.get(want, ()):
                level_max_age = ladder._max_age.get(want)
                break
        else:
            return ACR_NOT_MET
    else:
        level_max_age = ladder._max_age.get(acr)
    auth_time = claims.get("auth_time")
    kind = type(auth_time)
    if auth_time is None:
        return AUTH_TIME_MISSING
    # type() is exact: bool (an int subclass) and str never pass.
    if (kind is not int and kind is not float) or not 0 <= auth_time < math.inf:
        return AUTH_TIME_INVALID
    if auth_time > now + leeway:
        return AUTH_TIME_IN_FUTURE
    max_age = requirement.max_age if requirement.max_age is not None else level_max_age
    if (
        max_age is not None
        and now - auth_time > max_age + max_age_leeway
        # max_age=0 is also met by an authentication after the request was made.
        and (max_age != 0 or not_before is None or auth_time < not_before - max_age_leeway)
    ):
        return MAX_AGE_EXCEEDED
    return None
