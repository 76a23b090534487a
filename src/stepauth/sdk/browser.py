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
from dataclasses import dataclass, replace
from typing import Any

from stepauth.assurance import Requirement, StepUp
from stepauth.sdk._io import Flow
from stepauth.sdk.binding import Binding, GrantStore, MemoryGrantStore
from stepauth.sdk.errors import InsufficientAuthentication, StateMismatch
from stepauth.sdk.pending import (
    MemoryPendingStore,
    PendingAction,
    PendingStore,
    render_confirm_page,
    safe_path,
)
from stepauth.sdk.rp import RelyingParty

__all__ = ["SESSION_KEY", "BrowserStepUp", "Resume"]

SESSION_KEY = "stepauth"
_STATES_KEY = "stepauth_states"
_GRANTS_KEY = "stepauth_grants"
#: Key prefix of the one-shot "authenticate now" marks in the pending store (a ``state`` is
#: URL-safe base64, never containing ``:``).
_FRESH_PREFIX = "fresh:"
_FRESH_KEYS = ("requested_at", "fresh_until", "fresh_mark")
_MAX_OPEN_STATES = 5


@dataclass(frozen=True)
class Resume:
    """Where the browser goes after a successful callback."""

    redirect: str | None = None
    confirm_html: str | None = None


class BrowserStepUp:
    """Session check, redirect to the OP, callback and resume - no framework code."""

    def __init__(
        self,
        rp: RelyingParty,
        *,
        pending: PendingStore | None = None,
        pending_ttl: float = 600,
        grants: GrantStore | None = None,
        grant_ttl: float = 300,
        fresh_ttl: float = 120,
        callback_path: str = "/stepauth/callback",
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.rp = rp
        self.pending = pending or MemoryPendingStore()
        self.pending_ttl = pending_ttl
        self.grants = grants or MemoryGrantStore()
        self.grant_ttl = grant_ttl
        self.fresh_ttl = fresh_ttl
        self.callback_path = callback_path
        self.clock = clock or rp.clock

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
        """:meth:`check`, then consume a grant for exactly these details (single use)."""
        step_up = self.check(session, requirement)
        if step_up is not None:
            return step_up
        ids = [g for g in session.get(_GRANTS_KEY, []) if isinstance(g, str)]
        used = self.grants.take_matching(ids, details, binding, now=self.clock())
        if used is None:
            return StepUp(requirement.acr_values, requirement.max_age, "binding_required")
        session[_GRANTS_KEY] = [g for g in ids if g != used]
        return None

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
            grant_id = secrets.token_urlsafe(16)
            now = self.clock()
            self.grants.put(
                grant_id,
                tokens.authorization_details,
                expires_at=now + self.grant_ttl,
                now=now,
            )
            grants = [g for g in session.get(_GRANTS_KEY, []) if isinstance(g, str)]
            session[_GRANTS_KEY] = [*grants[-(_MAX_OPEN_STATES - 1) :], grant_id]
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
