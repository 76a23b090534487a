"""Risk signals that escalate a requirement (PSD2 RTS Art. 2 and 18(2)(c); NIST 800-63B-4 §5.1).

The application computes the signals (is the device new, how many actions in the last hour)
and passes them in the :class:`~stepauth.policy.context.Context`; a rule fires when its signal
is present. A rule that fires raises the level and tightens ``max_age`` (never the reverse)
and turns every exemption off: RTS Art. 18(2)(c) allows the TRA exemption only when real-time
analysis finds no abnormal pattern, and Art. 2 monitoring applies to every exemption.

Signals and their ``threshold``:

- ``amount_above``: the amount is above ``threshold`` (in the policy currency). An amount
  in another currency with no conversion fires the rule (fail closed).
- ``new_payee``, ``new_device``, ``new_ip_country``: the context flag is true.
- ``velocity_above``: ``context.velocity`` is above ``threshold``.
- ``recent_factor_change``: a factor changed within ``threshold`` seconds.
- ``risk_score_above``: the vendor ``risk_score`` is above ``threshold``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from stepauth.policy.context import Context
from stepauth.policy.model import RiskRule

__all__ = ["fired_rules"]


def fired_rules(
    rules: Sequence[RiskRule], action: str, context: Context, *, currency: str
) -> list[tuple[RiskRule, str]]:
    """The rules that fire for ``action`` in ``context``, each with a sentence saying why."""
    fired = []
    for rule in rules:
        if rule.actions and action not in rule.actions:
            continue
        why = _check(rule, context, currency)
        if why is not None:
            fired.append((rule, why))
    return fired


def _check(rule: RiskRule, context: Context, currency: str) -> str | None:
    threshold = rule.threshold
    signal = rule.signal
    if signal in ("new_payee", "new_device", "new_ip_country"):
        return f"context.{signal} is true" if getattr(context, signal) else None
    assert threshold is not None  # the loader requires one for the other signals
    if signal == "amount_above":
        return _amount_above(context, threshold, currency)
    if signal == "velocity_above":
        if context.velocity > threshold:
            return f"velocity {context.velocity} is above {threshold}"
        return None
    if signal == "recent_factor_change":
        since = context.seconds_since_factor_change
        if since is not None and Decimal(repr(since)) <= threshold:
            return f"a factor changed {since:g} s ago (within {threshold} s)"
        return None
    if signal == "risk_score_above":
        score = context.risk_score
        if score is not None and Decimal(repr(score)) > threshold:
            return f"risk score {score:g} is above {threshold}"
        return None
    raise AssertionError(f"unknown signal {signal}")  # the loader rejects unknown signals


def _amount_above(context: Context, threshold: Decimal, currency: str) -> str | None:
    if context.amount is None:
        return None
    if context.currency not in (None, currency):
        amount = context.amount_eur if currency == "EUR" else None
        if amount is None:
            return f"amount is in {context.currency}, not {currency}, and has no conversion"
    else:
        amount = context.amount
    if amount > threshold:
        return f"amount {amount} {currency} is above {threshold} {currency}"
    return None
