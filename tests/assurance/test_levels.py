"""The acr ladder: defaults, ordering, data loading (OpenID Connect EAP ACR Values 1.0 §2;
the Open Banking UK Security Profile's ``urn:openbanking:psd2:sca``; NIST SP 800-63B-4 §2, §5.2).
"""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from stepauth.assurance import (
    DEFAULT_LADDER,
    Clause,
    InvalidLadder,
    Ladder,
    Level,
    Rule,
    default_ladder_data,
    ladder_from_data,
)
from tests.assurance.factories import ACR_1FA, ACR_2FA, DAY, HOUR

PSD2_TOML = """
base = "default"

[[levels]]
acr = "urn:openbanking:psd2:sca"
above = "urn:stepauth:acr:2fa"
max_age = 300
description = "PSD2 strong customer authentication"
rule = { categories = 2, exclude_methods = ["tel"], allow_restricted = false }

[[levels]]
acr = "urn:stepauth:acr:2fa"
max_age = 43200
rule = { any_of = [{ categories = 2 }, { multi_factor = true }] }
"""


def test_default_ladder_order_and_windows() -> None:
    """NIST SP 800-63B-4 reauthentication (§2, §5.2): AAL1 30 days, AAL2 24 h, AAL3 12 h."""
    assert DEFAULT_LADDER.acr_values == (ACR_1FA, ACR_2FA, "phr", "phrh")
    windows = {level.acr: level.max_age for level in DEFAULT_LADDER}
    assert windows == {ACR_1FA: 30 * DAY, ACR_2FA: 24 * HOUR, "phr": 24 * HOUR, "phrh": 12 * HOUR}
    assert len(DEFAULT_LADDER) == 4
    assert "phr" in DEFAULT_LADDER
    assert "myACR" not in DEFAULT_LADDER


def test_default_rules() -> None:
    assert DEFAULT_LADDER.get(ACR_2FA).rule.any_of == (  # type: ignore[union-attr]
        Clause(categories=2),
        Clause(multi_factor=True),
    )
    phrh = DEFAULT_LADDER.get("phrh")
    assert phrh is not None
    assert phrh.rule.any_of[0].hardware_bound
    assert not phrh.rule.allow_restricted


def test_rank_and_higher_satisfies_lower() -> None:
    assert [DEFAULT_LADDER.rank(a) for a in DEFAULT_LADDER.acr_values] == [0, 1, 2, 3]
    assert DEFAULT_LADDER.rank("unknown") is None
    assert DEFAULT_LADDER.satisfies("phrh", "phr")
    assert DEFAULT_LADDER.satisfies("phr", ACR_2FA)
    assert DEFAULT_LADDER.satisfies(ACR_2FA, ACR_2FA)
    assert not DEFAULT_LADDER.satisfies(ACR_2FA, "phr")
    assert not DEFAULT_LADDER.satisfies("phr", "phrh")


def test_unknown_values_satisfy_by_equality_only() -> None:
    assert DEFAULT_LADDER.satisfies("myACR", "myACR")
    assert not DEFAULT_LADDER.satisfies("myACR", ACR_1FA)
    assert not DEFAULT_LADDER.satisfies("phrh", "myACR")


def test_at_or_above() -> None:
    assert [lv.acr for lv in DEFAULT_LADDER.at_or_above("phr")] == ["phr", "phrh"]
    assert DEFAULT_LADDER.at_or_above("nope") == ()


def test_default_ladder_round_trips_through_data() -> None:
    data = default_ladder_data()
    assert ladder_from_data(data) == DEFAULT_LADDER


def test_custom_level_from_toml_is_inserted_and_default_replaced() -> None:
    """Open Banking UK Security Profile (acr urn:openbanking:psd2:sca): a deployment adds
    ``urn:openbanking:psd2:sca`` from plain data.
    """
    ladder = ladder_from_data(tomllib.loads(PSD2_TOML))
    assert ladder.acr_values == (ACR_1FA, ACR_2FA, "urn:openbanking:psd2:sca", "phr", "phrh")
    sca = ladder.get("urn:openbanking:psd2:sca")
    assert sca == Level(
        "urn:openbanking:psd2:sca",
        Rule((Clause(categories=2),), frozenset({"tel"}), allow_restricted=False),
        max_age=300,
        description="PSD2 strong customer authentication",
    )
    assert ladder.get(ACR_2FA).max_age == 12 * HOUR  # type: ignore[union-attr]
    assert ladder.satisfies("phr", "urn:openbanking:psd2:sca")
    assert ladder_from_data(ladder.to_data()) == ladder


def test_standalone_ladder_without_base() -> None:
    ladder = ladder_from_data(
        {
            "levels": [
                {"acr": "low", "max_age": 60, "rule": {}},
                {"acr": "high", "max_age": 60, "rule": {"categories": 3}},
                {"acr": "mid", "above": "low", "max_age": 60, "rule": {"categories": 2}},
            ]
        }
    )
    assert ladder.acr_values == ("low", "mid", "high")
    assert ladder.get("low").rule.any_of == (Clause(),)  # type: ignore[union-attr]


def _level(**overrides: Any) -> dict[str, Any]:
    level: dict[str, Any] = {"acr": "x", "max_age": 60, "rule": {"categories": 1}}
    level.update(overrides)
    return {"levels": [level]}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([], "ladder"),
        ({"levels": []}, "ladder.levels"),
        ({"levels": "x"}, "ladder.levels"),
        ({"levels": [1]}, "levels[0]"),
        ({"base": "other", "levels": []}, "ladder.base"),
        ({"oops": 1, "levels": []}, "ladder.oops"),
        ({1: 1}, "ladder"),
        (_level(acr=None), "levels[0].acr"),
        (_level(acr=""), "levels[0].acr"),
        (_level(acr="a b"), "levels[0].acr"),
        (_level(acr='a"b'), "levels[0].acr"),
        (_level(max_age=-1), "levels[0].max_age"),
        (_level(max_age=True), "levels[0].max_age"),
        (_level(max_age="1h"), "levels[0].max_age"),
        (_level(description=3), "levels[0].description"),
        (_level(colour="red"), "levels[0].colour"),
        (_level(rule=[]), "levels[0].rule"),
        (_level(rule={"categories": 0}), "levels[0].rule.categories"),
        (_level(rule={"categories": 4}), "levels[0].rule.categories"),
        (_level(rule={"categories": True}), "levels[0].rule.categories"),
        (_level(rule={"multi_factor": "yes"}), "levels[0].rule.multi_factor"),
        (_level(rule={"allow_restricted": 1}), "levels[0].rule.allow_restricted"),
        (_level(rule={"exclude_methods": "sms"}), "levels[0].rule.exclude_methods"),
        (_level(rule={"exclude_methods": [""]}), "levels[0].rule.exclude_methods"),
        (_level(rule={"any_of": []}), "levels[0].rule.any_of"),
        (_level(rule={"any_of": [{"categories": 9}]}), "levels[0].rule.any_of[0].categories"),
        (_level(rule={"any_of": [{"weird": 1}]}), "levels[0].rule.any_of[0].weird"),
        (_level(rule={"any_of": [{}], "categories": 2}), "levels[0].rule.categories"),
        (_level(above="nowhere"), "levels[0].above"),
        ({"levels": [{"max_age": 1, "rule": {}}]}, "levels[0].acr"),
        ({"levels": [{"acr": "x", "rule": {}}]}, "levels[0].max_age"),
        ({"levels": [{"acr": "x", "max_age": 1}]}, "levels[0].rule"),
        (
            {"levels": [{"acr": "x", "max_age": 1, "rule": {}}] * 2},
            "levels[1].acr",
        ),
        (
            {
                "base": "default",
                "levels": [{"acr": "phr", "above": ACR_1FA, "max_age": 1, "rule": {}}],
            },
            "levels[0].above",
        ),
    ],
)
def test_invalid_ladder_data_names_the_field(data: Any, field: str) -> None:
    with pytest.raises(InvalidLadder) as caught:
        ladder_from_data(data)
    assert caught.value.field == field
    assert caught.value.error == "invalid_ladder"
    assert str(caught.value).startswith(field)


def test_ladder_constructor_validates_levels() -> None:
    rule = Rule((Clause(),))
    with pytest.raises(InvalidLadder) as dup:
        Ladder([Level("a", rule, 1), Level("a", rule, 1)])
    assert dup.value.field == "levels[1].acr"
    with pytest.raises(InvalidLadder) as empty:
        Ladder([Level("a", Rule(()), 1)])
    assert empty.value.field == "levels[0].rule"
    with pytest.raises(InvalidLadder):
        Ladder(["a"])  # type: ignore[list-item]
