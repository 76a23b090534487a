"""Risk signals escalate, never lower, and turn exemptions off (PSD2 RTS Art. 2, 18(2)(c))."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stepauth.assurance import Requirement
from stepauth.policy import Context, Policy, decide, parse_policy


def _fired(policy: Policy, action: str, context: Context) -> list[str]:
    return [r.rule for r in decide(policy, action, context).reasons if r.kind == "risk"]


def test_amount_at_threshold_does_not_fire(example_policy: Policy) -> None:
    context = Context(amount=Decimal("5000.00"), currency="EUR")
    assert _fired(example_policy, "transfer", context) == []


def test_amount_above_threshold_tightens_max_age(example_policy: Policy) -> None:
    decision = decide(example_policy, "transfer", Context(amount=Decimal("5000.01")))
    assert decision.requirement == Requirement(("phr",), max_age=0)
    assert [r.rule for r in decision.reasons if r.kind == "risk"] == ["rules.large_amount"]


def test_very_large_amount_raises_the_level(example_policy: Policy) -> None:
    decision = decide(example_policy, "transfer", Context(amount=Decimal("50000.01")))
    assert decision.requirement == Requirement(("phrh",), max_age=0)
    assert _fired(example_policy, "transfer", Context(amount=Decimal("50000.01"))) == [
        "rules.large_amount",
        "rules.very_large_amount",
    ]


def test_amount_in_unconverted_currency_fires_the_amount_rules(example_policy: Policy) -> None:
    """Fail closed: an amount the policy cannot compare is treated as large."""
    context = Context(amount=Decimal("10"), currency="USD")
    assert "rules.large_amount" in _fired(example_policy, "transfer", context)


@pytest.mark.parametrize(
    ("context", "rule"),
    [
        (Context(new_device=True), "rules.new_device"),
        (Context(new_ip_country=True), "rules.new_ip_country"),
        (Context(velocity=11), "rules.velocity"),
        (Context(seconds_since_factor_change=3600), "rules.recent_factor_change"),
        (Context(risk_score=0.81), "rules.vendor_risk"),
    ],
)
def test_each_signal_fires_its_rule(example_policy: Policy, context: Context, rule: str) -> None:
    assert _fired(example_policy, "view_pii", context) == [rule]


@pytest.mark.parametrize(
    "context",
    [
        Context(velocity=10),
        Context(seconds_since_factor_change=86401),
        Context(risk_score=0.8),
    ],
)
def test_signal_at_its_threshold_does_not_fire(example_policy: Policy, context: Context) -> None:
    assert _fired(example_policy, "view_pii", context) == []


def test_new_payee_rule_is_scoped_to_transfer(example_policy: Policy) -> None:
    assert _fired(example_policy, "view_pii", Context(new_payee=True)) == []
    assert _fired(example_policy, "transfer", Context(new_payee=True)) == ["rules.new_payee"]


def test_risk_rule_turns_off_exemptions(example_policy: Policy) -> None:
    """A €5 payment is exempt, but not from a new device (RTS Art. 18(2)(c), Art. 2)."""
    quiet = Context(amount=Decimal("5.00"))
    assert decide(example_policy, "transfer", quiet).exempt == "low_value"
    decision = decide(example_policy, "transfer", Context(amount=Decimal("5.00"), new_device=True))
    assert decision.exempt is None
    assert decision.requirement == Requirement(("phr",), max_age=300)
    assert any("a risk rule fired" in r.message for r in decision.reasons)


def test_escalation_never_lowers(example_policy: Policy) -> None:
    """delete_tenant needs phrh with max_age=0; rules asking phr / max_age=300 change nothing."""
    context = Context(new_device=True, risk_score=0.99, seconds_since_factor_change=1)
    decision = decide(example_policy, "delete_tenant", context)
    assert decision.requirement == Requirement(("phrh",), max_age=0)
    assert len(_fired(example_policy, "delete_tenant", context)) == 3


def test_tightest_max_age_wins(example_policy: Policy) -> None:
    decision = decide(example_policy, "view_pii", Context(new_device=True))
    assert decision.requirement == Requirement(("phr",), max_age=300)
    decision = decide(example_policy, "view_pii", Context(new_device=True, new_ip_country=True))
    assert decision.requirement == Requirement(("phr",), max_age=0)


def test_rule_raises_an_unbounded_max_age() -> None:
    policy = parse_policy(
        '[actions.open]\nacr = "urn:stepauth:acr:2fa"\n\n'
        '[[rules]]\nname = "score"\nsignal = "risk_score_above"\nthreshold = 0.5\nacr = "phr"\n'
    )
    assert decide(policy, "open", Context(risk_score=0.6)).requirement == Requirement(("phr",))
    assert decide(policy, "open", Context(risk_score=0.5)).requirement == Requirement(
        ("urn:stepauth:acr:2fa",)
    )
