"""The bank's one step-up gate: the action policy decides, the SDK's browser flow enforces.

``Gate.check`` asks :meth:`stepauth.policy.Policy.decide` what the action needs in this
context. No requirement (an exemption applied): pass. Otherwise the session's claims must
meet it (:meth:`BrowserStepUp.check`), and a bound action must also find an unused grant for
exactly its ``authorization_details`` (:meth:`BrowserStepUp.check_bound`). Anything short
of that sends the browser to the Provider; after the callback it lands on ``resume`` (a GET
page), never on an automatically replayed POST.

A policy's ``max_age = 0`` ("authenticate now") is passed on as it is: the Provider
authenticates anew, and the SDK accepts the answer because its ``auth_time`` is after the
step-up request (one action per step-up).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from stepauth.assurance import Requirement
from stepauth.policy import Context, Decision, Policy, decide, explain
from stepauth.sdk import BrowserStepUp
from stepauth.sdk.binding import Binding

__all__ = ["ASKED", "LOGIN_REQUIREMENT", "Gate", "Passed", "StepUpNeeded"]

#: Signing in to the bank needs any first factor; every stronger need comes from the policy.
LOGIN_REQUIREMENT = Requirement(("urn:stepauth:acr:1fa",), None)
_MARK = "acme_stepped_up"
#: Why the last step-up was asked (shown again if the Provider could not complete it).
ASKED = "acme_step_up_asked"


@dataclass(frozen=True)
class Passed:
    """The action may run. ``verified_now``: this request follows a step-up for it."""

    decision: Decision
    explanation: str
    claims: Mapping[str, Any]
    verified_now: bool


@dataclass(frozen=True)
class StepUpNeeded:
    """Send the browser to ``url`` (the Provider)."""

    url: str
    reason: str


def _fixed(details: Sequence[Mapping[str, Any]]) -> Binding:
    frozen = [dict(d) for d in details]
    return Binding(lambda _fields: frozen)


class Gate:
    def __init__(self, policy: Policy, browser: BrowserStepUp) -> None:
        self.policy = policy
        self.browser = browser

    async def check(
        self,
        session: MutableMapping[str, Any],
        action: str,
        context: Context,
        *,
        resume: str | Callable[[], str],
        details: Sequence[Mapping[str, Any]] | None = None,
    ) -> Passed | StepUpNeeded:
        decision = decide(self.policy, action, context)
        explanation = explain(decision)
        claims = self.browser.claims(session) or {}
        requirement = decision.requirement
        if requirement is None:
            return Passed(decision, explanation, claims, verified_now=False)
        binding = _fixed(details) if decision.bind and details else None
        bound = binding.for_action({}) if binding is not None else None
        if binding is not None and bound is not None:
            step_up = self.browser.check_bound(session, requirement, binding, bound)
        else:
            step_up = self.browser.check(session, requirement)
        if step_up is None:
            verified_now = session.pop(_MARK, None) == action
            claims = self.browser.claims(session) or {}
            return Passed(decision, explanation, claims, verified_now=verified_now)
        acr_values = step_up.acr_values or requirement.acr_values
        target = resume if isinstance(resume, str) else resume()
        url = await self.browser.abegin(
            session,
            Requirement(acr_values, step_up.max_age),
            method="GET",
            url=target,
            authorization_details=bound,
            binding=binding,
        )
        session[_MARK] = action
        session[ASKED] = {
            "action": action,
            "explanation": explanation,
            "acr_values": list(acr_values),
            "resume": target,
        }
        return StepUpNeeded(url, step_up.reason)

    async def login(self, session: MutableMapping[str, Any], *, resume: str) -> str:
        return await self.browser.abegin(session, LOGIN_REQUIREMENT, method="GET", url=resume)
