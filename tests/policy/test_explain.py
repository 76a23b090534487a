"""Explanations name every rule that fired: every decision has its reasons."""

from __future__ import annotations

from decimal import Decimal

from stepauth.policy import Context, Policy, decide, explain


def test_explanation_names_every_rule_that_fired(example_policy: Policy) -> None:
    context = Context(
        amount=Decimal("60000.00"),
        new_payee=True,
        new_device=True,
        new_ip_country=True,
        velocity=20,
        seconds_since_factor_change=60,
        risk_score=0.95,
    )
    decision = decide(example_policy, "transfer", context)
    fired = [r.rule for r in decision.reasons if r.kind == "risk"]
    assert fired == [
        "rules.large_amount",
        "rules.very_large_amount",
        "rules.new_payee",
        "rules.new_device",
        "rules.new_ip_country",
        "rules.velocity",
        "rules.recent_factor_change",
        "rules.vendor_risk",
    ]
    text = explain(decision)
    for rule in fired:
        assert f"[{rule}]" in text
    assert "decision: step-up to acr=phrh max_age=0, bound to this transaction" in text


def test_explanation_names_the_upgrade_and_the_binding(example_policy: Policy) -> None:
    text = explain(decide(example_policy, "change_payout_details", Context(has_hardware_key=True)))
    assert "[actions.change_payout_details.upgrade[0]] context.has_hardware_key is true" in text
    assert "[actions.change_payout_details.exemptable]" in text
    assert "RTS Art. 13" in text
    assert "[actions.change_payout_details.bind]" in text


def test_explanation_names_each_exemption_tried(example_policy: Policy) -> None:
    decision = decide(example_policy, "transfer", Context(amount=Decimal("40.00")))
    tried = [r.rule for r in decision.reasons if r.kind in ("exemption", "no_exemption")]
    assert tried == [
        "exemptions.trusted_beneficiary",
        "exemptions.recurring",
        "exemptions.low_value",
        "exemptions.tra",
    ]
    assert decision.exempt == "tra"  # €40 ≤ €100 ETV, 0.004 % ≤ 0.015 %
    text = explain(decision)
    assert "decision: no step-up; exempt under tra" in text
    assert "€40.00 is above the low-value limit €30.00" in text


def test_quiet_decision_has_only_the_action_reason(example_policy: Policy) -> None:
    decision = decide(example_policy, "view_pii", Context())
    assert [r.kind for r in decision.reasons] == ["action", "no_exemption"]
