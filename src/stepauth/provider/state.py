"""The Provider's shared state, reached from any request.

Contract between the front channel (authorize, interaction, sessions) and the back
channel (token, userinfo, introspect, revoke, par, discovery, logout):

* ``ProviderState`` lives on ``app.state.stepauth``; endpoints read it with
  ``get_state(request)``. It holds ``config`` (``ProviderConfig``), ``store`` (``Store``),
  ``keys`` (``KeyRing``), ``clock`` (``() -> float`` epoch seconds, injectable for tests)
  ``ladder`` (the acr ``Ladder``: ``config.levels`` or ``DEFAULT_LADDER``) and
  ``factors`` (the factor plug-ins, :mod:`stepauth.provider.factors.base`) and ``trust``
  (an optional attestation :class:`~stepauth.provider.factors.webauthn.attestation.TrustStore`;
  without one no WebAuthn credential counts as hardware-bound) and ``sender`` (the
  :class:`~stepauth.provider.notices.Sender` of OOB codes and account notices; by default
  the development outbox) and ``friction`` (the in-memory count of requests a session
  answered, :class:`~stepauth.provider.friction.tally.SessionAnswers`, flushed by the
  lifespan).
* Authorization codes: the front channel stores
  ``store.put("code", sha256hex(code), record.to_payload(), expires_at=now +
  config.ttl.code, grant_id=grant_id, user_id=sub, sid=sid)`` with ``record`` an
  :class:`~stepauth.provider.records.AuthorizationCode` (see
  :func:`stepauth.provider.authorize.issue_code.code_payload`); the token endpoint reads it
  back with ``AuthorizationCode.from_payload``. ``sid`` is a stable
  per-login identifier (it survives session-id rotation), not the cookie value.
* PAR: the back channel stores ``store.put("par", request_uri, {"client_id": ...,
  "params": {...}}, expires_at=...)``; the front channel consumes it once with
  ``store.consume("par", request_uri, now=...)`` and checks the ``client_id``.
* Every endpoint module exposes ``routes: list[BaseRoute]``; ``create_app`` mounts them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from stepauth.provider.factors.base import FactorRegistry, default_factors
from stepauth.provider.friction.tally import SessionAnswers
from stepauth.provider.notices import OutboxSender, Sender

if TYPE_CHECKING:
    from stepauth.assurance import Ladder
    from stepauth.provider.config import ProviderConfig
    from stepauth.provider.factors.webauthn.attestation import TrustStore
    from stepauth.provider.keys import KeyRing
    from stepauth.store import Store

__all__ = ["ProviderState", "get_state"]


@dataclass
class ProviderState:
    """Everything a Provider endpoint needs; no process-local state beyond this."""

    config: ProviderConfig
    store: Store
    keys: KeyRing
    clock: Callable[[], float]
    ladder: Ladder
    factors: FactorRegistry = field(default_factory=default_factors)
    trust: TrustStore | None = None
    sender: Sender = field(default_factory=OutboxSender)
    friction: SessionAnswers = field(default_factory=SessionAnswers)


def get_state(request: HTTPConnection) -> ProviderState:
    """The ``ProviderState`` of the app serving ``request`` (set by the lifespan)."""
    state: ProviderState = request.app.state.stepauth
    return state
