"""The action policy: which action needs which assurance, and why (docs/policy.md).

One TOML file (format: ``docs/policy.md``) maps actions to requirements, escalates them on
risk signals and relaxes payments under the PSD2 RTS exemptions. Pure: the application
passes a :class:`Context` (signals, counters since the last SCA) and persists the counter
update the :class:`Decision` returns::

    policy = load_policy("policy.toml")
    decision = decide(policy, "transfer", Context(amount=Decimal("25.00"), currency="EUR"))
    decision.requirement   # Requirement(acr_values=("phr",), max_age=None) or None if exempt
    decision.reasons       # every rule that fired
    explain(decision)      # the same as text for people

:class:`Policy` is plain data; reading, deciding and explaining are the functions
:func:`load_policy`/:func:`parse_policy`, :func:`decide` and :func:`explain`.
"""

from __future__ import annotations

from stepauth.policy.context import Context, Counters, RecurringSeries
from stepauth.policy.decide import decide
from stepauth.policy.errors import PolicyError
from stepauth.policy.exemptions import REFERENCE_FRAUD_RATES
from stepauth.policy.explain import explain
from stepauth.policy.loader import load_policy, parse_policy
from stepauth.policy.model import (
    Action,
    Decision,
    ExemptionSettings,
    LowValueSettings,
    Policy,
    Reason,
    RiskRule,
    TRASettings,
    Upgrade,
)

__all__ = [
    "REFERENCE_FRAUD_RATES",
    "Action",
    "Context",
    "Counters",
    "Decision",
    "ExemptionSettings",
    "LowValueSettings",
    "Policy",
    "PolicyError",
    "Reason",
    "RecurringSeries",
    "RiskRule",
    "TRASettings",
    "Upgrade",
    "decide",
    "explain",
    "load_policy",
    "parse_policy",
]
