"""Pending actions: what a browser was trying to do when it was sent to step up.

A record is keyed by the authorization request's ``state``, lives a few minutes and is
taken **once** (:meth:`PendingStore.take` is an atomic pop), so a callback can be used only
once and a stale or forged ``state`` finds nothing. A POST is never replayed: its form
fields come back in a confirmation page the user must submit (:func:`render_confirm_page`).
"""

from __future__ import annotations

import html
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from stepauth.sdk.authorize import AuthorizationRequest

if TYPE_CHECKING:
    from stepauth.sdk.binding import Binding

__all__ = [
    "MemoryPendingStore",
    "PendingAction",
    "PendingStore",
    "render_confirm_page",
    "safe_path",
]


@dataclass(frozen=True)
class PendingAction:
    """One interrupted request."""

    request: AuthorizationRequest
    method: str
    path: str  # path and query only: never an absolute URL (no open redirect)
    form: tuple[tuple[str, str], ...]
    subject: str | None
    created_at: float
    binding: Binding | None = None


class PendingStore(Protocol):
    def put(self, state: str, action: PendingAction, *, expires_at: float) -> None: ...

    def take(self, state: str, *, now: float) -> PendingAction | None: ...


class MemoryPendingStore:
    """Process-local store (one worker, or sticky sessions); several instances share
    :class:`stepauth.sdk.redis_stores.RedisPendingStore`."""

    def __init__(self, max_items: int = 10_000) -> None:
        self._items: dict[str, tuple[PendingAction, float]] = {}
        self._lock = threading.Lock()
        self._max = max_items

    def put(self, state: str, action: PendingAction, *, expires_at: float) -> None:
        with self._lock:
            if len(self._items) >= self._max:
                now = action.created_at
                self._items = {k: v for k, v in self._items.items() if v[1] > now}
                if len(self._items) >= self._max:
                    self._items.pop(next(iter(self._items)))
            self._items[state] = (action, expires_at)

    def take(self, state: str, *, now: float) -> PendingAction | None:
        with self._lock:  # one atomic pop: a second take of the same state finds nothing
            item = self._items.pop(state, None)
        if item is None or item[1] <= now:
            return None
        return item[0]


def safe_path(url: str) -> str:
    """Keep only path and query of ``url`` so a resume can never leave this site."""
    parts = urlsplit(url)
    path = parts.path if parts.path.startswith("/") else "/"
    if path.startswith(("//", "/\\")) or "\\" in path[:2]:
        path = "/"  # browsers read "//host" and "/\\host" as another site
    return path + (f"?{parts.query}" if parts.query else "")


def render_confirm_page(action: PendingAction, *, title: str = "Confirm your action") -> str:
    """An HTML page re-posting the original form only when the user presses Confirm."""
    fields: Sequence[str] = [
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in action.form
    ]
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in action.form
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        "<p>You have verified your identity. Submit the action below to continue.</p>"
        f"<table>{rows}</table>"
        f'<form method="post" action="{html.escape(action.path)}">{"".join(fields)}'
        '<button type="submit">Confirm</button></form>'
        '<p><a href="/">Cancel</a></p></body></html>'
    )
