"""The login policy: named checks that decide whether a session may answer a request.

Each check returns a reason or nothing; the reasons drive the interaction page (what to
ask for and why), the audit log and the errors (node-oidc-provider's shape, docs/architecture.md):

``no_session``               nobody is signed in
``id_token_hint_mismatch``   signed in as someone other than the hinted ``sub`` (OIDC Core §3.1.2.2)
``prompt_login``             ``prompt=login`` or ``max_age=0``: re-authenticate
                             (OIDC Core §3.1.2.1 ``max_age`` and ``prompt``)
``binding_required``         ``authorization_details`` must be approved by a WebAuthn
                             assertion over the transaction challenge (asked once per
                             transaction, PSD2 RTS Art. 5 dynamic linking)
``binding_unavailable``      the signed-in user has no factor that binds the details (no
                             passkey): the request can never be approved here and becomes
                             ``unmet_authentication_requirements`` — never an unbound approval
``max_age``                  the factors behind the session are older than ``max_age``
``essential_acr``            an essential ``acr`` (claims parameter) is not met (OIDC Core §5.5.1.1)
``acr_not_met``              an enforced ``acr_values`` value is not met (docs/concepts.md)
``factor_locked``            the factor that would help is blocked after failures

Assurance is computed by :func:`stepauth.assurance.assess` over the session's events
(never anything else: a session is never higher than its events, NIST SP 800-63B-4 §5.1). After an
interaction started, ``prompt_login`` and ``binding_required`` are met only by events added
since then (the session's events minus ``before``, its events when the interaction
started), and only those events count for the answer, so ``auth_time`` moves forward
(OpenID conformance suite: oidcc-max-age-1, oidcc-prompt-login). Counting events, not
comparing times, keeps this exact whatever the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stepauth.assurance import Assessment, AuthEvent, Ladder, Need, assess
from stepauth.provider.factors.base import Capability, provides
from stepauth.provider.i18n import N_

__all__ = [
    "REASONS",
    "REASON_TEXT",
    "LoginDecision",
    "PolicyRequest",
    "achievable",
    "evaluate_login",
]

REASON_TEXT: Mapping[str, str] = {
    "no_session": N_("Please sign in to continue."),
    "id_token_hint_mismatch": N_(
        "The application asked for a different account. Please sign in as that user."
    ),
    "prompt_login": N_("The application asked you to sign in again."),
    "binding_required": N_("Please check the details below and approve exactly this request."),
    "binding_unavailable": N_(
        "Approving these details needs a passkey, and this account has "
        "none. Add a passkey to your account, then try again."
    ),
    "max_age": N_("Your last sign-in is too long ago for this action. Please confirm it is you."),
    "essential_acr": N_("This action needs a stronger sign-in."),
    "acr_not_met": N_("This action needs a stronger sign-in than your current one."),
    "factor_locked": N_("This sign-in method is temporarily locked after too many attempts."),
}
REASONS = tuple(REASON_TEXT)


@dataclass(frozen=True)
class PolicyRequest:
    """What the policy needs to know about the request and the session."""

    events: Sequence[AuthEvent]
    session_sub: str | None
    now: float
    ladder: Ladder
    prompt_login: bool = False
    max_age: int | None = None
    acr_values: tuple[str, ...] = ()
    enforce_acr_values: bool = True
    essential_acr: tuple[str, ...] = ()
    expected_sub: str | None = None
    binding: bool = False
    before: Sequence[AuthEvent] | None = None
    #: The user can approve the details themselves (a passkey: the challenge is derived
    #: from them, docs/transaction-binding.md). Only that approval ever meets ``binding``;
    #: a signed-in user who cannot give it gets ``binding_unavailable``.
    approval_required: bool = False
    #: This interaction already holds a bound approval (a stored ``txn_record``).
    approved: bool = False

    @property
    def wanted(self) -> tuple[str, ...]:
        """The acr values that must be met: essential ones, else enforced acr_values."""
        if self.essential_acr:
            return self.essential_acr
        return self.acr_values if self.enforce_acr_values else ()

    @property
    def window(self) -> int | None:
        """``max_age=0`` is handled as ``prompt=login``, not as a zero-second window."""
        return self.max_age if self.max_age else None

    def counted_events(self) -> list[AuthEvent]:
        if self.before is not None and (self.prompt_login or self.binding):
            return self.new_events()
        return list(self.events)

    def new_events(self) -> list[AuthEvent]:
        """The events added since the interaction started (a multiset difference)."""
        if self.before is None:
            return []
        fresh = list(self.events)
        for old in self.before:
            if old in fresh:
                fresh.remove(old)
        return fresh


@dataclass(frozen=True)
class LoginDecision:
    """The outcome: no reasons = the session answers; ``assessment`` gives acr/amr/auth_time."""

    reasons: tuple[str, ...]
    assessment: Assessment | None
    missing: tuple[Need, ...] = field(default_factory=tuple)

    @property
    def satisfied(self) -> bool:
        return not self.reasons


Check = Callable[[PolicyRequest], str | None]


def no_session(req: PolicyRequest) -> str | None:
    return "no_session" if req.session_sub is None else None


def id_token_hint_mismatch(req: PolicyRequest) -> str | None:
    if req.expected_sub is not None and req.session_sub != req.expected_sub:
        return "id_token_hint_mismatch"
    return None


def prompt_login(req: PolicyRequest) -> str | None:
    if req.prompt_login and not req.new_events():
        return "prompt_login"
    return None


def binding_required(req: PolicyRequest) -> str | None:
    """Asked once per transaction, met only by this interaction's bound approval (PSD2 RTS
    Art. 5(1)(a)-(b): the authentication code is specific to amount and payee).

    Another factor (password, TOTP, a code that does not show the details) never stands in
    for it: a signed-in user with no binding factor gets ``binding_unavailable``. Before
    anyone is signed in the user is unknown, so ``no_session`` asks first.
    """
    if not req.binding:
        return None
    if req.approval_required:
        return None if req.approved else "binding_required"
    if req.session_sub is None:
        return None
    return "binding_unavailable"


def max_age(req: PolicyRequest) -> str | None:
    if req.window is None:
        return None
    fresh = assess(
        req.counted_events(), acr_values=(), max_age=req.window, now=req.now, ladder=req.ladder
    )
    return "max_age" if fresh.acr is None or fresh.auth_time is None else None


def _acr_reason(req: PolicyRequest, values: tuple[str, ...], reason: str) -> str | None:
    if not values:
        return None
    values = tuple(v for v in values if v in req.ladder)
    if not values:
        # Only values this Provider cannot produce (an essential request for an unknown
        # acr): never met. assess() would otherwise answer with the best level it has.
        return reason
    events = req.counted_events()
    if assess(events, acr_values=values, max_age=req.window, now=req.now, ladder=req.ladder).met:
        return None
    if (
        req.window is not None
        and assess(events, acr_values=values, max_age=None, now=req.now, ladder=req.ladder).met
    ):
        return "max_age"  # the level is there, only too old: re-authentication, not step-up
    return reason


def essential_acr(req: PolicyRequest) -> str | None:
    return _acr_reason(req, req.essential_acr, "essential_acr")


def acr_not_met(req: PolicyRequest) -> str | None:
    if req.essential_acr or not req.enforce_acr_values:
        return None
    return _acr_reason(req, req.acr_values, "acr_not_met")


#: The checks, in order. The first reason is the one the page shows first.
CHECKS: tuple[Check, ...] = (
    no_session,
    id_token_hint_mismatch,
    prompt_login,
    binding_required,
    max_age,
    essential_acr,
    acr_not_met,
)


def answer(req: PolicyRequest) -> Assessment:
    """acr/amr/auth_time for the response: the wanted level if met, else the session's best.

    With voluntary ``acr_values`` (client switch) an unmet value yields the session's own
    best acr (OIDC Core §5.5.1.1), never a claimed higher one.
    """
    events = req.counted_events()
    preferred = tuple(v for v in (req.essential_acr or req.acr_values) if v in req.ladder)
    if preferred:
        result = assess(
            events, acr_values=preferred, max_age=req.window, now=req.now, ladder=req.ladder
        )
        if result.met:
            return result
    return assess(events, acr_values=(), max_age=req.window, now=req.now, ladder=req.ladder)


def missing_needs(req: PolicyRequest) -> tuple[Need, ...]:
    """The ways (``Need``) to reach any wanted level, per ``assess()``."""
    values = tuple(v for v in req.wanted if v in req.ladder)
    if not values:
        return ()
    result = assess(
        req.counted_events(), acr_values=values, max_age=req.window, now=req.now, ladder=req.ladder
    )
    needs: list[Need] = []
    for acr in values:
        needs.extend(result.missing.get(acr, ()))
    return tuple(needs)


def achievable(need: Need, capabilities: Sequence[Capability]) -> bool:
    """Could factors with these capabilities, presented now, fulfil ``need``?"""
    if not capabilities:
        return False
    if (need.phishing_resistant or need.hardware_bound or need.multi_factor) and not any(
        provides(c, need) for c in capabilities
    ):
        return False
    covered: set[Any] = set()
    for capability in capabilities:
        covered |= capability.categories
    return set(need.categories) <= covered


def evaluate_login(req: PolicyRequest) -> LoginDecision:
    """Run every check; the decision lists all reasons found, in :data:`CHECKS` order."""
    found: list[str] = []
    for check in CHECKS:  # a plain loop: it runs for every authorization request
        reason = check(req)
        if reason is not None:
            found.append(reason)
    if found:
        return LoginDecision(reasons=tuple(found), assessment=None, missing=missing_needs(req))
    result = answer(req)
    if result.acr is None or result.auth_time is None:
        # No level is met by any event still inside its window: the session is stale.
        return LoginDecision(reasons=("max_age",), assessment=None, missing=missing_needs(req))
    return LoginDecision(reasons=(), assessment=result)
