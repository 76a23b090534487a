"""Django: run a bound action only once, and only as approved (RFC 9396 §9, RAR-14).

::

    ledger = SyncRedisTxnLedger.from_url("redis://…")        # or SyncSQLTxnLedger.from_url
    bound_payment = DjangoTransactionGuard(ledger, details=payment_from_request)

    @require("phr")                   # stepauth.sdk.django: token → request.stepauth_claims
    @bound_payment
    def transfer(request):
        bound = request.stepauth_transaction  # its txn was consumed; execute exactly this

Sync and async views alike (an async view runs the guard through ``sync_to_async``: the
ledger call is blocking I/O). The checks are
:func:`stepauth.sdk.transaction.require_transaction_sync`, shared with the Flask and
Starlette guards: details compared first, then the ``txn`` consumed in one atomic ledger
operation. A failed binding answers ``403`` (``transaction_missing``,
``transaction_mismatch``, ``transaction_replayed``, ``Cache-Control: no-store``); no validated
claims at all answers ``401``: fail closed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse

from stepauth.rar import Registry, default_registry
from stepauth.sdk.transaction import SyncTransactionGuard, SyncTxnLedger, TransactionRefusal

__all__ = ["DjangoTransactionGuard"]

F = TypeVar("F", bound=Callable[..., Any])
Details = Sequence[Mapping[str, Any]]


def _request_claims(request: HttpRequest) -> Mapping[str, Any] | None:
    claims = getattr(request, "stepauth_claims", None)
    return claims if isinstance(claims, Mapping) else None


class DjangoTransactionGuard:
    """A view decorator that consumes the token's ``txn`` if ``details`` are what was
    approved; the :class:`~stepauth.sdk.transaction.BoundTransaction` is on
    ``request.stepauth_transaction``."""

    def __init__(
        self,
        ledger: SyncTxnLedger,
        *,
        details: Callable[[HttpRequest], Details],
        claims: Callable[[HttpRequest], Mapping[str, Any] | None] = _request_claims,
        registry: Registry = default_registry,
        leeway: float = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.guard = SyncTransactionGuard(ledger, registry=registry, leeway=leeway, clock=clock)
        self.details = details
        self.claims = claims

    def check(self, request: HttpRequest) -> HttpResponse | None:
        """``None`` when the view may run (the transaction is consumed), else the answer."""
        outcome = self.guard.check_request(self.claims(request), lambda: self.details(request))
        if isinstance(outcome, TransactionRefusal):
            response = HttpResponse(
                outcome.body(), status=outcome.status, content_type="application/json"
            )
            for name, value in outcome.headers().items():
                response[name] = value
            return response
        request.stepauth_transaction = outcome  # type: ignore[attr-defined]
        return None

    def __call__(self, view: F) -> F:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                refused = await sync_to_async(self.check)(request)
                if refused is not None:
                    return refused
                return await view(request, *args, **kwargs)

            return markcoroutinefunction(async_wrapper)  # type: ignore[return-value]

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            refused = self.check(request)
            if refused is not None:
                return refused
            return view(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]
