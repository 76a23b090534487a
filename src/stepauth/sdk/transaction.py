"""Transaction-bound access tokens at the resource server (RFC 9396 §9, PSD2 RTS Art. 5).

A step-up bound to a transaction yields an access token that carries the granted
``authorization_details`` and a ``txn`` id (RFC 9396 §7, §9, §9.1, §9.2). Before executing the
action, the resource server calls::

    bound = await require_transaction(details, claims=claims, ledger=ledger, now=time.time())

which passes only if

1. the token carries ``authorization_details`` and a ``txn`` (a token without them never
   authorizes a bound action: fail closed, :class:`TransactionMissing`);
2. the action's details equal the granted ones, type-aware (:func:`stepauth.rar.match_details`:
   amounts as decimals, currency, normalised IBAN, payee, batch entries in order), so any
   change of amount or payee invalidates the approval (RFC 9396 §9; ASVS 5.0 10.3.2;
   PSD2 RTS Art. 5(1)(c)-(d); :class:`TransactionMismatch` names the first difference);
3. the ``txn`` has not been used: the ledger's ``consume`` records it in ONE atomic
   operation, so of two concurrent uses exactly one wins (:class:`TransactionReplayed`).

The details are compared before the ``txn`` is consumed: a tampered request does not burn
the approval of the genuine one. Validating the token's signature, issuer, audience, expiry
and ``acr`` stays the job of :func:`~stepauth.sdk.validate_access_token` /
:class:`~stepauth.sdk.ResourceServer`; ``claims`` are their output.

Sync frameworks (Flask, Django) call :func:`require_transaction_sync` with a
:class:`~stepauth.sdk.ledger.SyncLedger`; both share :func:`check_transaction`, the
checks without I/O. Their adapters share :meth:`SyncTransactionGuard.check_request` (and
:meth:`TransactionGuard.check_request`), which turn a failure into the
:class:`~stepauth.sdk.transaction_refusal.TransactionRefusal` they answer with.

Ledgers (:mod:`stepauth.sdk.ledger`, the SDK's one consume-once protocol):
:class:`~stepauth.sdk.ledger.MemoryLedger` (one process),
:class:`~stepauth.sdk.sql_ledger.SQLLedger` (SQLite / PostgreSQL, ``INSERT … ON CONFLICT DO
NOTHING RETURNING``) and :class:`~stepauth.sdk.redis_stores.RedisLedger` (``SET … NX PX``),
and their sync twins ``SyncSQLLedger`` / ``SyncRedisLedger``. A
used ``txn`` is remembered until the token can no longer be accepted (``exp`` + leeway +
:data:`RETAIN_MARGIN`).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypedDict, TypeVar

from stepauth.rar import DetailsMismatch, RARError, Registry, default_registry, match_details
from stepauth.sdk.dpop import DPOP_ALGS
from stepauth.sdk.errors import (
    MissingClaim,
    SDKError,
    TokenExpired,
    TransactionError,
    TransactionMismatch,
    TransactionMissing,
    TransactionReplayed,
    TransactionUnavailable,
)
from stepauth.sdk.ledger import AnyLedger, SyncLedger, consume
from stepauth.sdk.transaction_refusal import TransactionRefusal

__all__ = [
    "RETAIN_MARGIN",
    "TXN_MAX_LENGTH",
    "BoundTransaction",
    "CheckedTransaction",
    "GuardSettings",
    "SyncTransactionGuard",
    "TransactionError",
    "TransactionGuard",
    "TransactionMismatch",
    "TransactionMissing",
    "TransactionRefusal",
    "TransactionReplayed",
    "TransactionUnavailable",
    "check_transaction",
    "require_transaction",
    "require_transaction_sync",
]

#: Seconds a used ``txn`` is kept beyond the token's ``exp`` + leeway (clock skew between
#: resource-server instances).
RETAIN_MARGIN = 300.0
#: Longest ``txn`` accepted (the Provider issues 22 characters).
TXN_MAX_LENGTH = 256


@dataclass(frozen=True)
class BoundTransaction:
    """A transaction the token authorized and that has now been consumed."""

    txn: str
    authorization_details: tuple[dict[str, Any], ...]
    claims: Mapping[str, Any] = field(repr=False)


def _granted(claims: Mapping[str, Any]) -> Any:
    granted = claims.get("authorization_details")
    if granted is None or granted == []:
        raise TransactionMissing(
            "the token carries no authorization_details: it does not authorize a bound action"
        )
    return granted


def _txn(claims: Mapping[str, Any]) -> str:
    txn = claims.get("txn")
    if not isinstance(txn, str) or not txn:
        raise TransactionMissing("the token carries no txn: it does not authorize a bound action")
    if len(txn) > TXN_MAX_LENGTH or not txn.isprintable():
        raise TransactionMissing(f"the token's txn is not an id of at most {TXN_MAX_LENGTH} chars")
    return txn


def _retain_until(claims: Mapping[str, Any], *, now: float, leeway: float) -> float:
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise MissingClaim("the access token has no numeric exp")
    if now >= exp + leeway:
        raise TokenExpired("the access token has expired")
    return float(exp) + leeway + RETAIN_MARGIN


@dataclass(frozen=True)
class CheckedTransaction:
    """The token's grant matches the action; what is left is to consume ``txn``."""

    txn: str
    expires_at: float
    authorization_details: tuple[dict[str, Any], ...]


def check_transaction(
    details: Sequence[Mapping[str, Any]],
    *,
    claims: Mapping[str, Any],
    now: float,
    registry: Registry = default_registry,
    leeway: float = 30,
) -> CheckedTransaction:
    """Steps 1-2 of :func:`require_transaction`, no I/O: the shared core of the sync and
    async guards. Raises :class:`TransactionMissing`, :class:`TransactionMismatch` or
    :class:`~stepauth.sdk.errors.TokenExpired`; consumes nothing."""
    granted = _granted(claims)
    txn = _txn(claims)
    try:
        match_details(granted, details, registry=registry)
    except DetailsMismatch as exc:
        raise TransactionMismatch(
            f"the action differs from the approved transaction: {exc.description}", reason=exc
        ) from exc
    except RARError as exc:  # the grant itself is unreadable for this registry
        raise TransactionMismatch(
            f"the token's authorization_details cannot be checked: {exc.description}", reason=exc
        ) from exc
    except (TypeError, AttributeError, ValueError) as exc:  # details not shaped like JSON
        reason = DetailsMismatch(f"the action's authorization_details are malformed: {exc}")
        raise TransactionMismatch(reason.description, reason=reason) from exc
    expires_at = _retain_until(claims, now=now, leeway=leeway)
    return CheckedTransaction(txn, expires_at, registry.validate(granted))


def _consume_sync(ledger: SyncLedger, checked: CheckedTransaction) -> bool:
    """``ledger.consume`` from sync code; an async ledger here is refused, never trusted (its
    unawaited answer would read as a first use)."""
    won = ledger.consume(checked.txn, expires_at=checked.expires_at)
    if inspect.isawaitable(won):
        close = getattr(won, "close", None)
        if callable(close):
            close()
        raise TransactionUnavailable("the txn ledger is not a sync one: the action cannot run")
    return won is True


def _consumed(
    checked: CheckedTransaction, won: bool, claims: Mapping[str, Any]
) -> BoundTransaction:
    if won is not True:
        raise TransactionReplayed(
            "this transaction has already been executed: the approval is single-use",
            txn=checked.txn,
        )
    return BoundTransaction(
        txn=checked.txn, authorization_details=checked.authorization_details, claims=claims
    )


async def require_transaction(
    details: Sequence[Mapping[str, Any]],
    *,
    claims: Mapping[str, Any],
    ledger: AnyLedger,
    now: float,
    registry: Registry = default_registry,
    leeway: float = 30,
) -> BoundTransaction:
    """Let the action described by ``details`` run once under the token's ``claims``.

    ``details`` are the ``authorization_details`` the action is about to execute, built
    from the request (amounts may be strings, ints or Decimals). Raises
    :class:`TransactionMissing`, :class:`TransactionMismatch` or :class:`TransactionReplayed`
    (and :class:`~stepauth.sdk.errors.TokenExpired` for a token past ``exp``); returns the
    consumed :class:`BoundTransaction` otherwise. RFC 9396 §9.1 / ASVS 5.0 10.3.2.
    """
    checked = check_transaction(details, claims=claims, now=now, registry=registry, leeway=leeway)
    won = await consume(ledger, checked.txn, expires_at=checked.expires_at)
    return _consumed(checked, won, claims)


def require_transaction_sync(
    details: Sequence[Mapping[str, Any]],
    *,
    claims: Mapping[str, Any],
    ledger: SyncLedger,
    now: float,
    registry: Registry = default_registry,
    leeway: float = 30,
) -> BoundTransaction:
    """:func:`require_transaction` for sync frameworks (Flask, Django), same checks and
    order, with a :class:`~stepauth.sdk.ledger.SyncLedger`."""
    checked = check_transaction(details, claims=claims, now=now, registry=registry, leeway=leeway)
    return _consumed(checked, _consume_sync(ledger, checked), claims)


def _unreadable(exc: Exception) -> TransactionRefusal:
    return TransactionRefusal(400, "invalid_request", f"the action cannot be read: {exc}")


_LedgerT = TypeVar("_LedgerT", AnyLedger, SyncLedger)


class GuardSettings(TypedDict, total=False):
    """The settings a framework adapter passes through to its guard (see ``_Guard``)."""

    registry: Registry
    leeway: float
    clock: Callable[[], float]
    dpop_algs: Sequence[str]
    require_dpop: bool


class _Guard(Generic[_LedgerT]):
    """What the async and sync guards share: the ledger, the settings and the checks."""

    def __init__(
        self,
        ledger: _LedgerT,
        *,
        registry: Registry = default_registry,
        leeway: float = 30,
        clock: Callable[[], float] = time.time,
        dpop_algs: Sequence[str] = DPOP_ALGS,
        require_dpop: bool = False,
    ) -> None:
        """``dpop_algs`` are announced in the DPoP challenge of a ``401`` (RFC 9449 §7.1:
        the resource server's accepted proof algorithms); ``require_dpop`` answers every
        ``401`` in the DPoP scheme, as a resource server that accepts only DPoP does."""
        self.ledger: _LedgerT = ledger
        self.registry = registry
        self.leeway = leeway
        self.clock = clock
        self.dpop_algs = tuple(dpop_algs)
        self.require_dpop = require_dpop

    def _challenge_algs(self, authorization: str | None) -> tuple[str, ...] | None:
        """The algorithms of a DPoP challenge when the request used the DPoP scheme (or
        DPoP is required), else ``None`` for a Bearer one."""
        scheme = (authorization or "").partition(" ")[0].lower()
        return self.dpop_algs if self.require_dpop or scheme == "dpop" else None

    def _check(
        self, details: Sequence[Mapping[str, Any]], claims: Mapping[str, Any], now: float | None
    ) -> CheckedTransaction:
        return check_transaction(
            details,
            claims=claims,
            now=self.clock() if now is None else now,
            registry=self.registry,
            leeway=self.leeway,
        )

    def _refusal(
        self,
        claims: Mapping[str, Any] | None,
        details: Callable[[], Any],
        authorization: str | None,
    ) -> TransactionRefusal | Any:
        """The refusal for a request without claims or whose action cannot be read, else
        what ``details()`` returned (called only once a token is there)."""
        if claims is None:
            return TransactionRefusal(
                401,
                "invalid_token",
                "no validated access token for this action",
                self._challenge_algs(authorization),
            )
        try:
            return details()
        except (KeyError, TypeError, ValueError) as exc:
            return _unreadable(exc)

    def _refused(self, exc: SDKError, authorization: str | None) -> TransactionRefusal:
        if isinstance(exc, TransactionError):
            return TransactionRefusal(403, exc.error, exc.description)
        # An expired token, or one without exp.
        algs = self._challenge_algs(authorization)
        return TransactionRefusal(401, "invalid_token", exc.description, algs)


class TransactionGuard(_Guard[AnyLedger]):
    """:func:`require_transaction` with its ledger (async or sync) and settings bound, for
    the async adapters."""

    async def check(
        self,
        details: Sequence[Mapping[str, Any]],
        claims: Mapping[str, Any],
        *,
        now: float | None = None,
    ) -> BoundTransaction:
        checked = self._check(details, claims, now)
        won = await consume(self.ledger, checked.txn, expires_at=checked.expires_at)
        return _consumed(checked, won, claims)

    async def check_request(
        self,
        claims: Mapping[str, Any] | None,
        details: Callable[[], Sequence[Mapping[str, Any]] | Awaitable[Sequence[Mapping[str, Any]]]],
        *,
        authorization: str | None = None,
    ) -> BoundTransaction | TransactionRefusal:
        """:meth:`SyncTransactionGuard.check_request` for async adapters (``details`` may be
        a coroutine function)."""
        action = self._refusal(claims, details, authorization)
        if inspect.isawaitable(action):
            try:
                action = await action
            except (KeyError, TypeError, ValueError) as exc:
                return _unreadable(exc)
        if isinstance(action, TransactionRefusal):
            return action
        assert claims is not None
        try:
            return await self.check(action, claims)
        except SDKError as exc:
            return self._refused(exc, authorization)


class SyncTransactionGuard(_Guard[SyncLedger]):
    """:func:`require_transaction_sync` with its ledger and settings bound, for adapters."""

    def check(
        self,
        details: Sequence[Mapping[str, Any]],
        claims: Mapping[str, Any],
        *,
        now: float | None = None,
    ) -> BoundTransaction:
        checked = self._check(details, claims, now)
        return _consumed(checked, _consume_sync(self.ledger, checked), claims)

    def check_request(
        self,
        claims: Mapping[str, Any] | None,
        details: Callable[[], Sequence[Mapping[str, Any]]],
        *,
        authorization: str | None = None,
    ) -> BoundTransaction | TransactionRefusal:
        """:meth:`check` for a framework adapter: ``claims`` validated from the request
        (``None`` when there are none) and ``details`` read from it only once a token is
        there; the consumed transaction, or the refusal to answer with (fail closed).
        ``authorization`` (the request's header) picks the scheme of a ``401``."""
        action = self._refusal(claims, details, authorization)
        if isinstance(action, TransactionRefusal):
            return action
        assert claims is not None
        try:
            return self.check(action, claims)
        except SDKError as exc:
            return self._refused(exc, authorization)
