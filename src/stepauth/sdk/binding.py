"""Transaction binding (RFC 9396): a step-up that authorizes one action, once.

A :class:`Binding` turns the action's fields (form or query) into ``authorization_details``.
The step-up request carries them (pushed with PAR when the OP offers it); the callback
accepts the grant only if the OP granted *exactly* those details
(:func:`stepauth.rar.match_details`: type-aware amounts, currency, IBAN, payee), and the
guarded action runs only if its own details match a grant of the session that is then
consumed - one atomic operation in the consume-once ledger (:mod:`stepauth.sdk.ledger`), so
replaying an old session cookie cannot bring a used grant back (PSD2 RTS Art. 5(1)(d): any
change invalidates the approval).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stepauth.assurance import Requirement
from stepauth.rar import DetailsMismatch, RARError, Registry, default_registry, match_details
from stepauth.sdk.errors import SDKError

if TYPE_CHECKING:
    from stepauth.policy import Decision

__all__ = ["SIGNED_IN", "Binding", "BindingNotGranted", "Details", "resolve", "route_rule"]

Details = Sequence[Mapping[str, Any]]


class BindingNotGranted(SDKError):
    """The OP did not grant the transaction's authorization_details (or changed them)."""

    error = "binding_not_granted"


@dataclass(frozen=True)
class Binding:
    """How a guarded action names its transaction as ``authorization_details``."""

    details: Callable[[Mapping[str, str]], Details]
    registry: Registry = field(default=default_registry)

    @classmethod
    def fixed(cls, details: Details, *, registry: Registry = default_registry) -> Binding:
        """A binding to details the app has already built from the action (not from the
        request's fields): the step-up approves exactly these."""
        frozen = [dict(d) for d in details]
        return cls(lambda _fields: frozen, registry=registry)

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


#: What an exempted action still needs: a signed-in session or a valid token, at any level
#: (an exemption removes the step-up, never the authentication: fail closed).
SIGNED_IN = Requirement(())


def resolve(
    rule: Requirement | Decision, bind: Binding | None
) -> tuple[Requirement, Binding | None]:
    """The requirement and the binding that ``rule`` asks for.

    A :class:`Requirement` is taken as it is, with ``bind``. A policy ``Decision``
    (:meth:`stepauth.policy.Policy.decide`) gives its requirement; an exempted one
    (``requirement is None``) needs :data:`SIGNED_IN` and binds nothing; one that binds the
    action to its transaction (``decision.bind``, PSD2 RTS Art. 5 dynamic linking) needs
    ``bind``: refused without one, rather than run unbound.
    """
    if isinstance(rule, Requirement):
        return rule, bind
    requirement = rule.requirement
    if requirement is None:
        return SIGNED_IN, None
    if rule.bind and bind is None:
        raise SDKError(
            f"the policy binds {rule.action!r} to its transaction: pass its binding "
            "(bind=, or the action's details)"
        )
    return requirement, bind


def route_rule(
    acr_values: Sequence[str | Decision], max_age: int | None, bind: Binding | None
) -> tuple[Requirement, Binding | None]:
    """``require("phr", max_age=300, bind=...)`` or ``require(decision, bind=...)`` of an
    adapter, as a requirement and a binding."""
    if len(acr_values) == 1 and not isinstance(acr_values[0], str):
        if max_age is not None:
            raise SDKError("a policy decision carries its own max_age")
        return resolve(acr_values[0], bind)
    if not all(isinstance(v, str) for v in acr_values):
        raise SDKError("require() takes acr values, or one policy decision")
    return Requirement(tuple(str(v) for v in acr_values), max_age), bind
