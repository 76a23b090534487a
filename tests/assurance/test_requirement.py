"""evaluate(): token claims against a per-action requirement, fail closed.

Standards: RFC 9470 §3, §6 (decision rule), OIDC Core §2 (``auth_time``, ``acr``), OIDC Core
§5.5.1.1, §3.1.3.7 step 12 and RFC 9470 §5 (the RP checks acr itself), OIDC Core §12.2, RFC 9470
§6.1 and NIST SP 800-63B-4 §5.1 (auth_time survives refresh),
NIST SP 800-63B-4 §5.2 (the RP decides freshness).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stepauth.assurance import (
    REASONS,
    InvalidRequirement,
    Requirement,
    Satisfied,
    StepUp,
    evaluate,
    ladder_from_data,
)
from stepauth.assurance.requirement import MAX_AGE_LEEWAY, unmet_reason
from tests.assurance.factories import ACR_1FA, ACR_2FA, DAY, HOUR, NOW

PHR_5MIN = Requirement(("phr",), max_age=300)


def test_fresh_phr_token_is_satisfied() -> None:
    result = evaluate(PHR_5MIN, {"acr": "phr", "auth_time": NOW - 60}, NOW)
    assert result == Satisfied(acr="phr", auth_time=NOW - 60)
    assert result


def test_higher_acr_satisfies_lower_requirement() -> None:
    assert isinstance(evaluate(PHR_5MIN, {"acr": "phrh", "auth_time": NOW}, NOW), Satisfied)


def test_lower_acr_asks_for_step_up_with_the_requirement() -> None:
    """: the challenge states what would pass (RFC 9470 §3)."""
    result = evaluate(PHR_5MIN, {"acr": ACR_2FA, "auth_time": NOW}, NOW)
    assert result == StepUp(acr_values=("phr",), max_age=300, reason="acr_not_met")
    assert not result


def test_stale_auth_time_exceeds_max_age() -> None:
    claims = {"acr": "phr", "auth_time": NOW - 301}
    assert evaluate(PHR_5MIN, claims, NOW) == StepUp(("phr",), 300, "max_age_exceeded")
    assert isinstance(evaluate(PHR_5MIN, {"acr": "phr", "auth_time": NOW - 300}, NOW), Satisfied)


def test_max_age_leeway_widens_the_window_by_exactly_its_value() -> None:
    """OIDC Core §3.1.2.1 (max_age)/RFC 9470 §3, §6:
    older than max_age plus the leeway → step up.
    """
    leeway = MAX_AGE_LEEWAY
    claims = {"acr": "phr", "auth_time": NOW - 300 - leeway - 1}
    late = evaluate(PHR_5MIN, claims, NOW, max_age_leeway=leeway)
    assert late == StepUp(("phr",), 300, "max_age_exceeded")
    edge = {"acr": "phr", "auth_time": NOW - 300 - leeway}
    assert isinstance(evaluate(PHR_5MIN, edge, NOW, max_age_leeway=leeway), Satisfied)


def test_max_age_leeway_is_a_small_documented_default() -> None:
    assert 0 < MAX_AGE_LEEWAY <= 10


NOW_0 = Requirement(("phr",), max_age=0)


def test_max_age_zero_passes_an_authentication_within_the_leeway() -> None:
    """OIDC Core §3.1.2.1 (max_age): max_age=0 with whole-second
    auth_time is met by one made just now.
    """
    lw = MAX_AGE_LEEWAY
    just_now = {"acr": "phr", "auth_time": int(NOW)}
    assert isinstance(evaluate(NOW_0, just_now, NOW + 0.9, max_age_leeway=lw), Satisfied)
    assert evaluate(NOW_0, just_now, NOW + 0.9).reason == "max_age_exceeded"  # type: ignore[union-attr]
    five = {"acr": "phr", "auth_time": NOW - 5}
    assert isinstance(evaluate(NOW_0, five, NOW, max_age_leeway=lw), Satisfied)
    stale = evaluate(NOW_0, {"acr": "phr", "auth_time": NOW - 6}, NOW, max_age_leeway=lw)
    assert stale == StepUp(("phr",), 0, "max_age_exceeded")


def test_max_age_zero_passes_an_authentication_after_the_request() -> None:
    """OIDC Core §3.1.2.1 (max_age): "authenticate now" = authenticated after the step-up
    request was made, however long the user then took at the OP."""
    requested = NOW - 400
    after = {"acr": "phr", "auth_time": requested + 100}
    assert isinstance(evaluate(NOW_0, after, NOW, not_before=requested), Satisfied)
    # whole-second auth_time within the leeway before the (fractional) request instant
    rounded = {"acr": "phr", "auth_time": requested - 5}
    assert isinstance(
        evaluate(NOW_0, rounded, NOW, max_age_leeway=MAX_AGE_LEEWAY, not_before=requested),
        Satisfied,
    )
    assert evaluate(NOW_0, rounded, NOW, not_before=requested).reason == "max_age_exceeded"  # type: ignore[union-attr]


def test_max_age_zero_refuses_an_authentication_from_before_the_request() -> None:
    """The session's earlier authentication never answers a later "authenticate now"."""
    requested = NOW - 400
    before = {"acr": "phr", "auth_time": requested - 6}
    result = evaluate(NOW_0, before, NOW, max_age_leeway=MAX_AGE_LEEWAY, not_before=requested)
    assert result == StepUp(("phr",), 0, "max_age_exceeded")


def test_not_before_never_loosens_a_positive_max_age() -> None:
    requested = NOW - 400
    claims = {"acr": "phr", "auth_time": NOW - 360}
    result = evaluate(Requirement(("phr",), 60), claims, NOW, not_before=requested)
    assert result == StepUp(("phr",), 60, "max_age_exceeded")


def test_not_before_does_not_excuse_a_weaker_acr_or_a_future_auth_time() -> None:
    requested = NOW - 10
    weak = evaluate(NOW_0, {"acr": ACR_2FA, "auth_time": NOW}, NOW, not_before=requested)
    assert weak.reason == "acr_not_met"  # type: ignore[union-attr]
    ahead = {"acr": "phr", "auth_time": NOW + 3600}
    assert evaluate(NOW_0, ahead, NOW, not_before=requested).reason == "auth_time_in_future"  # type: ignore[union-attr]


def test_without_max_age_the_level_window_applies() -> None:
    """No max_age → the requested level's own maximum age (NIST SP 800-63B-4 §5.2)."""
    requirement = Requirement((ACR_2FA,))
    assert isinstance(
        evaluate(requirement, {"acr": "phr", "auth_time": NOW - HOUR}, NOW), Satisfied
    )
    late = evaluate(requirement, {"acr": "phr", "auth_time": NOW - 2 * DAY}, NOW)
    assert isinstance(late, StepUp)
    assert late.reason == "max_age_exceeded"
    assert late.max_age is None


def test_preference_order_uses_the_first_value_the_acr_meets() -> None:
    requirement = Requirement(("phrh", ACR_1FA))
    # phrh's 12 h window does not apply: the token met 1fa (30 days), not phrh.
    claims = {"acr": ACR_2FA, "auth_time": NOW - 2 * DAY}
    assert isinstance(evaluate(requirement, claims, NOW), Satisfied)


def test_unknown_acr_matches_by_equality_only() -> None:
    requirement = Requirement(("myACR",))
    assert isinstance(evaluate(requirement, {"acr": "myACR", "auth_time": NOW}, NOW), Satisfied)
    assert evaluate(requirement, {"acr": "phrh", "auth_time": NOW}, NOW).reason == "acr_not_met"  # type: ignore[union-attr]


def test_requirement_without_acr_values_still_needs_both_claims() -> None:
    requirement = Requirement(max_age=60)
    assert isinstance(evaluate(requirement, {"acr": "anything", "auth_time": NOW}, NOW), Satisfied)
    assert evaluate(requirement, {"auth_time": NOW}, NOW).reason == "acr_missing"  # type: ignore[union-attr]
    assert evaluate(requirement, {"acr": "x"}, NOW).reason == "auth_time_missing"  # type: ignore[union-attr]
    old = {"acr": ACR_1FA, "auth_time": NOW - 31 * DAY}
    assert evaluate(Requirement(), old, NOW).reason == "max_age_exceeded"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({}, "acr_missing"),
        ({"auth_time": NOW}, "acr_missing"),
        ({"acr": None, "auth_time": NOW}, "acr_missing"),
        ({"acr": "", "auth_time": NOW}, "acr_invalid"),
        ({"acr": 1, "auth_time": NOW}, "acr_invalid"),
        ({"acr": ["phr"], "auth_time": NOW}, "acr_invalid"),
        ({"acr": "phr"}, "auth_time_missing"),
        ({"acr": "phr", "auth_time": None}, "auth_time_missing"),
        ({"acr": "phr", "auth_time": True}, "auth_time_invalid"),
        ({"acr": "phr", "auth_time": False}, "auth_time_invalid"),
        ({"acr": "phr", "auth_time": str(int(NOW))}, "auth_time_invalid"),
        ({"acr": "phr", "auth_time": -1}, "auth_time_invalid"),
        ({"acr": "phr", "auth_time": math.nan}, "auth_time_invalid"),
        ({"acr": "phr", "auth_time": math.inf}, "auth_time_invalid"),
        ({"acr": "phr", "auth_time": -math.inf}, "auth_time_invalid"),
        ({"acr": "phr", "auth_time": [NOW]}, "auth_time_invalid"),
        ({"acr": "phr", "auth_time": NOW + 1}, "auth_time_in_future"),
    ],
)
def test_missing_or_malformed_claims_never_satisfy(claims: dict[str, Any], reason: str) -> None:
    """OIDC Core §2 (``auth_time``, ``acr``), RFC 9470 §3, §6:
    fail closed; ``bool`` is not an ``int`` here.
    """
    result = evaluate(PHR_5MIN, claims, NOW)
    assert isinstance(result, StepUp)
    assert result.reason == reason
    assert reason in REASONS


@pytest.mark.parametrize("claims", [None, "acr=phr", ["phr"], 42])
def test_claims_that_are_not_a_mapping_never_satisfy(claims: Any) -> None:
    result = evaluate(PHR_5MIN, claims, NOW)
    assert isinstance(result, StepUp)
    assert result.reason == "claims_invalid"


def test_leeway_tolerates_small_clock_skew_only() -> None:
    claims = {"acr": "phr", "auth_time": NOW + 30}
    assert isinstance(evaluate(PHR_5MIN, claims, NOW, leeway=30), Satisfied)
    assert evaluate(PHR_5MIN, claims, NOW, leeway=29).reason == "auth_time_in_future"  # type: ignore[union-attr]


def test_custom_ladder() -> None:
    ladder = ladder_from_data(
        {
            "base": "default",
            "levels": [{"acr": "sca", "above": ACR_2FA, "max_age": 300, "rule": {"categories": 2}}],
        }
    )
    requirement = Requirement(("sca",))
    assert isinstance(
        evaluate(requirement, {"acr": "phr", "auth_time": NOW}, NOW, ladder=ladder), Satisfied
    )
    stale = evaluate(requirement, {"acr": "phr", "auth_time": NOW - 301}, NOW, ladder=ladder)
    assert stale.reason == "max_age_exceeded"  # type: ignore[union-attr]


def test_requirement_normalises_and_validates() -> None:
    assert Requirement("phr  phrh").acr_values == ("phr", "phrh")  # type: ignore[arg-type]
    assert Requirement(["phr", "phr"]).acr_values == ("phr",)  # type: ignore[arg-type]
    for bad in ({"acr_values": ("a b",)}, {"acr_values": ("",)}, {"acr_values": (1,)}):
        with pytest.raises(InvalidRequirement):
            Requirement(**bad)
    with pytest.raises(InvalidRequirement):
        Requirement(acr_values=5)  # type: ignore[arg-type]
    for max_age in (-1, True, 1.0, "5"):
        with pytest.raises(InvalidRequirement) as caught:
            Requirement(("phr",), max_age)  # type: ignore[arg-type]
        assert caught.value.error == "invalid_requirement"


_junk = st.one_of(
    st.none(),
    st.booleans(),
    st.text(),
    st.floats(),
    st.integers(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_requirements = st.builds(
    Requirement,
    acr_values=st.lists(st.sampled_from([ACR_1FA, ACR_2FA, "phr", "phrh", "x"]), max_size=3).map(
        tuple
    ),
    max_age=st.one_of(st.none(), st.integers(0, 10**9)),
)


@given(
    requirement=_requirements,
    other=st.dictionaries(st.text(max_size=8), _junk, max_size=4),
    present=st.sampled_from(["acr", "auth_time"]),
    value=_junk,
)
def test_claims_lacking_acr_or_auth_time_never_satisfy(
    requirement: Requirement, other: dict[str, Any], present: str, value: Any
) -> None:
    """A missing ``acr`` or ``auth_time`` never satisfies (fail closed)."""
    claims = {k: v for k, v in other.items() if k not in ("acr", "auth_time")}
    claims[present] = value
    assert isinstance(evaluate(requirement, claims, NOW, leeway=60), StepUp)


@given(requirement=_requirements, acr=st.text(min_size=1), auth_time=_junk)
def test_malformed_auth_time_never_satisfies(
    requirement: Requirement, acr: str, auth_time: Any
) -> None:
    valid = type(auth_time) in (int, float) and 0 <= auth_time < math.inf
    result = evaluate(requirement, {"acr": acr, "auth_time": auth_time}, NOW)
    if not valid:
        assert isinstance(result, StepUp)
    if isinstance(result, Satisfied):
        assert result.acr == acr
        assert NOW - result.auth_time >= 0


@given(
    requirement=_requirements,
    age=st.floats(0, 10**9, allow_nan=False),
    requested_ago=st.one_of(st.none(), st.floats(0, 10**9, allow_nan=False)),
)
def test_satisfied_means_fresh_enough(
    requirement: Requirement, age: float, requested_ago: float | None
) -> None:
    """RFC 9470 §3, §6: a pass is never older than max_age + leeway, except an authentication made
    after the max_age=0 request it answers."""
    not_before = None if requested_ago is None else NOW - requested_ago
    claims = {"acr": "phrh", "auth_time": NOW - age}
    result = evaluate(
        requirement, claims, NOW, max_age_leeway=MAX_AGE_LEEWAY, not_before=not_before
    )
    if isinstance(result, Satisfied) and requirement.max_age is not None:
        within = age <= requirement.max_age + MAX_AGE_LEEWAY
        after_request = (
            requirement.max_age == 0
            and not_before is not None
            and NOW - age >= not_before - MAX_AGE_LEEWAY
        )
        assert within or after_request


def test_downgrade_token_with_unregistered_acr_is_refused() -> None:
    """OIDC Core §5.5.1.1, §3.1.3.7 step 12; RFC 9470 §5:
    an acr the ladder does not know never stands in for a known level.
    """
    for acr in ("0", "PHR", "phr ", "urn:stepauth:acr:3fa"):
        result = evaluate(PHR_5MIN, {"acr": acr, "auth_time": NOW}, NOW)
        assert isinstance(result, StepUp)
        assert result.reason == "acr_not_met"


def test_boolean_auth_time_is_not_an_epoch() -> None:
    """``True == 1`` in Python; a JSON ``true`` must never pass as 1970-01-01T00:00:01Z."""
    result = evaluate(Requirement(("phr",)), {"acr": "phr", "auth_time": True}, 1.0)
    assert isinstance(result, StepUp)
    assert result.reason == "auth_time_invalid"


def test_future_auth_time_cannot_extend_freshness() -> None:
    """An auth_time set ahead of the clock would stay "fresh" past max_age: refused."""
    result = evaluate(PHR_5MIN, {"acr": "phr", "auth_time": NOW + 3600}, NOW, leeway=60)
    assert isinstance(result, StepUp)
    assert result.reason == "auth_time_in_future"


@given(
    requirement=_requirements,
    acr=st.sampled_from([None, "", 1, ACR_1FA, ACR_2FA, "phr", "phrh", "x"]),
    auth_time=st.one_of(_junk, st.floats(NOW - 40 * DAY, NOW + 120, allow_nan=False)),
)
def test_unmet_reason_is_evaluate_without_the_objects(
    requirement: Requirement, acr: Any, auth_time: Any
) -> None:
    """The resource server's hot path decides exactly as evaluate() (RFC 9470 §3, §6)."""
    claims = {"acr": acr, "auth_time": auth_time}
    result = evaluate(requirement, claims, NOW, 30, max_age_leeway=MAX_AGE_LEEWAY)
    reason = unmet_reason(requirement, claims, NOW, 30, max_age_leeway=MAX_AGE_LEEWAY)
    assert reason == (None if isinstance(result, Satisfied) else result.reason)
