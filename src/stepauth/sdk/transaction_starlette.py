"""Starlette / FastAPI: run a bound action only once, and only as approved (RFC 9396 §9).

::

    ledger = SQLTxnLedger.from_url("postgresql+psycopg://…")     # or RedisTxnLedger.from_url
    guard = transaction_guard(ledger, claims=require("phr"), details=payment_from_request)

    @app.post("/transfers")
    async def transfer(bound: BoundTransaction = Depends(guard)):
        ...                                   # bound.txn was consumed; execute exactly this

    async def endpoint(request):              # plain Starlette
        bound = await guard(request)          # raises HTTPException(403) on failure

``claims`` turns the request into validated access-token claims — a
:func:`stepauth.sdk.starlette.require` dependency does (its 401 challenge passes through);
``details`` builds the ``authorization_details`` the endpoint is about to execute from the
request (sync or async; JSON bodies are cached by Starlette, the endpoint can read them again).
A failed binding answers ``403`` with ``transaction_missing``, ``transaction_mismatch`` or
``transaction_replayed`` and the reason (a step-up cannot fix a tampered or spent approval; the
client must start a new bound step-up).
"""

# No ``from __future__ import annotations``: FastAPI reads ``__call__``'s annotations.

import inspect
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from stepauth.rar import Registry, default_registry
from stepauth.sdk.transaction import (
    BoundTransaction,
    TransactionError,
    TransactionGuard,
    TxnLedger,
)

__all__ = ["TransactionDependency", "transaction_guard"]

Details = Sequence[Mapping[str, Any]]
DetailsFrom = Callable[[Request], Details | Awaitable[Details]]
ClaimsFrom = Callable[[Request], Awaitable[Mapping[str, Any]]]


class TransactionDependency:
    """``Depends(guard)`` → the consumed :class:`BoundTransaction`, or ``HTTPException(403)``."""

    def __init__(self, guard: TransactionGuard, *, claims: ClaimsFrom, details: DetailsFrom):
        self.guard = guard
        self.claims = claims
        self.details = details

    async def __call__(self, request: Request) -> BoundTransaction:
        claims = await self.claims(request)
        built = self.details(request)
        details: Details = await built if inspect.isawaitable(built) else built
        try:
            return await self.guard.check(details, claims)
        except TransactionError as exc:
            raise HTTPException(
                403, detail=f"{exc.error}: {exc.description}", headers={"Cache-Control": "no-store"}
            ) from exc


def transaction_guard(
    ledger: TxnLedger,
    *,
    claims: ClaimsFrom,
    details: DetailsFrom,
    registry: Registry = default_registry,
    leeway: float = 30,
    clock: Callable[[], float] = time.time,
) -> TransactionDependency:
    """A dependency that consumes the token's ``txn`` if ``details`` are what was approved."""
    return TransactionDependency(
        TransactionGuard(ledger, registry=registry, leeway=leeway, clock=clock),
        claims=claims,
        details=details,
    )
