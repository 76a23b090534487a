"""Browser apps: the session-side step-up flow shared by every web adapter.

The app's own session (a mutable mapping: Starlette, Flask or Django) holds the validated
ID-token claims under :data:`SESSION_KEY`. A guarded action whose session falls short is
interrupted: the request is remembered as a :class:`PendingAction` keyed by ``state``, the
browser goes to the OP, and :meth:`BrowserStepUp.callback_flow` brings it back - with a
redirect for a GET, with a confirmation page for anything else (never an automatic replay).

Errors from the OP end the flow with an outcome page; nothing here redirects the browser to
the OP a second time for the same interruption, so a step-up can never loop.

After a callback the session holds the ID token, its claims and the access token (for the
app's calls to APIs: :meth:`BrowserStepUp.access_token`). A requirement with ``max_age=0``
("authenticate now") is met by an authentication made after the step-up request that asked
for it (``requested_at`` in the session): that mark is consumed by the first check it
satisfies, so the next such action asks again, and lapses ``fresh_ttl`` seconds after the
callback (time to confirm the interrupted action, not to keep for later). Without the mark,
``max_age=0`` allows :data:`stepauth.assurance.requirement.MAX_AGE_LEEWAY` seconds
(whole-second ``auth_time``).

The mark is single-use on the server, not only in the session: the callback records it in
the pending store (under ``fresh:<id>``, the session keeps only the id) and the check that
uses it takes it there with the store's atomic pop. A session cookie copied before the mark
was used, or two requests sent at once with the same cookie, find it gone: one action per
"authenticate now", whatever the session backend (cookie sessions cannot forget).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from stepauth.assurance import Requirement, StepUp
from stepauth.rar import DetailsMismatch, RARError, match_details
from stepauth.sdk._io import Flow
from stepauth.sdk.binding import Binding, resolve
from stepauth.sdk.errors import InsufficientAuthentication, StateMismatch
from stepauth.sdk.ledger import MemoryLedger, SyncLedger
from stepauth.sdk.pending import (
    MemoryPendingStore,
    PendingAction,
    PendingStore,
    render_confirm_page,
    safe_path,
)
from stepauth.sdk.rp import RelyingParty
from stepauth.sdk.verdicts import Resume, Verdict

if TYPE_CHECKING:
    from stepauth.policy import Decision

__all__ = ["SESSION_KEY", "BrowserStepUp", "Resume", "Verdict"]

SESSION_KEY = "stepauth"
_STATES_KEY = "stepauth_states"
_GRANTS_KEY = "stepauth_grants"
#: Key prefix of the one-shot "authenticate now" marks in the pending store (a ``state`` is
#: URL-safe base64, never containing ``:``).
_FRESH_PREFIX = "fresh:"
_FRESH_KEYS = ("requested_at", "fresh_until", "fresh_mark")
#: Ledger key prefix of a bound grant (the ledger may be shared with API ``txn`` ids).
_GRANT_PREFIX = "grant:"
_MAX_OPEN_STATES = 5


def _live_grant(grant: object, now: float, scope: str | None) -> bool:
    """A grant the session holds, well formed, not expired on the app's clock, and given
    out against this ledger (a process-local ledger has a ``scope``: its grants are good
    in its process only, where their use is recorded)."""
    if not isinstance(grant, Mapping):
        return False
    expires_at = grant.get("expires_at")
    return (
        isinstance(grant.get("id"), str)
        and isinstance(grant.get("details"), list)
        and type(expires_at) is float
        and expires_at > now
        and grant.get("scope") == scope
    )


class BrowserStepUp:
    """Session check, redirect to the OP, callback and resume - no framework code."""

    def __init__(
        self,
        rp: RelyingParty,
        *,
        pending: PendingStore | None = None,
        pending_ttl: float = 600,
        ledger: SyncLedger | None = None,
        grant_ttl: float = 300,
        fresh_ttl: float = 120,
        callback_path: str = "/stepauth/callback",
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.rp = rp
        self.pending = pending or MemoryPendingStore()
        self.pending_ttl = pending_ttl
        self.clock = clock or rp.clock
        #: Where used grants are recorded (:mod:`stepauth.sdk.ledger`); shared by every
        #: instance of the app when it is a SQL or Redis ledger.
        self.ledger: SyncLedger = ledger or MemoryLedger(clock=self.clock)
        self.grant_ttl = grant_ttl
        self.fresh_ttl = fresh_ttl
        self.callback_path = callback_path

    @staticmethod
    def claims(session: Mapping[str, Any]) -> Mapping[str, Any] | None:
        data = session.get(SESSION_KEY)
        if isinstance(data, Mapping) and isinstance(data.get("claims"), Mapping):
            claims: Mapping[str, Any] = data["claims"]
            return claims
        return None

    @staticmethod
    def access_token(session: Mapping[str, Any]) -> str | None:
        """The access token of the session's last token response (for calls to APIs)."""
        data = session.get(SESSION_KEY)
        token = data.get("access_token") if isinstance(data, Mapping) else None
        return token if isinstance(token, str) else None

    def _scope(self) -> str | None:
        """The ledger's ``scope`` when it is process-local, ``None`` for a shared one."""
        scope = getattr(self.ledger, "scope", None)
        return scope if isinstance(scope, str) else None

    @staticmethod
    def id_token(session: Mapping[str, Any]) -> str | None:
        """The ID token of the session's last sign-in (``id_token_hint`` of a logout)."""
        data = session.get(SESSION_KEY)
        token = data.get("id_token") if isinstance(data, Mapping) else None
        return token if isinstance(token, str) else None

    def check(self, session: Mapping[str, Any], requirement: Requirement) -> StepUp | None:
        """``None`` when the session meets ``requirement``, else what is missing.

        For ``max_age=0`` the session's ``requested_at`` mark (set by the callback of a
        ``max_age=0`` step-up) stands in for the freshness window and is consumed here.
        """
        claims = self.claims(session)
        if claims is None:
            return StepUp(requirement.acr_values, requirement.max_age, "no_session")
        data = session[SESSION_KEY]
        now = self.clock()
        mark = self._fresh_mark(data, now) if requirement.max_age == 0 else None
        if mark is not None:
            requested_at, mark_id = mark
            step_up = self._short_of(claims, requirement, now, not_before=requested_at)
            if step_up is not None:
                return step_up  # not this action's answer: the mark stays for it
            if isinstance(session, MutableMapping):
                session[SESSION_KEY] = {k: v for k, v in data.items() if k not in _FRESH_KEYS}
            # One "authenticate now" answers one action: the atomic pop decides which one.
            taken = self.pending.take(_FRESH_PREFIX + mark_id, now=now)
            if taken is not None and taken.created_at == requested_at:
                return None
            # Spent already (an older copy of the session, a parallel request): judge the
            # session as if it had no mark.
        return self._short_of(claims, requirement, now, not_before=None)

    @staticmethod
    def _fresh_mark(data: Mapping[str, Any], now: float) -> tuple[float, str] | None:
        """The session's live "authenticate now" mark: ``(requested_at, id)``."""
        requested_at = data.get("requested_at")
        fresh_until = data.get("fresh_until")
        mark_id = data.get("fresh_mark")
        if type(requested_at) is not float or type(fresh_until) is not float:
            return None
        if now > fresh_until or not isinstance(mark_id, str) or not mark_id:
            return None
        return requested_at, mark_id

    def _short_of(
        self,
        claims: Mapping[str, Any],
        requirement: Requirement,
        now: float,
        *,
        not_before: float | None,
    ) -> StepUp | None:
        try:
            self.rp.profile.check(
                claims,
                requirement,
                now=now,
                leeway=self.rp.leeway,
                max_age_leeway=self.rp.max_age_leeway,
                not_before=not_before,
            )
        except InsufficientAuthentication as exc:
            return exc.step_up
        return None

    def check_bound(
        self,
        session: MutableMapping[str, Any],
        requirement: Requirement,
        binding: Binding,
        details: Sequence[Mapping[str, Any]],
    ) -> StepUp | None:
        """:meth:`check`, then consume a grant for exactly these details (single use).

        The session keeps what the OP granted (as it keeps the ID token's claims); the
        ledger decides, in one atomic operation, which request uses a grant: a copy of an
        old session, or two requests at once with the same one, find it spent."""
        step_up = self.check(session, requirement)
        if step_up is not None:
            return step_up
        now = self.clock()
        scope = self._scope()
        grants = [g for g in session.get(_GRANTS_KEY, []) if _live_grant(g, now, scope)]
        for grant in grants:
            try:
                match_details(grant["details"], list(details), registry=binding.registry)
            except (DetailsMismatch, RARError):
                continue
            used = self.ledger.consume(_GRANT_PREFIX + grant["id"], expires_at=grant["expires_at"])
            grants = [g for g in grants if g is not grant]
            if used is True:
                session[_GRANTS_KEY] = grants
                return None
        session[_GRANTS_KEY] = grants
        return StepUp(requirement.acr_values, requirement.max_age, "binding_required")

    def begin_flow(
        self,
        session: MutableMapping[str, Any],
        requirement: Requirement,
        *,
        method: str,
        url: str,
        form: Sequence[tuple[str, str]] = (),
        authorization_details: Sequence[Mapping[str, Any]] | None = None,
        binding: Binding | None = None,
    ) -> Flow[str]:
        """Remember the interrupted request and return the OP URL for the browser."""
        data = session.get(SESSION_KEY)
        hint = data.get("id_token") if isinstance(data, Mapping) else None
        claims = self.claims(session)
        request = self.rp.authorization_request(
            requirement,
            id_token_hint=hint if isinstance(hint, str) else None,
            authorization_details=authorization_details,
        )
        now = self.clock()
        action = PendingAction(
            request=request,
            binding=binding,
            method=method.upper(),
            path=safe_path(url),
            form=tuple(form) if method.upper() not in ("GET", "HEAD") else (),
            subject=str(claims["sub"]) if claims and "sub" in claims else None,
            created_at=now,
        )
        self.pending.put(request.state, action, expires_at=now + self.pending_ttl)
        # Bind the state to this browser too: a state from another browser is refused at the
        # callback even if it is still pending (login CSRF, RFC 6749 §10.12).
        states = [s for s in session.get(_STATES_KEY, []) if isinstance(s, str)]
        session[_STATES_KEY] = [*states[-(_MAX_OPEN_STATES - 1) :], request.state]
        url_out = yield from self.rp.begin_flow(request)
        return url_out

    def callback_flow(
        self, session: MutableMapping[str, Any], params: Mapping[str, object]
    ) -> Flow[Resume]:
        """Validate the callback, store the new claims, and say how to resume."""
        state = params.get("state")
        states = session.get(_STATES_KEY, [])
        if (
            not isinstance(state, str)
            or state.startswith(_FRESH_PREFIX)  # a freshness mark, never an authorization
            or not isinstance(states, list)
            or state not in states
        ):
            raise StateMismatch("this browser did not start this authorization request")
        session[_STATES_KEY] = [s for s in states if s != state]
        action = self.pending.take(state, now=self.clock())
        if action is None:
            raise StateMismatch("the authorization request is unknown, used or expired")
        tokens = yield from self.rp.finish_flow(
            params,
            action.request,
            expected_subject=action.subject,
            requested_at=action.created_at,
        )
        if action.request.authorization_details:
            binding = action.binding or Binding(lambda fields: ())
            binding.check_granted(
                tokens.authorization_details, action.request.authorization_details
            )
            scope = self._scope()
            grant = {
                "id": secrets.token_urlsafe(16),
                "details": [dict(d) for d in tokens.authorization_details],
                "expires_at": float(self.clock() + self.grant_ttl),
                "scope": scope,
            }
            grants = [
                g for g in session.get(_GRANTS_KEY, []) if _live_grant(g, self.clock(), scope)
            ]
            session[_GRANTS_KEY] = [*grants[-(_MAX_OPEN_STATES - 1) :], grant]
        stored: dict[str, Any] = {"claims": dict(tokens.claims), "id_token": tokens.id_token}
        if tokens.access_token is not None:
            stored["access_token"] = tokens.access_token
        if action.request.max_age == 0:
            mark_id = secrets.token_urlsafe(16)
            fresh_until = float(self.clock() + self.fresh_ttl)
            # Server-side and single-use: the session alone could be replayed (see above).
            self.pending.put(
                _FRESH_PREFIX + mark_id, replace(action, form=()), expires_at=fresh_until
            )
            stored["requested_at"] = float(action.created_at)
            stored["fresh_until"] = fresh_until
            stored["fresh_mark"] = mark_id
        session[SESSION_KEY] = stored
        if action.method in ("GET", "HEAD"):
            return Resume(redirect=action.path)
        return Resume(confirm_html=render_confirm_page(action))

    def require_flow(
        self,
        session: MutableMapping[str, Any],
        rule: Requirement | Decision,
        *,
        resume: str | Callable[[], str],
        details: Sequence[Mapping[str, Any]] | None = None,
        binding: Binding | None = None,
    ) -> Flow[Verdict]:
        """One action, in an app that decides in its own code (not a decorated route): may
        it run with this session, or where must the browser go first?

        ``rule`` is a :class:`Requirement` or the action policy's ``Decision``
        (:func:`stepauth.sdk.binding.resolve`: an exemption still needs a signed-in
        session; a bound decision needs ``details`` or ``binding``). ``details``: the
        ``authorization_details`` the app built for this action; the session must hold an
        unused grant for exactly them (:meth:`check_bound`). Short of that, the step-up
        begins and the callback brings the browser back to ``resume`` (a page of this
        site, by GET: the app shows the action again, never replays it; a callable is
        called only then, e.g. to store the pending action)."""
        bound = rule.bind if not isinstance(rule, Requirement) else True
        if binding is None and details is not None and bound:
            binding = Binding.fixed(details)
        requirement, binding = resolve(rule, binding)
        wanted = binding.for_action({}) if binding is not None else None
        if binding is not None and wanted is not None:
            step_up = self.check_bound(session, requirement, binding, wanted)
        else:
            step_up = self.check(session, requirement)
        if step_up is None:
            return Verdict(claims=dict(self.claims(session) or {}))
        location = yield from self.begin_flow(
            session,
            Requirement(step_up.acr_values or requirement.acr_values, step_up.max_age),
            method="GET",
            url=resume if isinstance(resume, str) else resume(),
            authorization_details=wanted,
            binding=binding,
        )
        return Verdict(location=location, reason=step_up.reason)

    def require(
        self,
        session: MutableMapping[str, Any],
        rule: Requirement | Decision,
        **kw: Any,
    ) -> Verdict:
        return self.rp.drive(self.require_flow(session, rule, **kw))

    async def arequire(
        self,
        session: MutableMapping[str, Any],
        rule: Requirement | Decision,
        **kw: Any,
    ) -> Verdict:
        return await self.rp.adrive(self.require_flow(session, rule, **kw))

    def begin(self, session: MutableMapping[str, Any], requirement: Requirement, **kw: Any) -> str:
        return self.rp.drive(self.begin_flow(session, requirement, **kw))

    async def abegin(
        self, session: MutableMapping[str, Any], requirement: Requirement, **kw: Any
    ) -> str:
        return await self.rp.adrive(self.begin_flow(session, requirement, **kw))

    def callback(self, session: MutableMapping[str, Any], params: Mapping[str, object]) -> Resume:
        return self.rp.drive(self.callback_flow(session, params))

    async def acallback(
        self, session: MutableMapping[str, Any], params: Mapping[str, object]
    ) -> Resume:
        return await self.rp.adrive(self.callback_flow(session, params))
