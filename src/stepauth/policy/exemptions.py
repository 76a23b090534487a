"""PSD2 RTS exemptions from strong customer authentication (PSD2 RTS Chapter III).

Each check answers "does this exemption apply?" with a sentence saying why or why not.
Counters and lists are the application's (the context carries them); every limit is in euro.

- ``trusted_beneficiary`` — Art. 13: the payee is on a list the payer created with
  SCA. Creating or amending the list always needs SCA (action kind ``beneficiary``).
- ``recurring`` — Art. 14: a later payment of a series with the same amount and the
  same payee that was created with SCA; the first one and any change need SCA.
- ``own_accounts`` — Art. 15: between accounts of the same person at this PSP.
- ``low_value`` — Art. 16: amount ≤ €30 and, since the last SCA, cumulative amount
  ≤ €100 *or* at most 5 transactions (the PSP chooses which counter). The RTS counts
  "previous" transactions; this module counts the current one too, the reading payment
  schemes use ("the 6th needs SCA"), which never exempts what the literal text forbids.
- ``tra`` — PSD2 RTS Art. 18(1)-(2) and the Annex: the amount is at most an exemption threshold
  value (ETV) and the PSP's measured fraud rate is at most the reference rate for that ETV;
  the real-time analysis of Art. 18(2)(c) is the risk rules (none may fire).
- ``account_information`` — Art. 10 as amended by (EU) 2022/2360: balance and the
  last 90 days of transactions without SCA when the last SCA is at most 180 days old.

Art. 11 and 12 (contactless and unattended terminals at the point of sale) and Art. 17
(secure corporate processes) are not remote-channel decisions this policy takes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from stepauth.policy.context import Context, Counters
from stepauth.policy.model import ExemptionSettings

__all__ = ["APPLIES_TO", "CHECKS", "REFERENCE_FRAUD_RATES", "check", "counters_after"]

# PSD2 RTS Annex: (ETV in EUR, reference fraud rate in %), lowest ETV first.
REFERENCE_FRAUD_RATES: Mapping[str, tuple[tuple[Decimal, Decimal], ...]] = {
    "card": (
        (Decimal("100"), Decimal("0.13")),
        (Decimal("250"), Decimal("0.06")),
        (Decimal("500"), Decimal("0.01")),
    ),
    "credit_transfer": (
        (Decimal("100"), Decimal("0.015")),
        (Decimal("250"), Decimal("0.01")),
        (Decimal("500"), Decimal("0.005")),
    ),
}
_SECONDS_PER_DAY = 86_400

Result = tuple[bool, str]


def _trusted_beneficiary(context: Context, settings: ExemptionSettings) -> Result:
    if context.payee_trusted:
        return True, "the payee is on the payer's trusted beneficiaries list (RTS Art. 13)"
    return False, "the payee is not a trusted beneficiary (RTS Art. 13)"


def _recurring(context: Context, settings: ExemptionSettings) -> Result:
    series = context.recurring
    if series is None:
        return False, "the payment is not part of a recurring series (RTS Art. 14)"
    if not series.established:
        return False, "the first payment of a recurring series needs SCA (RTS Art. 14)"
    if context.amount is None or context.amount != series.amount:
        return False, "the amount differs from the series approved with SCA (RTS Art. 14)"
    if context.payee is None or context.payee != series.payee:
        return False, "the payee differs from the series approved with SCA (RTS Art. 14)"
    return True, "same amount and payee as a recurring series approved with SCA (RTS Art. 14)"


def _own_accounts(context: Context, settings: ExemptionSettings) -> Result:
    if context.own_account:
        return True, "transfer between the payer's own accounts at this PSP (RTS Art. 15)"
    return False, "the payee account is not the payer's own (RTS Art. 15)"


def _low_value(context: Context, settings: ExemptionSettings) -> Result:
    limits = settings.low_value
    amount = context.euro_amount()
    if not context.remote:
        return False, "not a remote transaction (RTS Art. 16)"
    if amount is None:
        return False, "the amount in EUR is not known (RTS Art. 16)"
    if amount > limits.max_amount:
        return (
            False,
            f"€{amount} is above the low-value limit €{limits.max_amount} (RTS Art. 16(a))",
        )
    counters = context.counters
    if limits.counter == "count":
        number = counters.transactions + 1
        if number > limits.max_count:
            return False, (
                f"this would be transaction {number} since the last SCA, "
                f"more than {limits.max_count} (RTS Art. 16(c))"
            )
        return True, (
            f"€{amount} ≤ €{limits.max_amount} and transaction {number} of at most "
            f"{limits.max_count} since the last SCA (RTS Art. 16(a), (c))"
        )
    cumulative = counters.amount + amount
    if cumulative > limits.max_cumulative_amount:
        return False, (
            f"cumulative €{cumulative} since the last SCA would exceed "
            f"€{limits.max_cumulative_amount} (RTS Art. 16(b))"
        )
    return True, (
        f"€{amount} ≤ €{limits.max_amount} and cumulative €{cumulative} ≤ "
        f"€{limits.max_cumulative_amount} since the last SCA (RTS Art. 16(a), (b))"
    )


def _tra(context: Context, settings: ExemptionSettings) -> Result:
    tra = settings.tra
    amount = context.euro_amount()
    rate = context.fraud_rate if context.fraud_rate is not None else tra.fraud_rate
    if not context.remote:
        return False, "not a remote transaction (RTS Art. 18)"
    if amount is None:
        return False, "the amount in EUR is not known (RTS Art. 18)"
    if rate is None:
        return False, "no measured fraud rate is configured (RTS Art. 18(2)(a), Art. 19)"
    table = REFERENCE_FRAUD_RATES[tra.payment_type]
    for etv, reference in table:
        if amount <= etv:
            if rate <= reference:
                return True, (
                    f"€{amount} ≤ ETV €{etv} and fraud rate {rate} % ≤ reference {reference} % "
                    f"for {tra.payment_type.replace('_', ' ')}s (RTS Art. 18, Annex)"
                )
            return False, (
                f"fraud rate {rate} % is above the reference {reference} % for ETV €{etv} "
                f"(RTS Art. 18(2)(a), Annex)"
            )
    return False, f"€{amount} is above the highest ETV €{table[-1][0]} (RTS Art. 18(2)(b), Annex)"


def _account_information(context: Context, settings: ExemptionSettings) -> Result:
    limit = settings.account_information_max_days
    since = context.seconds_since_sca
    if since is None:
        return False, "first access needs SCA (RTS Art. 10(2)(a))"
    if since > limit * _SECONDS_PER_DAY:
        return False, f"the last SCA is more than {limit} days old (RTS Art. 10(2)(b))"
    return True, f"the last SCA is at most {limit} days old (RTS Art. 10)"


CHECKS: Mapping[str, Callable[[Context, ExemptionSettings], Result]] = {
    "trusted_beneficiary": _trusted_beneficiary,
    "recurring": _recurring,
    "own_accounts": _own_accounts,
    "low_value": _low_value,
    "tra": _tra,
    "account_information": _account_information,
}
# Which action kind each exemption can relax.
APPLIES_TO: Mapping[str, str] = {
    "trusted_beneficiary": "payment",
    "recurring": "payment",
    "own_accounts": "payment",
    "low_value": "payment",
    "tra": "payment",
    "account_information": "account_access",
}


def check(name: str, context: Context, settings: ExemptionSettings) -> Result:
    """Whether exemption ``name`` applies, and why."""
    return CHECKS[name](context, settings)


def counters_after(context: Context, settings: ExemptionSettings, *, exempt: bool) -> Counters:
    """The Art. 16 counters after a remote payment: +1 and +amount when exempted, zero after SCA.

    An exempted payment whose euro amount is unknown (e.g. a trusted beneficiary paid in
    another currency) saturates the amount counter, so no low-value exemption follows it
    before the next SCA (fail closed).
    """
    if not exempt:
        return Counters()
    counters = context.counters
    amount = context.euro_amount()
    if amount is None:
        total = max(counters.amount, settings.low_value.max_cumulative_amount)
    else:
        total = counters.amount + amount
    return Counters(counters.transactions + 1, total)
