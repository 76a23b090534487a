"""The answer to a request whose transaction-bound action must not run (RFC 9396 §9).

:class:`TransactionRefusal` is what :class:`~stepauth.sdk.transaction.TransactionGuard` and
:class:`~stepauth.sdk.transaction.SyncTransactionGuard` turn a failed check into, and what
the framework adapters answer with: a status, an OAuth error, its description and the
headers (the RFC 6750 §3 or RFC 9449 §7.1 challenge of a ``401``, ``Cache-Control:
no-store``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from stepauth.assurance import build_challenge

__all__ = ["TransactionRefusal"]


@dataclass(frozen=True)
class TransactionRefusal:
    """The answer to a request whose bound action must not run: ``401`` without a
    validated token (or for an expired one), ``400`` for an unreadable action, ``403`` for a
    failed binding; never cached (``Cache-Control: no-store``).

    A ``401`` challenges in the scheme the request used: ``Bearer error="invalid_token"``
    (RFC 6750 §3), or, with ``dpop_algs`` (a DPoP request, or DPoP required),
    ``DPoP error="invalid_token", algs="..."`` (RFC 9449 §7.1)."""

    status: int
    error: str
    description: str
    dpop_algs: tuple[str, ...] | None = None

    def body(self) -> str:
        return json.dumps({"error": self.error, "error_description": self.description})

    def headers(self) -> dict[str, str]:
        headers = {"Cache-Control": "no-store"}
        if self.status == 401:
            if self.dpop_algs is not None:
                algs = {"algs": " ".join(self.dpop_algs)}
                headers["WWW-Authenticate"] = build_challenge(
                    error=self.error, scheme="DPoP", params=algs
                )
            else:
                headers["WWW-Authenticate"] = f'Bearer error="{self.error}"'
        return headers
