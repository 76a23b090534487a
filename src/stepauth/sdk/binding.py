"""Transaction binding (RFC 9396): a step-up that authorizes one action, once.

A :class:`Binding` turns the action's fields (form or query) into ``authorization_details``.
The step-up request carries them (pushed with PAR when the OP offers it); the callback
accepts the grant only if the OP granted *exactly* those details
(:func:`stepauth.rar.match_details`: type-aware amounts, currency, IBAN, payee), and the
guarded action runs only if its own details match a grant that is then consumed - one
atomic pop in a server-side store, so replaying an old session cookie cannot bring a used
grant back (PSD2 RTS Art. 5(1)(d): any change invalidates the approval).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from stepauth.rar import DetailsMismatch, RARError, Registry, default_registry, match_details
from stepauth.sdk.errors import SDKError

__all__ = ["Binding", "BindingNotGranted", "GrantStore", "MemoryGrantStore"]

Details = Sequence[Mapping[str, Any]]


class BindingNotGranted(SDKError):
    """The OP did not grant the transaction's authorization_details (or changed them)."""

    error = "binding_not_granted"


@dataclass(frozen=True)
class Binding:
    """How a guarded action names its transaction as ``authorization_details``."""

    details: Callable[[Mapping[str, str]], Details]
    registry: Registry = field(default=default_registry)

    def for_action(self, fields: Mapping[str, str]) -> list[dict[str, Any]]:
        try:
            details = [dict(d) for d in self.details(fields)]
            self.registry.validate(details)
        except (RARError, KeyError, ValueError, TypeError) as exc:
            raise BindingNotGranted(
                f"the action's authorization_details are invalid: {exc}"
            ) from exc
        return details

    def check_granted(self, granted: object, requested: Details) -> None:
        """The OP's grant must be exactly the requested transaction (RFC 9396 §7)."""
        if not granted:
            raise BindingNotGranted("the OP returned no authorization_details for the transaction")
        try:
            match_details(granted, list(requested), registry=self.registry)
        except (DetailsMismatch, RARError) as exc:
            raise BindingNotGranted(f"the OP granted different details: {exc}") from exc


class GrantStore(Protocol):
    """Granted transactions by id. ``now`` (the app's clock) lets a shared store turn
    ``expires_at`` into a time to live."""

    def put(
        self, grant_id: str, details: Details, *, expires_at: float, now: float | None = None
    ) -> None: ...

    def take_matching(
        self, grant_ids: Sequence[str], details: Details, binding: Binding, *, now: float
    ) -> str | None: ...


class MemoryGrantStore:
    """Process-local transaction grants; ``take_matching`` is one atomic check-and-pop.

    Several instances share :class:`stepauth.sdk.redis_stores.RedisGrantStore`.
    """

    def __init__(self) -> None:
        self._items: dict[str, tuple[list[dict[str, Any]], float]] = {}
        self._lock = threading.Lock()

    def put(
        self, grant_id: str, details: Details, *, expires_at: float, now: float | None = None
    ) -> None:
        with self._lock:
            self._items[grant_id] = ([dict(d) for d in details], expires_at)

    def take_matching(
        self, grant_ids: Sequence[str], details: Details, binding: Binding, *, now: float
    ) -> str | None:
        with self._lock:
            for grant_id in grant_ids:
                item = self._items.get(grant_id)
                if item is None or item[1] <= now:
                    continue
                try:
                    match_details(item[0], list(details), registry=binding.registry)
                except (DetailsMismatch, RARError):
                    continue
                del self._items[grant_id]
                return grant_id
        return None
