"""Flask: run a bound action only once, and only as approved (RFC 9396 §9, RAR-14).

::

    ledger = SyncRedisTxnLedger.from_url("redis://…")        # or SyncSQLTxnLedger.from_url
    guard = FlaskTransactionGuard(ledger, details=payment_from_request)

    @app.post("/transfers")
    @stepauth.require("phr")          # FlaskStepAuth: validates the token → g.stepauth_claims
    @guard
    def transfer():
        bound = flask.g.stepauth_transaction    # its txn was consumed; execute exactly this

``details`` builds the ``authorization_details`` the view is about to execute from
:data:`flask.request`; ``claims`` (default: ``flask.g.stepauth_claims``, set by
:meth:`stepauth.sdk.flask.FlaskStepAuth.require`) returns the validated access-token claims.
The checks are :func:`stepauth.sdk.transaction.require_transaction_sync`, the same as the
Starlette guard's: the details are compared first, then the ``txn`` is consumed in one
atomic ledger operation, so of two concurrent uses exactly one runs the view.

A failed binding answers ``403`` (``transaction_missing``, ``transaction_mismatch``,
``transaction_replayed`` and the reason, ``Cache-Control: no-store``): a step-up cannot fix a
tampered or spent approval, the client must start a new bound step-up. No validated claims
at all (the guard is not under ``require``) answers ``401``: fail closed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import flask

from stepauth.rar import Registry, default_registry
from stepauth.sdk.transaction import SyncTransactionGuard, SyncTxnLedger, TransactionRefusal

__all__ = ["FlaskTransactionGuard"]

F = TypeVar("F", bound=Callable[..., Any])
Details = Sequence[Mapping[str, Any]]


def _g_claims() -> Mapping[str, Any] | None:
    claims = getattr(flask.g, "stepauth_claims", None)
    return claims if isinstance(claims, Mapping) else None


class FlaskTransactionGuard:
    """A view decorator that consumes the token's ``txn`` if ``details`` are what was
    approved; the :class:`~stepauth.sdk.transaction.BoundTransaction` is on
    ``flask.g.stepauth_transaction``."""

    def __init__(
        self,
        ledger: SyncTxnLedger,
        *,
        details: Callable[[flask.Request], Details],
        claims: Callable[[], Mapping[str, Any] | None] = _g_claims,
        registry: Registry = default_registry,
        leeway: float = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.guard = SyncTransactionGuard(ledger, registry=registry, leeway=leeway, clock=clock)
        self.details = details
        self.claims = claims

    def check(self) -> flask.Response | None:
        """``None`` when the view may run (the transaction is consumed), else the answer."""
        outcome = self.guard.check_request(self.claims(), lambda: self.details(flask.request))
        if isinstance(outcome, TransactionRefusal):
            return flask.Response(
                outcome.body(),
                status=outcome.status,
                mimetype="application/json",
                headers=outcome.headers(),
            )
        flask.g.stepauth_transaction = outcome
        return None

    def __call__(self, view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            refused = self.check()
            if refused is not None:
                return refused
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]
