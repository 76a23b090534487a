"""Server-side sessions for Acme Bank: the ``acme_session`` cookie carries an opaque id.

The session data (the validated ID-token claims, open step-up states, transaction grants)
stays in this process's memory: acceptable for the demo only, which runs one worker. A real
deployment keeps it in a shared store. The cookie name differs from the Provider's
``stepauth_session``: both apps run on ``localhost`` (cookies ignore the port), so equal
names would overwrite each other.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["COOKIE", "MemorySessions", "SessionMiddleware"]

COOKIE = "acme_session"


class MemorySessions:
    """Session dicts by id, with an idle timeout."""

    def __init__(
        self,
        *,
        idle_timeout: float = 1800,
        max_items: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._items: dict[str, tuple[dict[str, Any], float]] = {}
        self.max_items = max_items
        self._lock = threading.Lock()
        self.idle_timeout = idle_timeout
        self.clock = clock

    def load(self, session_id: str | None) -> dict[str, Any] | None:
        if not session_id:
            return None
        now = self.clock()
        with self._lock:
            item = self._items.get(session_id)
            if item is None or item[1] <= now:
                self._items.pop(session_id, None)
                return None
            return item[0]

    def save(self, session_id: str, data: dict[str, Any]) -> None:
        now = self.clock()
        with self._lock:
            if len(self._items) >= self.max_items:
                self._items = {k: v for k, v in self._items.items() if v[1] > now}
            self._items[session_id] = (data, now + self.idle_timeout)

    def drop(self, session_id: str) -> None:
        with self._lock:
            self._items.pop(session_id, None)


class SessionMiddleware:
    """Puts ``scope["session"]`` (a dict) in place, so ``request.session`` works."""

    def __init__(self, app: ASGIApp, *, sessions: MemorySessions) -> None:
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = SimpleCookie()
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                cookie.load(value.decode("latin-1"))
        morsel = cookie.get(COOKIE)
        session_id = morsel.value if morsel else None
        data = self.sessions.load(session_id)
        fresh = data is None
        scope["session"] = data if data is not None else {}

        async def send_with_cookie(message: Message) -> None:
            nonlocal session_id
            if message["type"] == "http.response.start":
                session = scope["session"]
                headers = MutableHeaders(scope=message)
                if session.pop("_logout", False) and session_id:
                    self.sessions.drop(session_id)
                    headers.append("set-cookie", f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly")
                elif session:
                    if session.pop("_rotate", False) and session_id:
                        # A new id after sign-in: a planted id never becomes a signed-in one.
                        self.sessions.drop(session_id)
                        session_id = None
                    if fresh or session_id is None:
                        session_id = secrets.token_urlsafe(32)
                        headers.append(
                            "set-cookie",
                            f"{COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Lax",
                        )
                    self.sessions.save(session_id, session)
            await send(message)

        await self.app(scope, receive, send_with_cookie)
