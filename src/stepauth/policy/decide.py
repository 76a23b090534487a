"""``decide(policy, action, context)``: the requirement for one action, with its reasons.

Order (each step can only make the requirement stronger, except an exemption, which can
only remove it):

1. the action's own ``acr``/``max_age``/``bind``;
2. upgrades whose context flag is set (``has_hardware_key`` → ``phrh``);
3. risk rules that fire (:mod:`stepauth.policy.risk`): raise the level, tighten ``max_age``
   and turn exemptions off;
4. exemptions (:mod:`stepauth.policy.exemptions`), tried in the action's order, only for an
   action marked ``exemptable`` and only when no risk rule fired. Actions that create or
   amend trusted beneficiaries or recurring series are never exemptable (RTS Art. 13, 14).
"""

from __future__ import annotations

from stepauth.assurance import Ladder, Requirement
from stepauth.policy import exemptions, risk
from stepauth.policy.context import Context, Counters
from stepauth.policy.errors import PolicyError
from stepauth.policy.ladder import higher
from stepauth.policy.model import Decision, Policy, Reason

__all__ = ["decide"]


def _tighter(current: int | None, other: int | None) -> int | None:
    if other is None:
        return current
    return other if current is None else min(current, other)


def _describe(acr: str, max_age: int | None) -> str:
    return acr if max_age is None else f"{acr} with max_age={max_age}"


def _escalate(
    ladder: Ladder, acr: str, max_age: int | None, new_acr: str | None, new_max_age: int | None
) -> tuple[str, int | None]:
    return (higher(ladder, acr, new_acr) if new_acr else acr), _tighter(max_age, new_max_age)


def decide(policy: Policy, name: str, context: Context | None = None) -> Decision:
    """What action ``name`` needs in ``context`` (none: an empty :class:`Context`) and why."""
    context = context or Context()
    action = policy.actions.get(name)
    if action is None:
        raise PolicyError(f"unknown action {name!r}; the policy defines {sorted(policy.actions)}")
    reasons = [
        Reason(
            "action",
            f"actions.{name}",
            f"{name} requires {_describe(action.acr, action.max_age)}"
            + (", bound to the transaction" if action.bind else ""),
        )
    ]
    acr, max_age = action.acr, action.max_age

    for i, upgrade in enumerate(action.upgrades):
        if getattr(context, upgrade.when):
            acr, max_age = _escalate(policy.ladder, acr, max_age, upgrade.acr, upgrade.max_age)
            reasons.append(
                Reason(
                    "upgrade",
                    f"actions.{name}.upgrade[{i}]",
                    f"context.{upgrade.when} is true: at least "
                    f"{_describe(upgrade.acr, upgrade.max_age)}",
                )
            )

    fired = risk.fired_rules(policy.rules, name, context, currency=policy.currency)
    for rule, why in fired:
        acr, max_age = _escalate(policy.ladder, acr, max_age, rule.acr, rule.max_age)
        effect = [f"at least {rule.acr}"] if rule.acr else []
        effect += [f"max_age ≤ {rule.max_age}"] if rule.max_age is not None else []
        effect += ["no exemption"]
        reasons.append(Reason("risk", f"rules.{rule.name}", f"{why}: {', '.join(effect)}"))

    exempt = _exemption(policy, name, context, bool(fired), reasons)
    counters: Counters | None = None
    if action.kind == "payment":
        counters = exemptions.counters_after(context, policy.exemptions, exempt=exempt is not None)
    if exempt is not None:
        if counters is not None:
            reasons.append(
                Reason(
                    "counters",
                    "exemptions",
                    f"after the payment, since the last SCA: transactions={counters.transactions}, "
                    f"amount=€{counters.amount} (RTS Art. 16)",
                )
            )
        return Decision(name, None, False, exempt, tuple(reasons), counters)

    if action.bind:
        basis = "RTS Art. 5 dynamic linking" if action.kind == "payment" else "RFC 9396"
        reasons.append(
            Reason(
                "binding",
                f"actions.{name}.bind",
                f"the step-up is valid for this transaction's details only, once ({basis})",
            )
        )
    if counters is not None:
        reasons.append(
            Reason(
                "counters",
                "exemptions",
                "after the payment with SCA the counters restart at zero (RTS Art. 16)",
            )
        )
    requirement = Requirement(acr_values=(acr,), max_age=max_age)
    return Decision(name, requirement, action.bind, None, tuple(reasons), counters)


def _exemption(
    policy: Policy, name: str, context: Context, risky: bool, reasons: list[Reason]
) -> str | None:
    action = policy.actions[name]
    if not action.exemptable:
        if action.kind in ("beneficiary", "recurring_series"):
            what, article = (
                ("a trusted beneficiary or payout account", "13")
                if action.kind == "beneficiary"
                else ("a recurring series", "14")
            )
            why = f"creating or amending {what} always needs SCA (RTS Art. {article})"
        else:
            why = "the action is not exemptable"
        reasons.append(Reason("no_exemption", f"actions.{name}.exemptable", why))
        return None
    if risky:
        reasons.append(
            Reason(
                "no_exemption",
                f"actions.{name}.exemptions",
                "a risk rule fired, so no exemption applies (RTS Art. 2, 18(2)(c))",
            )
        )
        return None
    for exemption in action.exemptions:
        if exemption not in policy.exemptions.enabled:
            continue
        applies, why = exemptions.check(exemption, context, policy.exemptions)
        reasons.append(
            Reason("exemption" if applies else "no_exemption", f"exemptions.{exemption}", why)
        )
        if applies:
            return exemption
    return None
