"""Where the lower layers report what operators count, without importing the Provider.

The store (a Redis error it survived) and the audit log (an authentication attempt, the
OAuth client a request is for) call the functions here. :mod:`stepauth.provider.ops`
installs the receivers when it is imported: the Prometheus counters of the app serving
the request (:mod:`stepauth.provider.ops.metrics`) and the request's log context
(:mod:`stepauth.provider.ops.logs`). Until then, like outside a request, a report is
dropped: the store and the audit log work the same with or without a Provider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["attempt", "client_known", "install", "store_error"]


@dataclass
class _Receivers:
    store_error: Callable[[str], None] | None = None
    attempt: Callable[[str, str], None] | None = None
    client_known: Callable[[str | None], None] | None = None


_receivers = _Receivers()


def install(
    *,
    store_error: Callable[[str], None] | None = None,
    attempt: Callable[[str, str], None] | None = None,
    client_known: Callable[[str | None], None] | None = None,
) -> None:
    """Set the receivers given (each replaces the one before it)."""
    if store_error is not None:
        _receivers.store_error = store_error
    if attempt is not None:
        _receivers.attempt = attempt
    if client_known is not None:
        _receivers.client_known = client_known


def store_error(backend: str) -> None:
    """A store backend (``database`` or ``redis``) failed and the store carried on."""
    receiver = _receivers.store_error
    if receiver is not None:
        receiver(backend)


def attempt(factor: str, result: str) -> None:
    """One factor submission and its audited ``result``."""
    receiver = _receivers.attempt
    if receiver is not None:
        receiver(factor, result)


def client_known(client_id: str | None) -> None:
    """The OAuth client the current request is for, once it is known."""
    receiver = _receivers.client_known
    if receiver is not None:
        receiver(client_id)
