"""Policy.decide on the example policy: the per-action matrix of docs/policy.md."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stepauth.assurance import Requirement
from stepauth.policy import Context, Counters, Policy, PolicyError, decide, parse_policy


def test_view_pii_needs_phr_within_15_minutes(example_policy: Policy) -> None:
    decision = decide(example_policy, "view_pii")
    assert decision.requirement == Requirement(("phr",), max_age=900)
    assert decision.bind is False
    assert decision.exempt is None
    assert decision.counters is None  # not a payment


def test_add_payee_needs_bound_phr(example_policy: Policy) -> None:
    decision = decide(example_policy, "add_payee", Context(amount=Decimal("1")))
    assert decision.requirement == Requirement(("phr",))
    assert decision.bind is True
    assert decision.exempt is None


def test_transfer_needs_bound_phr_unless_exempt(example_policy: Policy) -> None:
    decision = decide(example_policy, "transfer", Context(amount=Decimal("1250.00")))
    assert decision.requirement == Requirement(("phr",))
    assert decision.bind is True
    exempt = decide(example_policy, "transfer", Context(amount=Decimal("12.00")))
    assert exempt.requirement is None
    assert exempt.bind is False
    assert exempt.exempt == "low_value"


@pytest.mark.parametrize(("hardware_key", "acr"), [(True, "phrh"), (False, "phr")])
def test_change_payout_details_uses_the_hardware_key_when_there_is_one(
    example_policy: Policy, hardware_key: bool, acr: str
) -> None:
    decision = decide(
        example_policy, "change_payout_details", Context(has_hardware_key=hardware_key)
    )
    assert decision.requirement == Requirement((acr,), max_age=0)
    assert decision.bind is True


def test_delete_tenant_needs_bound_phrh(example_policy: Policy) -> None:
    decision = decide(example_policy, "delete_tenant", Context(risk_score=0.0))
    assert decision.requirement == Requirement(("phrh",), max_age=0)
    assert decision.bind is True


def test_unknown_action_fails_closed(example_policy: Policy) -> None:
    with pytest.raises(PolicyError) as info:
        decide(example_policy, "wire_everything")
    assert "unknown action 'wire_everything'" in info.value.description


def test_sca_payment_restarts_the_counters(example_policy: Policy) -> None:
    decision = decide(example_policy, "transfer", Context(amount=Decimal("1250.00")))
    assert decision.counters is not None
    assert (decision.counters.transactions, decision.counters.amount) == (0, 0)


def test_context_from_json_rejects_unknown_fields() -> None:
    with pytest.raises(PolicyError) as info:
        Context.from_json({"amount": "10", "amout": "10"})
    assert info.value.key == "context.amout"
    with pytest.raises(PolicyError) as info:
        Context.from_json({"new_device": "yes"})
    assert info.value.key == "context.new_device"


def test_context_from_json_reads_every_field() -> None:
    context = Context.from_json(
        {
            "amount": "25.00",
            "currency": "EUR",
            "payee": "DE02100100109307118603",
            "new_device": True,
            "velocity": 3,
            "risk_score": 0.2,
            "counters": {"transactions": 2, "amount": "40.00"},
            "recurring": {"established": True, "amount": "25.00", "payee": "X"},
            "fraud_rate": "0.01",
        }
    )
    assert context.amount == Decimal("25.00")
    assert context.counters.transactions == 2
    assert context.recurring is not None
    assert context.recurring.established
    assert context.fraud_rate == Decimal("0.01")


def test_context_coerces_amounts_to_decimal() -> None:
    context = Context(amount="30.00", counters=Counters(1, "70"))  # type: ignore[arg-type]
    assert context.amount == Decimal("30.00")
    assert context.counters.amount == Decimal(70)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Context(amount="thirty"),  # type: ignore[arg-type]
        lambda: Context(amount=Decimal("-1")),
        lambda: Context(risk_score=float("nan")),
        lambda: Context(seconds_since_sca=-5),
        lambda: Context(velocity=-1),
        lambda: Counters(-1),
        lambda: Context.from_json({"risk_score": float("inf")}),
        lambda: Context.from_json({"counters": {"transactions": 1, "amount": "x"}}),
        lambda: Context.from_json({"recurring": {"established": True}}),
    ],
)
def test_bad_context_values_are_policy_errors(make: object) -> None:
    """Fail closed with a clear error, never a comparison that silently passes."""
    with pytest.raises(PolicyError):
        make()  # type: ignore[operator]


def test_levels_come_from_the_deployment_ladder() -> None:
    """A deployment ladder with an ecosystem SCA level (Open Banking UK Security Profile
    (essential acr urn:openbanking:psd2:sca); OIDC Core §5.5.1.1).
    """
    from stepauth.assurance import default_ladder_data, ladder_from_data

    data = default_ladder_data()
    sca = dict(data["levels"][2], acr="urn:openbanking:psd2:sca", description="PSD2 SCA")
    data["levels"].insert(3, sca)  # between phr and phrh
    ladder = ladder_from_data(data)
    text = (
        '[actions.pay]\nkind = "payment"\nacr = "phr"\n'
        '[[rules]]\nname = "big"\nsignal = "amount_above"\nthreshold = 100\n'
        'acr = "urn:openbanking:psd2:sca"\n'
    )
    policy = parse_policy(text, ladder=ladder)
    decision = decide(policy, "pay", Context(amount=Decimal("100.01")))
    assert decision.requirement is not None
    assert decision.requirement.acr_values == ("urn:openbanking:psd2:sca",)
    with pytest.raises(PolicyError) as info:
        parse_policy(text)  # the default ladder does not know that level
    assert (info.value.key, info.value.line) == ("rules[0].acr", 8)
