"""The policy model: actions, risk rules, exemption settings and decisions.

A :class:`Policy` is immutable data loaded from one TOML file (:mod:`stepauth.policy.loader`,
format in ``docs/policy.md``). ``decide(policy, action, context)`` returns a :class:`Decision`
whose :class:`Reason` list names every rule that fired, so the same decision can be shown to
a user, written to the audit log and explained to a compliance officer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from stepauth.assurance import DEFAULT_LADDER, Ladder, Requirement
from stepauth.policy.context import Counters

__all__ = [
    "ACTION_KINDS",
    "CONTEXT_FLAGS",
    "EXEMPTIONS",
    "SIGNALS",
    "Action",
    "Decision",
    "ExemptionSettings",
    "LowValueSettings",
    "Policy",
    "Reason",
    "RiskRule",
    "TRASettings",
    "Upgrade",
]

# What an action is, for PSD2: "payment" (remote payment, Art. 5 binding and the Art. 13-18
# exemptions), "beneficiary" (create/amend trusted beneficiaries or payout details: Art. 13,
# always SCA), "recurring_series" (create/amend a series: Art. 14, always SCA),
# "account_access" (Art. 10 online account information) and "other".
ACTION_KINDS = ("payment", "beneficiary", "recurring_series", "account_access", "other")
# Boolean context fields an action's ``upgrade`` may test.
CONTEXT_FLAGS = ("has_hardware_key", "new_payee", "new_device", "new_ip_country", "payee_trusted")
# Risk signals a rule may watch (see stepauth.policy.risk).
SIGNALS = (
    "amount_above",
    "new_payee",
    "new_device",
    "new_ip_country",
    "velocity_above",
    "recent_factor_change",
    "risk_score_above",
)
# PSD2 RTS exemptions, in the order they are tried unless an action lists its own order.
EXEMPTIONS = (
    "trusted_beneficiary",
    "recurring",
    "own_accounts",
    "low_value",
    "tra",
    "account_information",
)


@dataclass(frozen=True)
class Upgrade:
    """Ask for a higher level when a context flag is set (e.g. ``has_hardware_key`` → phrh)."""

    when: str
    acr: str
    max_age: int | None = None


@dataclass(frozen=True)
class Action:
    """What one named action needs before any risk signal or exemption."""

    name: str
    acr: str
    max_age: int | None = None
    bind: bool = False
    kind: str = "other"
    exemptable: bool = False
    exemptions: tuple[str, ...] = ()
    upgrades: tuple[Upgrade, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class RiskRule:
    """A risk rule: when its signal fires, the requirement escalates and no exemption applies.

    ``threshold`` is the signal's parameter: an amount (``amount_above``), a count
    (``velocity_above``), seconds (``recent_factor_change``) or a score (``risk_score_above``).
    ``acr`` raises the level (never lowers it), ``max_age`` tightens freshness (never loosens it).
    ``actions`` limits the rule to some actions (empty: every action).
    """

    name: str
    signal: str
    threshold: Decimal | None = None
    acr: str | None = None
    max_age: int | None = None
    actions: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class LowValueSettings:
    """PSD2 RTS Art. 16 low-value remote payments; limits may be lowered, never raised."""

    max_amount: Decimal = Decimal("30")
    counter: str = "amount"  # "amount": cumulative ≤ max_cumulative_amount; "count": ≤ max_count
    max_cumulative_amount: Decimal = Decimal("100")
    max_count: int = 5


@dataclass(frozen=True)
class TRASettings:
    """PSD2 RTS Art. 18 transaction risk analysis with the Annex reference fraud rates."""

    payment_type: str = "credit_transfer"  # or "card" (remote card-based payments)
    fraud_rate: Decimal | None = None  # measured, in percent (Art. 19); None: never applies


@dataclass(frozen=True)
class ExemptionSettings:
    """The exemptions the deployment uses (a missing table means the exemption is off)."""

    enabled: frozenset[str] = frozenset()
    low_value: LowValueSettings = field(default_factory=LowValueSettings)
    tra: TRASettings = field(default_factory=TRASettings)
    account_information_max_days: int = 180  # Art. 10(2)(b) as amended by (EU) 2022/2360


@dataclass(frozen=True)
class Reason:
    """Why a decision is what it is. ``rule`` names the policy entry (``rules.new_device``)."""

    kind: str  # action | upgrade | risk | exemption | no_exemption | binding | counters
    rule: str
    message: str


@dataclass(frozen=True)
class Decision:
    """The outcome of :meth:`Policy.decide`.

    ``requirement`` is ``None`` when no step-up is needed (an exemption applies). ``bind``
    means the step-up must be bound to the transaction (RFC 9396 details, one use).
    ``counters`` is what to persist *after* the action ran: incremented after an exempted
    payment, reset to zero after a payment authenticated with SCA; ``None`` otherwise.
    """

    action: str
    requirement: Requirement | None
    bind: bool
    exempt: str | None
    reasons: tuple[Reason, ...]
    counters: Counters | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form for audit logs and ``stepauth policy explain --json``."""
        requirement = self.requirement
        return {
            "action": self.action,
            "requirement": None
            if requirement is None
            else {"acr_values": list(requirement.acr_values), "max_age": requirement.max_age},
            "bind": self.bind,
            "exempt": self.exempt,
            "reasons": [
                {"kind": r.kind, "rule": r.rule, "message": r.message} for r in self.reasons
            ],
            "counters": None if self.counters is None else self.counters.to_json(),
        }


@dataclass(frozen=True)
class Policy:
    """An action policy: plain data. Build it with :func:`~stepauth.policy.load_policy` or
    :func:`~stepauth.policy.parse_policy`; ask it with :func:`~stepauth.policy.decide`."""

    actions: Mapping[str, Action]
    rules: tuple[RiskRule, ...] = ()
    exemptions: ExemptionSettings = field(default_factory=ExemptionSettings)
    currency: str = "EUR"
    ladder: Ladder = DEFAULT_LADDER
    source: str | None = None
