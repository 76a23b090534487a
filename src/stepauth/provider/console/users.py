"""The console's users: search, one user's factors and sessions, lock and sign-out.

* ``GET /admin/users?q=`` — users whose name contains ``q``;
* ``GET /admin/users/{id}`` — status, roles, factors (kind, name, creation, last use,
  hold; never a secret: no TOTP seed, no recovery code, no key material) and live
  sessions (their ``sid``, never the session id);
* ``POST /admin/users/{id}/lock`` / ``unlock`` — the user's durable ``disabled`` flag,
  which every sign-in path refuses (the password and passkey plug-ins, and
  :func:`stepauth.provider.sessions.load_session` for a session already open); locking
  also ends every session of the user;
* ``POST /admin/users/{id}/sessions/end`` — end every session of the user (and revoke
  what was issued in them, :func:`stepauth.provider.sessions.revoke_session`);
  ``POST /admin/users/{id}/sessions/{sid}/end`` — end that one session;
* ``POST /admin/users/{id}/factors/{factor_id}/confirm`` — end the hold of a factor on
  hold, as ``stepauth users confirm-factor`` does
  (:func:`stepauth.provider.factors.confirm.confirm_factor`): 404 for a factor of
  another user, 400 for one not on hold.

Each POST: CSRF, then an admin session, then a fresh ``phr``/``phrh`` step-up
(:mod:`stepauth.provider.console.access`), then the change, then its audit event
(:func:`stepauth.audit.admin_action`: the admin, the step-up's ``acr`` and ``auth_time``,
the state before and after).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stepauth.assurance import Assessment
from stepauth.errors import StepAuthError
from stepauth.provider.console.access import (
    Admin,
    admin_of,
    audit_change,
    form_of,
    fresh_step_up,
    reauth_url,
)
from stepauth.provider.console.render import render_console, timestamp
from stepauth.provider.errors import InvalidRequest
from stepauth.provider.factors.confirm import confirm_factor
from stepauth.provider.factors.hold import held_until, hold_text
from stepauth.provider.sessions import revoke_session
from stepauth.store import Factor, User

__all__ = [
    "NotFound",
    "confirm_hold",
    "end_session",
    "end_sessions",
    "lock",
    "unlock",
    "user_page",
    "users_page",
]

_KINDS = {"totp": "Authenticator app", "recovery": "Recovery codes", "oob": "Phone"}
_MAX_LISTED = 200
#: What the page says after a change (``?done=``; never text from the query itself).
DONE = {
    "locked": "Locked: this user cannot sign in, and their sessions have ended.",
    "unlocked": "Unlocked: this user can sign in again.",
    "signed-out": "Every session of this user has ended.",
    "session-ended": "That session has ended; the user's other sessions go on.",
    "confirmed": "Confirmed: the sign-in method is no longer on hold.",
}


class NotFound(InvalidRequest):
    """A factor or session the user does not have — 404."""

    status = 404


def _kind(factor: Factor) -> str:
    if factor.kind == "webauthn":
        return "Security key" if factor.data.get("type") == "security-key" else "Passkey"
    return _KINDS.get(factor.kind, factor.kind)


async def users_page(request: Request) -> Response:
    admin = await admin_of(request)
    if not isinstance(admin, Admin):
        return admin
    q = request.query_params.get("q", "").strip()[:255]
    found = [
        u for u in await admin.state.store.list_users() if q.casefold() in u.username.casefold()
    ]
    rows = [
        {
            "id": u.id,
            "username": u.username,
            "disabled": u.disabled,
            "created": timestamp(u.created_at),
        }
        for u in found[:_MAX_LISTED]
    ]
    return render_console(admin, "users.html", users=rows, q=q)


async def _target(admin: Admin, request: Request) -> User:
    user = await admin.state.store.get_user(request.path_params["user_id"])
    if user is None:
        raise InvalidRequest("no such user")
    return user


async def user_page(request: Request) -> Response:
    admin = await admin_of(request)
    if not isinstance(admin, Admin):
        return admin
    user = await _target(admin, request)
    store, now = admin.state.store, admin.state.clock()
    factors = [
        {
            "id": f.id,
            "kind": _kind(f),
            "label": f.label,
            "created": timestamp(f.created_at),
            "last_used": timestamp(f.last_used_at),
            "disabled": f.disabled,
            "hold": hold_text(f, now),
            "held": held_until(f, now) is not None,
        }
        for f in await store.list_factors(user.id)
    ]
    sessions = [
        {
            "sid": s.sid or "(unnamed)",
            "can_end": s.sid is not None,
            "created": timestamp(s.created_at),
            "last_seen": timestamp(s.last_seen_at),
            "methods": s.methods,
        }
        for s in await store.list_user_sessions(user.id, now=now)
    ]
    return render_console(
        admin,
        "user.html",
        user=user,
        roles=sorted(await store.user_roles(user.id)),
        created=timestamp(user.created_at),
        factors=factors,
        has_password=user.password_hash is not None,
        sessions=sessions,
        fresh=fresh_step_up(admin.state, admin.session) is not None,
        done=DONE.get(request.query_params.get("done", "")),
    )


async def _change(request: Request, reason: str) -> tuple[Admin, Assessment, User] | Response:
    """CSRF, the admin session, then the fresh step-up (else: 303 to ask for it, with
    ``reason`` shown on the page)."""
    await form_of(request)
    admin = await admin_of(request)
    if not isinstance(admin, Admin):
        return admin
    user = await _target(admin, request)
    stepup = fresh_step_up(admin.state, admin.session)
    if stepup is None:
        return RedirectResponse(
            reauth_url(f"/admin/users/{user.id}", reason=reason), status_code=303
        )
    return admin, stepup, user


async def _end_all(admin: Admin, user: User) -> int:
    sids = await admin.state.store.end_user_sessions(user.id)
    for sid in sids:  # and for requests in flight: the ended record, then revoke again
        await revoke_session(admin.state, sid)
    return len(sids)


def _back(user: User, done: str) -> Response:
    return RedirectResponse(f"/admin/users/{user.id}?done={done}", status_code=303)


async def lock(request: Request) -> Response:
    changed = await _change(request, "lock")
    if not isinstance(changed, tuple):
        return changed
    admin, stepup, user = changed
    if user.id == admin.user.id:
        raise InvalidRequest("an admin cannot lock themselves out")
    before = "locked" if user.disabled else "active"
    await admin.state.store.set_user_disabled(user.id, True)
    ended = await _end_all(admin, user)
    await audit_change(
        request, admin, stepup, user.id, "lock", before, f"locked, {ended} sessions ended"
    )
    return _back(user, "locked")


async def unlock(request: Request) -> Response:
    changed = await _change(request, "unlock")
    if not isinstance(changed, tuple):
        return changed
    admin, stepup, user = changed
    before = "locked" if user.disabled else "active"
    await admin.state.store.set_user_disabled(user.id, False)
    await audit_change(request, admin, stepup, user.id, "unlock", before, "active")
    return _back(user, "unlocked")


async def end_sessions(request: Request) -> Response:
    changed = await _change(request, "end_session")
    if not isinstance(changed, tuple):
        return changed
    admin, stepup, user = changed
    live = len(await admin.state.store.list_user_sessions(user.id, now=admin.state.clock()))
    ended = await _end_all(admin, user)
    await audit_change(
        request, admin, stepup, user.id, "end_sessions", f"{live} sessions", f"{ended} ended"
    )
    return _back(user, "signed-out")


async def end_session(request: Request) -> Response:
    """End the one session ``sid`` of the user (its tokens revoked), not the others."""
    changed = await _change(request, "end_session")
    if not isinstance(changed, tuple):
        return changed
    admin, stepup, user = changed
    sid = request.path_params["sid"]
    if not await admin.state.store.end_user_session(user.id, sid):
        raise NotFound("this user has no such session")
    await revoke_session(admin.state, sid)  # and for requests in flight: the ended record
    await audit_change(request, admin, stepup, user.id, "end_session", f"session {sid}", "ended")
    return _back(user, "session-ended")


async def confirm_hold(request: Request) -> Response:
    """End the hold of one factor of the user (NIST SP 800-63B-4 §4.2: the operator
    confirmed out of band that its owner added it)."""
    changed = await _change(request, "confirm_factor")
    if not isinstance(changed, tuple):
        return changed
    admin, stepup, user = changed
    state, now = admin.state, admin.state.clock()
    factor = await state.store.get_factor(request.path_params["factor_id"])
    if factor is None or factor.user_id != user.id:
        raise NotFound("this user has no such sign-in method")
    until = held_until(factor, now)
    if until is None:
        raise InvalidRequest("this sign-in method is not on hold")
    before = f"hold_until {timestamp(until)}, hold_reason {factor.data.get('hold_reason')}"
    try:
        await confirm_factor(
            state.store, user, factor.id, now=now, config=state.config, client_id="stepauth-console"
        )
    except StepAuthError as exc:  # its hold ended in between
        raise InvalidRequest("this sign-in method is not on hold") from exc
    await audit_change(request, admin, stepup, user.id, "confirm_factor", before, "none")
    return _back(user, "confirmed")
