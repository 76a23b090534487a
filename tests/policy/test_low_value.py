"""PSD2 RTS Art. 16 low-value remote payments: €30, €100 cumulative, 5."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stepauth.policy import Context, Counters, Policy, decide
from tests.policy.conftest import payment_policy


def _policy(counter: str) -> Policy:
    return payment_policy(f'[exemptions.low_value]\ncounter = "{counter}"\n', names='["low_value"]')


AMOUNT = _policy("amount")
COUNT = _policy("count")


def _ctx(amount: str, transactions: int = 0, cumulative: str = "0") -> Context:
    return Context(
        amount=Decimal(amount),
        currency="EUR",
        counters=Counters(transactions, Decimal(cumulative)),
    )


@pytest.mark.parametrize("policy", [AMOUNT, COUNT])
def test_thirty_euro_is_exempt(policy: Policy) -> None:
    """PSD2 RTS Art. 16 (a): a single remote payment of at most €30.00."""
    decision = decide(policy, "transfer", _ctx("30.00"))
    assert decision.requirement is None
    assert decision.exempt == "low_value"
    assert decision.bind is False


@pytest.mark.parametrize("policy", [AMOUNT, COUNT])
def test_thirty_euro_one_cent_needs_sca(policy: Policy) -> None:
    decision = decide(policy, "transfer", _ctx("30.01"))
    assert decision.exempt is None
    assert decision.requirement is not None
    assert decision.requirement.acr_values == ("phr",)
    assert decision.bind is True
    assert any("above the low-value limit €30" in r.message for r in decision.reasons)


def test_cumulative_one_hundred_euro_is_exempt() -> None:
    """PSD2 RTS Art. 16 (b): cumulative since the last SCA, this payment included, at most €100."""
    decision = decide(AMOUNT, "transfer", _ctx("30.00", transactions=3, cumulative="70.00"))
    assert decision.exempt == "low_value"
    assert decision.counters == Counters(4, Decimal("100.00"))


def test_cumulative_above_one_hundred_euro_needs_sca() -> None:
    decision = decide(AMOUNT, "transfer", _ctx("30.00", transactions=3, cumulative="70.01"))
    assert decision.exempt is None
    assert decision.requirement is not None
    assert any("cumulative €100.01" in r.message for r in decision.reasons)
    assert decision.counters == Counters(0, Decimal(0))  # SCA restarts the counters


def test_amount_counter_ignores_the_count() -> None:
    decision = decide(AMOUNT, "transfer", _ctx("1.00", transactions=12, cumulative="12.00"))
    assert decision.exempt == "low_value"


def test_fifth_transaction_is_exempt() -> None:
    """PSD2 RTS Art. 16 (c): at most five consecutive remote payments since the last SCA."""
    decision = decide(COUNT, "transfer", _ctx("30.00", transactions=4, cumulative="120.00"))
    assert decision.exempt == "low_value"
    assert decision.counters == Counters(5, Decimal("150.00"))


def test_sixth_transaction_needs_sca() -> None:
    decision = decide(COUNT, "transfer", _ctx("1.00", transactions=5))
    assert decision.exempt is None
    assert any("transaction 6 since the last SCA" in r.message for r in decision.reasons)


def test_series_of_payments_counts_to_the_boundary() -> None:
    """Drive the counters as an application would: persist each decision's update."""
    counters = Counters()
    outcomes = []
    for _ in range(7):
        decision = decide(
            COUNT, "transfer", Context(amount=Decimal("2.00"), currency="EUR", counters=counters)
        )
        outcomes.append(decision.exempt)
        assert decision.counters is not None
        counters = decision.counters
    assert outcomes == ["low_value"] * 5 + [None, "low_value"]


def test_amount_in_other_currency_needs_conversion() -> None:
    decision = decide(AMOUNT, "transfer", Context(amount=Decimal("10.00"), currency="USD"))
    assert decision.exempt is None
    converted = Context(amount=Decimal("10.00"), currency="USD", amount_eur=Decimal("9.20"))
    assert decide(AMOUNT, "transfer", converted).exempt == "low_value"


def test_non_remote_payment_is_not_exempt() -> None:
    context = Context(amount=Decimal("5.00"), currency="EUR", remote=False)
    assert decide(AMOUNT, "transfer", context).exempt is None


def test_lower_limits_are_allowed() -> None:
    policy = payment_policy(
        '[exemptions.low_value]\nmax_amount = "20.00"\nmax_cumulative_amount = "50"\n',
        names='["low_value"]',
    )
    assert decide(policy, "transfer", _ctx("20.00")).exempt == "low_value"
    assert decide(policy, "transfer", _ctx("20.01")).exempt is None
    assert decide(policy, "transfer", _ctx("20.00", 1, "30.01")).exempt is None
