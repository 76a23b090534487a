"""One factor submission's throttling and audit, shared by every page that verifies one.

The interaction pages (``/interaction/{uid}``) and ``/account/reauth`` both:

* count every submission against the address *before* it is verified
  (:func:`stepauth.provider.throttle.claim_ip_attempt`, one atomic statement), and refuse
  one over the per-IP limit with the one generic message and HTTP 429, audited as
  ``throttled`` — concurrent submissions never get past the limit;
* keep a failure counted, give the count back for a success and for the "send me a
  code" action of the OOB plug-in (:func:`~stepauth.provider.throttle.release_ip_attempt`),
  and audit it (``failure``, ``locked``, ``code_sent``) with the account it was
  counted against;
* audit every success as an attempt and as a step-up with the acr of the session
  before and after the new event (ASVS 5.0 16.3.1).

:func:`verify_factor` is the one call both pages make to verify a form: the plug-in's
``verify``, then :func:`stepauth.provider.factors.hold.apply_hold` (an event of a factor
on hold is capped at the level that bound it; it never approves bound details).

:func:`verify_form` is the submission both make: throttle, verify against the user's
factors, a page's own check of the result (the interaction's expected ``sub``, the
signed-in user of a step-up page), a refusal counted and audited.
:func:`verify_step_up` is the whole submission of a step-up page outside an interaction
(``/account/reauth``, ``/admin/reauth``): throttle, the offered plug-in, verify, the same
user as the session's, then the event appended with the session id rotated
(:func:`stepauth.provider.sessions.record_event`) and the success audited.

Only named fields reach the log (:mod:`stepauth.audit.log`): the factor kind, the
RFC 8176 methods and the credential id, never a submitted value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stepauth import audit
from stepauth.assurance import AuthEvent, assess
from stepauth.errors import FactorError
from stepauth.provider.factors.base import Attempt, FactorPlugin, FactorRejected, Verified
from stepauth.provider.factors.hold import apply_hold
from stepauth.provider.factors.oob import CODE_SENT
from stepauth.provider.sessions import record_event
from stepauth.provider.throttle import GENERIC_FAILURE, claim_ip_attempt, release_ip_attempt

if TYPE_CHECKING:
    from stepauth.provider.state import ProviderState
    from stepauth.store import Session, User

__all__ = [
    "Refusal",
    "SteppedUp",
    "Submission",
    "acr_of",
    "verify_factor",
    "verify_form",
    "verify_step_up",
]


def acr_of(state: ProviderState, events: Sequence[Mapping[str, Any]], now: float) -> str | None:
    """The acr that ``events`` reach now on the Provider's ladder (``None``: no event)."""
    if not events:
        return None
    parsed = [AuthEvent.from_json(dict(e)) for e in events]
    return assess(parsed, now=now, ladder=state.ladder).acr


async def verify_factor(plugin: FactorPlugin, attempt: Attempt) -> Verified:
    """Verify one factor form, then apply the factor's hold (NIST SP 800-63B-4 §6.1.2.1)."""
    verified = await plugin.verify(attempt)
    return await apply_hold(attempt.state, verified, now=attempt.now)


@dataclass(frozen=True)
class Refusal:
    """What the page shows after a refused submission."""

    message: str
    status_code: int
    locked: bool = False


@dataclass
class Submission:
    """One submitted factor form: where from, which factor, why it was asked."""

    state: ProviderState
    client: audit.Client
    factor: str
    now: float
    reason: Sequence[str] | str | None
    client_id: str | None = None
    #: Counted against the address (by :meth:`throttled`), not yet settled.
    counted: bool = field(default=False, init=False)

    async def _count(self) -> bool:
        if self.counted:
            return True
        self.counted = await claim_ip_attempt(
            self.state.store, self.client.ip, now=self.now, limits=self.state.config.throttle
        )
        return self.counted

    async def _give_back(self) -> None:
        if self.counted:
            self.counted = False
            await release_ip_attempt(
                self.state.store, self.client.ip, now=self.now, limits=self.state.config.throttle
            )

    async def _attempt(self, result: str, user_id: str | None, **fields: Any) -> None:
        await audit.attempt(
            self.state.store,
            now=self.now,
            result=result,
            factor=self.factor,
            user_id=user_id,
            client=self.client,
            client_id=self.client_id,
            reason=self.reason,
            **fields,
        )

    async def throttled(self, user_id: str | None) -> Refusal | None:
        """Count the submission against the address before it is verified; a
        :class:`Refusal` (HTTP 429, audited, nothing counted) when over the limit."""
        if await self._count():
            return None
        await self._attempt("throttled", user_id)
        return Refusal(GENERIC_FAILURE, 429)

    async def refused(self, exc: FactorError, user_id: str | None) -> Refusal:
        """Count and audit a refusal; the message never says which factor failed."""
        rejected = exc if isinstance(exc, FactorRejected) else FactorRejected(GENERIC_FAILURE)
        counted = rejected.user_id or user_id
        if rejected.description == CODE_SENT:
            await self._give_back()
            await self._attempt("code_sent", counted)
            return Refusal(CODE_SENT, 200)
        await self._count()  # counted already, unless the page did not ask throttled()
        self.counted = False  # a failure stays counted
        await self._attempt("locked" if rejected.locked else "failure", counted)
        return Refusal(GENERIC_FAILURE, 400, locked=rejected.locked)

    async def verified(
        self,
        verified: Verified,
        *,
        before: Sequence[Mapping[str, Any]],
        after: Sequence[Mapping[str, Any]],
    ) -> None:
        """Audit a success: the attempt, and the step-up from ``before`` to ``after``."""
        await self._give_back()
        method = list(verified.event.methods)
        user_id = verified.user.id
        await self._attempt("success", user_id, method=method, credential=verified.factor_id)
        await audit.step_up(
            self.state.store,
            now=self.now,
            user_id=user_id,
            client=self.client,
            client_id=self.client_id,
            acr_before=acr_of(self.state, before, self.now),
            acr_after=acr_of(self.state, after, self.now),
            reason=self.reason,
            method=method,
            credential=verified.factor_id,
        )


@dataclass(frozen=True)
class SteppedUp:
    """A verified step-up: the factor's result and the session it was appended to."""

    verified: Verified
    session: Session


async def verify_form(
    submission: Submission,
    plugin: FactorPlugin | None,
    user: User | None,
    form: Mapping[str, str],
    *,
    interaction_id: str,
    context: Mapping[str, Any],
    check: Callable[[Verified], None] | None = None,
    authorization_details: Sequence[Mapping[str, Any]] | None = None,
    session_events: Sequence[Mapping[str, Any]] = (),
) -> Refusal | Verified:
    """Throttle ``submission``, then verify ``form`` with ``plugin`` (``None``: a factor
    not offered, refused) against ``user``'s factors; ``check`` may refuse the result by
    raising :class:`~stepauth.errors.FactorError`. A :class:`Refusal` (counted and audited)
    or the verified factor (not yet audited: :meth:`Submission.verified`)."""
    user_id = user.id if user is not None else None
    refusal = await submission.throttled(user_id)
    if refusal is not None:
        return refusal
    state = submission.state
    factors = await state.store.list_factors(user.id) if user is not None else []
    attempt = Attempt(
        state=state,
        form=form,
        user=user,
        factors=factors,
        now=submission.now,
        interaction_id=interaction_id,
        context=context,
        client_id=submission.client_id,
        authorization_details=authorization_details,
        session_events=session_events,
    )
    try:
        if plugin is None:
            raise FactorRejected(GENERIC_FAILURE)
        verified = await verify_factor(plugin, attempt)
        if check is not None:
            check(verified)
    except FactorError as exc:
        # Only a FactorRejected message is written for users; any other verifier error
        # gets the generic text (never which step failed, PSD2 RTS Art. 4(3)(a)).
        return await submission.refused(exc, user_id)
    return verified


async def verify_step_up(
    submission: Submission,
    loaded: tuple[Session, User] | None,
    offered: Sequence[FactorPlugin],
    *,
    form: Mapping[str, str],
    interaction_id: str,
    purpose: str,
) -> Refusal | SteppedUp:
    """Verify the form of ``submission.factor`` (one of ``offered``) for the session
    ``loaded`` (``None``: a sign-in) and record it; a :class:`Refusal` when throttled, not
    offered, refused or verified as another user than the signed-in one."""
    session, user = loaded if loaded is not None else (None, None)

    def same_user(verified: Verified) -> None:
        if user is not None and verified.user.id != user.id:
            raise FactorRejected(GENERIC_FAILURE)

    verified = await verify_form(
        submission,
        next((p for p in offered if p.kind == submission.factor), None),
        user,
        form,
        interaction_id=interaction_id,
        context={"purpose": purpose},
        check=same_user,
    )
    if isinstance(verified, Refusal):
        return verified
    before = list(session.events) if session is not None else []
    new_session = await record_event(
        submission.state, current=session, user_id=verified.user.id, event=verified.event.to_json()
    )
    await submission.verified(verified, before=before, after=list(new_session.events))
    return SteppedUp(verified, new_session)
