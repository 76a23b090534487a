"""What the browser flow answers: a :class:`Verdict` for a guarded action (run it, or go to
the OP) and, after the callback, a :class:`Resume` (where the interrupted action goes on).

Plain frozen data, shared by :mod:`stepauth.sdk.browser` and the web adapters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Resume", "Verdict"]


@dataclass(frozen=True)
class Resume:
    """Where the browser goes after a successful callback."""

    redirect: str | None = None
    confirm_html: str | None = None


@dataclass(frozen=True)
class Verdict:
    """The answer of :meth:`BrowserStepUp.require`: ``claims`` when the action may run,
    else ``location``, where to send the browser (the OP), and why (``reason``)."""

    claims: Mapping[str, Any] | None = None
    location: str | None = None
    reason: str | None = None
