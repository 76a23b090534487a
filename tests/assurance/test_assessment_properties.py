"""Properties of assess() and evaluate() over generated sessions (hypothesis), on the
default ladder and a PSD2 ladder from data.

More events never lower the met level, time never raises it (NIST SP 800-63B-4 §5.1), the
prefix scan equals subset enumeration, and tokens from an assessment satisfy the same
requirement (RFC 9470 §6.1).
"""

from __future__ import annotations

import tomllib
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from stepauth.assurance import (
    DEFAULT_LADDER,
    AuthEvent,
    Ladder,
    Requirement,
    Satisfied,
    assess,
    evaluate,
    ladder_from_data,
)
from tests.assurance.factories import (
    DAY,
    NOW,
    PSD2_TOML,
    passkey,
    password,
    recovery,
    security_key,
    sms,
    totp,
)

_FACTORIES = [password, totp, sms, recovery, passkey, security_key]
_LADDERS = [DEFAULT_LADDER, ladder_from_data(tomllib.loads(PSD2_TOML))]


@st.composite
def _events(draw: st.DrawFn, max_size: int = 8) -> list[AuthEvent]:
    out = []
    for _ in range(draw(st.integers(0, max_size))):
        factory = draw(st.sampled_from(_FACTORIES))
        ago = draw(st.integers(0, 40 * DAY))
        if factory is passkey:
            out.append(passkey(ago, uv=draw(st.booleans()), be=draw(st.booleans())))
        elif factory is security_key:
            out.append(security_key(ago, attestation_trusted=draw(st.booleans())))
        else:
            out.append(factory(ago))
    return out


def _rank(ladder: Ladder, acr: str | None) -> int:
    rank = None if acr is None else ladder.rank(acr)
    return -1 if rank is None else rank


_acr_lists = st.lists(st.sampled_from([*_LADDERS[1].acr_values, "unknown"]), max_size=3)
_max_ages = st.one_of(st.none(), st.integers(0, 30 * DAY))


@settings(max_examples=300)
@given(
    events=_events(),
    extra=_events(max_size=1).filter(bool),
    acr_values=_acr_lists,
    max_age=_max_ages,
    ladder=st.sampled_from(_LADDERS),
)
def test_adding_an_event_never_lowers_the_met_level(
    events: list[AuthEvent],
    extra: list[AuthEvent],
    acr_values: list[str],
    max_age: int | None,
    ladder: Ladder,
) -> None:
    """NIST SP 800-63B-4 §5.1: a new event can only raise the session."""
    before = assess(events, now=NOW, ladder=ladder)
    after = assess([*events, *extra], now=NOW, ladder=ladder)
    assert _rank(ladder, after.acr) >= _rank(ladder, before.acr)
    requested_before = assess(events, acr_values, max_age, now=NOW, ladder=ladder)
    requested_after = assess([*events, *extra], acr_values, max_age, now=NOW, ladder=ladder)
    assert requested_after.met or not requested_before.met
    assert set(requested_after.missing) <= set(requested_before.missing)


@settings(max_examples=300)
@given(
    events=_events(),
    later=st.integers(0, 40 * DAY),
    acr_values=_acr_lists,
    max_age=_max_ages,
    ladder=st.sampled_from(_LADDERS),
)
def test_time_passing_never_raises_the_met_level(
    events: list[AuthEvent],
    later: int,
    acr_values: list[str],
    max_age: int | None,
    ladder: Ladder,
) -> None:
    """Only a new event raises a session, never the clock."""
    before = assess(events, now=NOW, ladder=ladder)
    after = assess(events, now=NOW + later, ladder=ladder)
    assert _rank(ladder, after.acr) <= _rank(ladder, before.acr)
    requested_before = assess(events, acr_values, max_age, now=NOW, ladder=ladder)
    requested_after = assess(events, acr_values, max_age, now=NOW + later, ladder=ladder)
    assert requested_before.met or not requested_after.met


def _satisfies(ladder: Ladder, acr: str, subset: tuple[AuthEvent, ...]) -> bool:
    level = ladder.get(acr)
    assert level is not None
    if not all(level.rule.eligible(e) for e in subset):
        return False
    categories = frozenset().union(*(e.categories for e in subset))
    return any(
        len(categories) >= clause.categories
        and (not clause.needs_authenticator or any(clause.is_authenticator(e) for e in subset))
        for clause in level.rule.any_of
    )


@settings(max_examples=300)
@given(
    events=_events(max_size=6),
    acr=st.sampled_from(_LADDERS[1].acr_values),
    max_age=_max_ages,
    ladder=st.sampled_from(_LADDERS),
)
def test_prefix_scan_equals_subset_enumeration(
    events: list[AuthEvent], acr: str, max_age: int | None, ladder: Ladder
) -> None:
    """The fast scan finds the same freshest subset as trying every subset."""
    if acr not in ladder:
        return
    level = ladder.get(acr)
    assert level is not None
    window = level.max_age if max_age is None else max_age
    fresh = [e for e in events if NOW - e.at <= window]
    best: float | None = None
    for size in range(1, len(fresh) + 1):
        for subset in combinations(fresh, size):
            oldest = min(e.at for e in subset)
            if any(_satisfies(ladder, h.acr, subset) for h in ladder.at_or_above(acr)) and (
                best is None or oldest > best
            ):
                best = oldest
    result = assess(events, [acr], max_age, now=NOW, ladder=ladder)
    assert result.met == (best is not None)
    assert result.auth_time == best
    if result.met:
        assert result.auth_time == min(e.at for e in result.events)
        assert any(_satisfies(ladder, h.acr, result.events) for h in ladder.at_or_above(acr))
        assert ("mfa" in result.amr) == (
            len(frozenset().union(*(e.categories for e in result.events))) >= 2
            or any(e.multi_factor for e in result.events)
        )


@settings(max_examples=300)
@given(
    events=_events(),
    acr=st.sampled_from(_LADDERS[1].acr_values),
    max_age=_max_ages,
    later=st.integers(0, DAY),
    ladder=st.sampled_from(_LADDERS),
)
def test_tokens_from_an_assessment_satisfy_the_same_requirement(
    events: list[AuthEvent], acr: str, max_age: int | None, later: int, ladder: Ladder
) -> None:
    """The Provider's assess() and the SDK's evaluate() agree (RFC 9470 §3, §6): the
    claims issued for a met level satisfy that requirement until max_age runs out, then never."""
    if acr not in ladder:
        return
    result = assess(events, [acr], max_age, now=NOW, ladder=ladder)
    if not result.met:
        return
    assert result.acr is not None
    assert result.auth_time is not None
    claims = {"acr": result.acr, "auth_time": result.auth_time}
    requirement = Requirement((acr,), max_age)
    assert isinstance(evaluate(requirement, claims, NOW, ladder=ladder), Satisfied)
    level = ladder.get(acr)
    assert level is not None
    window = level.max_age if max_age is None else max_age
    still_fresh = NOW + later - result.auth_time <= window
    later_result = evaluate(requirement, claims, NOW + later, ladder=ladder)
    assert isinstance(later_result, Satisfied) == still_fresh
