"""PSD2 RTS exemptions other than low value (PSD2 RTS Art. 10, 13, 14, 15, 18 and the Annex)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stepauth.policy import (
    REFERENCE_FRAUD_RATES,
    Context,
    Counters,
    Policy,
    RecurringSeries,
    decide,
    parse_policy,
)
from tests.policy.conftest import payment_policy

ANNEX = [  # PSD2 RTS Annex: (payment type, ETV in EUR, reference fraud rate in %)
    ("card", "100", "0.13"),
    ("card", "250", "0.06"),
    ("card", "500", "0.01"),
    ("credit_transfer", "100", "0.015"),
    ("credit_transfer", "250", "0.01"),
    ("credit_transfer", "500", "0.005"),
]


def test_reference_table_is_the_annex() -> None:
    table = [
        (kind, str(etv), str(rate))
        for kind, rows in REFERENCE_FRAUD_RATES.items()
        for etv, rate in rows
    ]
    assert sorted(table) == sorted(ANNEX)


def _tra(payment_type: str) -> Policy:
    return payment_policy(f'[exemptions.tra]\npayment_type = "{payment_type}"\n', names='["tra"]')


def _at(amount: str, rate: str) -> Context:
    return Context(amount=Decimal(amount), currency="EUR", fraud_rate=Decimal(rate))


@pytest.mark.parametrize(("payment_type", "etv", "reference"), ANNEX)
def test_tra_exactly_at_threshold_with_rate_at_reference(
    payment_type: str, etv: str, reference: str
) -> None:
    """PSD2 RTS Art. 18(1)-(2) (a)+(b): amount ≤ ETV and
    measured fraud rate ≤ the reference rate.
    """
    decision = decide(_tra(payment_type), "transfer", _at(etv, reference))
    assert decision.exempt == "tra"
    assert decision.requirement is None


@pytest.mark.parametrize(("payment_type", "etv", "reference"), ANNEX)
def test_tra_rate_just_above_reference_needs_sca(
    payment_type: str, etv: str, reference: str
) -> None:
    rate = str(Decimal(reference) + Decimal("0.0001"))
    decision = decide(_tra(payment_type), "transfer", _at(etv, rate))
    assert decision.exempt is None
    assert any(f"reference {reference} % for ETV €{etv}" in r.message for r in decision.reasons)


@pytest.mark.parametrize(("payment_type", "etv", "reference"), ANNEX)
def test_tra_just_above_threshold_falls_in_the_next_band(
    payment_type: str, etv: str, reference: str
) -> None:
    """€0.01 above an ETV needs the stricter rate of the next band (or SCA above €500)."""
    amount = str(Decimal(etv) + Decimal("0.01"))
    decision = decide(_tra(payment_type), "transfer", _at(amount, reference))
    assert decision.exempt is None
    rows = REFERENCE_FRAUD_RATES[payment_type]
    stricter = [rate for band, rate in rows if band > Decimal(etv)]
    if stricter:  # the same amount passes with the next band's reference rate
        assert decide(_tra(payment_type), "transfer", _at(amount, str(stricter[0]))).exempt == "tra"
    else:
        assert any("above the highest ETV €500" in r.message for r in decision.reasons)


def test_tra_uses_the_policy_fraud_rate_when_the_context_has_none() -> None:
    policy = payment_policy('[exemptions.tra]\nfraud_rate = "0.004"\n', names='["tra"]')
    assert decide(policy, "transfer", Context(amount=Decimal("500"))).exempt == "tra"
    without = payment_policy("[exemptions.tra]\n", names='["tra"]')
    decision = decide(without, "transfer", Context(amount=Decimal("10")))
    assert decision.exempt is None
    assert any("no measured fraud rate" in r.message for r in decision.reasons)


TRUSTED = payment_policy("[exemptions.trusted_beneficiary]\n", names='["trusted_beneficiary"]')


def test_payment_to_trusted_beneficiary_is_exempt() -> None:
    """PSD2 RTS Art. 13: later payments to a listed payee may be exempt."""
    context = Context(amount=Decimal("2500.00"), payee="DE02100100109307118603", payee_trusted=True)
    decision = decide(TRUSTED, "transfer", context)
    assert decision.exempt == "trusted_beneficiary"
    assert decision.counters == Counters(1, Decimal("2500.00"))


def test_payment_to_untrusted_payee_needs_sca() -> None:
    assert decide(TRUSTED, "transfer", Context(amount=Decimal("5"))).exempt is None


def test_adding_a_trusted_beneficiary_always_requires_sca(example_policy: Policy) -> None:
    """RTS Art. 13: creating or amending the list always needs SCA, whatever the
    context says — even a payee already trusted, a tiny amount and a low fraud rate."""
    context = Context(
        amount=Decimal("1.00"),
        payee_trusted=True,
        fraud_rate=Decimal("0"),
        seconds_since_sca=1.0,
    )
    for action in ("add_payee", "change_payout_details"):
        decision = decide(example_policy, action, context)
        assert decision.exempt is None
        assert decision.requirement is not None
        assert decision.bind is True
        assert any("RTS Art. 13" in r.message for r in decision.reasons)


def test_policy_cannot_make_beneficiary_changes_exemptable() -> None:
    from stepauth.policy import PolicyError

    with pytest.raises(PolicyError) as info:
        parse_policy('[actions.add_payee]\nkind = "beneficiary"\nacr = "phr"\nexemptable = true\n')
    assert info.value.key == "actions.add_payee.exemptable"
    assert info.value.line == 4
    assert "RTS Art. 13" in info.value.description


RECURRING = payment_policy("[exemptions.recurring]\n", names='["recurring"]')
PAYEE = "DE02100100109307118603"


def _series(established: bool, amount: str = "49.90", payee: str = PAYEE) -> Context:
    series = RecurringSeries(established=established, amount=Decimal("49.90"), payee=PAYEE)
    return Context(amount=Decimal(amount), payee=payee, recurring=series)


def test_recurring_series_later_payment_is_exempt() -> None:
    """PSD2 RTS Art. 14: same amount, same payee, series created with SCA."""
    decision = decide(RECURRING, "transfer", _series(True, amount="49.9"))
    assert decision.exempt == "recurring"


def test_recurring_series_first_payment_needs_sca() -> None:
    decision = decide(RECURRING, "transfer", _series(False))
    assert decision.exempt is None
    assert any("first payment of a recurring series" in r.message for r in decision.reasons)


@pytest.mark.parametrize(
    ("amount", "payee", "what"),
    [("49.91", PAYEE, "amount differs"), ("49.90", "GB82WEST12345698765432", "payee differs")],
)
def test_recurring_series_change_needs_sca(amount: str, payee: str, what: str) -> None:
    decision = decide(RECURRING, "transfer", _series(True, amount=amount, payee=payee))
    assert decision.exempt is None
    assert any(what in r.message for r in decision.reasons)


def test_setting_up_a_recurring_series_always_needs_sca(example_policy: Policy) -> None:
    decision = decide(example_policy, "setup_standing_order", _series(True))
    assert decision.exempt is None
    assert any("RTS Art. 14" in r.message for r in decision.reasons)


def test_own_accounts_transfer_is_exempt() -> None:
    """RTS Art. 15."""
    policy = payment_policy("[exemptions.own_accounts]\n", names='["own_accounts"]')
    assert decide(policy, "transfer", Context(amount=Decimal("9000"), own_account=True)).exempt
    assert decide(policy, "transfer", Context(amount=Decimal("9000"))).exempt is None


@pytest.mark.parametrize(
    ("since", "exempt"),
    [(None, None), (180 * 86400, "account_information"), (180 * 86400 + 1, None)],
)
def test_account_information_180_days(
    example_policy: Policy, since: float | None, exempt: str | None
) -> None:
    """RTS Art. 10 as amended by (EU) 2022/2360: SCA at first access and after 180 days."""
    decision = decide(example_policy, "view_balance", Context(seconds_since_sca=since))
    assert decision.exempt == exempt


def test_exemptions_are_tried_in_the_action_order(example_policy: Policy) -> None:
    context = Context(amount=Decimal("10.00"), payee_trusted=True, fraud_rate=Decimal("0.001"))
    decision = decide(example_policy, "transfer", context)
    assert decision.exempt == "trusted_beneficiary"
    assert not any(r.rule == "exemptions.low_value" for r in decision.reasons)
