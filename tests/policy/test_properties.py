"""Properties of every decision: escalation never lowers, exemptions respect `exemptable`."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from stepauth.assurance import DEFAULT_LADDER
from stepauth.policy import Context, Counters, decide, load_policy, parse_policy
from tests.policy.conftest import EXAMPLE

POLICY = load_policy(EXAMPLE)

contexts = st.builds(
    Context,
    amount=st.none() | st.decimals(min_value=0, max_value=100000, places=2),
    currency=st.sampled_from([None, "EUR", "USD"]),
    payee_trusted=st.booleans(),
    own_account=st.booleans(),
    new_payee=st.booleans(),
    new_device=st.booleans(),
    new_ip_country=st.booleans(),
    velocity=st.integers(min_value=0, max_value=30),
    seconds_since_factor_change=st.none() | st.floats(min_value=0, max_value=10**7),
    risk_score=st.none() | st.floats(min_value=0, max_value=1),
    has_hardware_key=st.booleans(),
    seconds_since_sca=st.none() | st.floats(min_value=0, max_value=10**8),
    counters=st.builds(
        Counters,
        transactions=st.integers(min_value=0, max_value=10),
        amount=st.decimals(min_value=0, max_value=200, places=2),
    ),
    fraud_rate=st.none() | st.decimals(min_value=0, max_value=1, places=4),
)


@settings(max_examples=300, deadline=None)
@given(action=st.sampled_from(sorted(POLICY.actions)), context=contexts)
def test_decision_never_below_the_action(action: str, context: Context) -> None:
    spec = POLICY.actions[action]
    decision = decide(POLICY, action, context)
    if decision.requirement is None:
        assert spec.exemptable
        assert decision.exempt in spec.exemptions
        assert not any(r.kind == "risk" for r in decision.reasons)
        return
    (acr,) = decision.requirement.acr_values
    rank, base = DEFAULT_LADDER.rank(acr), DEFAULT_LADDER.rank(spec.acr)
    assert rank is not None
    assert base is not None
    assert rank >= base
    if spec.max_age is not None:
        assert decision.requirement.max_age is not None
        assert decision.requirement.max_age <= spec.max_age
    assert decision.bind == spec.bind


@settings(max_examples=200, deadline=None)
@given(context=contexts)
def test_non_exemptable_payment_is_never_exempt(context: Context) -> None:
    """`exemptable = false` on a bound payment: no exemption, whatever the context."""
    policy = parse_policy(
        EXAMPLE.read_text(encoding="utf-8").replace(
            'exemptions = ["trusted_beneficiary", "recurring", "low_value", "tra"]',
            "exemptable = false",
        )
    )
    decision = decide(policy, "transfer", context)
    assert decision.exempt is None
    assert decision.requirement is not None
    assert decision.bind is True


def test_small_payment_is_exempt_in_the_example() -> None:
    """Control for the property above: the same context is exempt when exemptable."""
    context = Context(amount=Decimal("5.00"), currency="EUR")
    assert decide(POLICY, "transfer", context).exempt == "low_value"
