"""The bank's one step-up gate: the action policy decides, the SDK's browser flow enforces.

``Gate.check`` asks :meth:`stepauth.policy.Policy.decide` what the action needs in this
context and hands the decision to the SDK (:meth:`BrowserStepUp.arequire`): an exemption
needs only the signed-in session; otherwise the session's claims must meet the
requirement, and a bound action must also find an unused grant for exactly its
``authorization_details``. Anything short of that sends the browser to the Provider; after
the callback it lands on ``resume`` (a GET page), never on an automatically replayed POST.

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
        resumed: list[str] = []  # the page the step-up comes back to, once it is made

        def resume_url() -> str:
            resumed.append(resume if isinstance(resume, str) else resume())
            return resumed[-1]

        verdict = await self.browser.arequire(session, decision, resume=resume_url, details=details)
        if verdict.claims is not None:
            stepped_up = decision.requirement is not None  # an exemption asked for nothing
            verified_now = stepped_up and session.pop(_MARK, None) == action
            return Passed(decision, explanation, verdict.claims, verified_now=verified_now)
        assert verdict.location is not None
        requirement = decision.requirement
        session[_MARK] = action
        session[ASKED] = {
            "action": action,
            "explanation": explanation,
            "acr_values": list(requirement.acr_values) if requirement is not None else [],
            "resume": resumed[-1] if resumed else "",
        }
        return StepUpNeeded(verdict.location, verdict.reason or "step_up")

    async def login(self, session: MutableMapping[str, Any], *, resume: str) -> str:
        return await self.browser.abegin(session, LOGIN_REQUIREMENT, method="GET", url=resume)
