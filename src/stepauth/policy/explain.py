"""A decision as text for people: what is needed, and every rule that fired, with why."""

from __future__ import annotations

from stepauth.policy.model import Decision

__all__ = ["explain"]


def explain(decision: Decision) -> str:
    """Render ``decision``: the outcome, then one line per reason, then the counter update."""
    lines = [f"action: {decision.action}"]
    requirement = decision.requirement
    if requirement is None:
        lines.append(f"decision: no step-up; exempt under {decision.exempt}")
    else:
        need = f"acr={' '.join(requirement.acr_values)}"
        if requirement.max_age is not None:
            need += f" max_age={requirement.max_age}"
        if decision.bind:
            need += ", bound to this transaction"
        lines.append(f"decision: step-up to {need}")
    lines.append("because:")
    lines += [f"  - [{reason.rule}] {reason.message}" for reason in decision.reasons]
    if decision.counters is not None:
        counters = decision.counters
        lines.append(
            "persist after the action: "
            f"transactions_since_sca={counters.transactions} amount_since_sca={counters.amount}"
        )
    return "\n".join(lines)
