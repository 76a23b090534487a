"""Server-side sessions: the cookie carries an opaque id only (NIST 800-63B §5.1).

* Cookie ``stepauth_session`` (``__Host-stepauth_session`` when the issuer is https):
  ``HttpOnly``, ``SameSite=Lax``, ``Path=/``, ``Secure`` under https. Its lifetime is
  not trusted: the store enforces the idle and absolute limits (``config.sessions``).
* Every new authentication event rotates the id (:func:`record_event`): the old id stops
  working, so an id planted before sign-in is never adopted (session fixation, ASVS 3.2.1,
  ASVS 5.0 7.2.4). An id the store does not know is ignored, never created.
* Activity slides the idle limit (``touch_session``), at most once per
  :func:`touch_interval`.
* ``sid`` (OIDC Front/Back-Channel Logout) is the session's ``Session.sid``: random, kept
  across id rotations (so tokens before and after a step-up name one session), and the
  tag under which the session's codes and tokens are revoked at logout. ``sid_for`` (a
  digest of the id) stands in for sessions stored before ``sid`` existed.
* Ending a session (:func:`revoke_session`) first records the ``sid`` as ended for
  :data:`ENDED_SID_TTL` seconds, then revokes its items. The token endpoint checks that
  record after it stored what it issues (:func:`session_ended`), so a refresh or code
  exchange in flight while the session ends cannot leave a live token behind: either its
  items existed before the revocation (revoked), or it sees the record (refused).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import HTTPConnection
from starlette.responses import Response

from stepauth.provider.state import ProviderState
from stepauth.store import session_sid

if TYPE_CHECKING:
    from stepauth.store import Session, User

__all__ = [
    "ENDED_SID_KIND",
    "ENDED_SID_TTL",
    "clear_session_cookie",
    "cookie_name",
    "load_session",
    "record_event",
    "revoke_session",
    "session_ended",
    "set_session_cookie",
    "sid_for",
    "touch_interval",
]

COOKIE = "stepauth_session"
#: Store kind of the record that a session ``sid`` has ended.
ENDED_SID_KIND = "ended_sid"
#: Seconds that record lives: longer than any code or request in flight at the end.
ENDED_SID_TTL = 900.0


def _https(state: ProviderState) -> bool:
    return state.config.issuer.startswith("https://")


def cookie_name(state: ProviderState) -> str:
    """``__Host-`` prefixed under https: Secure, host-only, ``Path=/`` (RFC 6265bis §4.1.3.2)."""
    return f"__Host-{COOKIE}" if _https(state) else COOKIE


def set_session_cookie(response: Response, state: ProviderState, session_id: str) -> None:
    response.set_cookie(
        cookie_name(state),
        session_id,
        httponly=True,
        secure=_https(state),
        samesite="lax",
        path="/",
    )


def clear_session_cookie(response: Response, state: ProviderState) -> None:
    response.delete_cookie(
        cookie_name(state), path="/", secure=_https(state), httponly=True, samesite="lax"
    )


def sid_for(session_id: str) -> str:
    """The ``sid`` claim for a session id (a digest: the id itself never leaves the cookie)."""
    return session_sid(session_id)


async def load_session(
    request: HTTPConnection, state: ProviderState
) -> tuple[Session, User] | None:
    """The live session of this browser and its user, or ``None``.

    Expired (idle or absolute) sessions, unknown ids and sessions of disabled or deleted
    users all count as no session; the last two are deleted.
    """
    session_id = request.cookies.get(cookie_name(state))
    if not session_id:
        return None
    now = state.clock()
    session = await state.store.get_session(session_id, now=now)
    if session is None:
        return None
    user = await state.store.get_user(session.user_id)
    if user is None or user.disabled:
        await state.store.delete_session(session.id)
        return None
    if now - session.last_seen_at >= touch_interval(state.config.sessions.idle_timeout):
        await state.store.touch_session(session.id, now=now)
    return session, user


def touch_interval(idle_timeout: int) -> float:
    """How stale ``last_seen_at`` may get before activity slides the idle limit again.

    Skipping a touch only ever ends a session *earlier* (by at most this interval, a
    twentieth of the idle timeout and never over a minute), so the idle limit is never
    exceeded; it saves a database write on almost every request of an active session.
    """
    return min(60.0, idle_timeout / 20)


async def record_event(
    state: ProviderState,
    *,
    current: Session | None,
    user_id: str,
    event: Mapping[str, Any],
) -> Session:
    """Append one authentication event, always under a NEW session id.

    The current session is rotated only when it belongs to the same user; a different
    user starts a fresh session and the other one is ended.
    """
    now = state.clock()
    limits = state.config.sessions
    if current is not None and current.user_id == user_id:
        rotated = await state.store.rotate_session(current.id, append_events=[event], now=now)
        if rotated is not None:
            return rotated
    if current is not None:
        await state.store.delete_session(current.id)
    return await state.store.create_session(
        user_id,
        [event],
        now=now,
        idle_timeout=limits.idle_timeout,
        absolute_timeout=limits.absolute_timeout,
    )


async def revoke_session(state: ProviderState, sid: str) -> None:
    """Record ``sid`` as ended, then revoke every code and token issued under it."""
    now = state.clock()
    await state.store.put(ENDED_SID_KIND, sid, {}, expires_at=now + ENDED_SID_TTL)
    await state.store.revoke_session_items(sid)


async def session_ended(state: ProviderState, sid: str | None) -> bool:
    """Whether the session ``sid`` ended within :data:`ENDED_SID_TTL` (see the module doc)."""
    if not sid:
        return False
    return await state.store.get(ENDED_SID_KIND, sid, now=state.clock()) is not None
