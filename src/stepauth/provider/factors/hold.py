"""Factors on hold: bound below the account's binding level, counted at most at it.

NIST SP 800-63B-4 §6.1.2.1 (binding needs authentication at the level of use) and §4.2
(account recovery): a factor bound by a session *below* the account's binding level
(the recovery path: password + recovery code) or by an account whose binding level is
the ladder's lowest (a password only) is **on hold** for ``[account] binding_hold``
seconds. The hold lives in the factor's JSON ``data`` (no schema change):

``hold_until``   epoch seconds; the hold ends then (or when an operator runs
                 ``stepauth users confirm-factor``)
``hold_acr``     the acr of the session that bound it: the factor's events carry it as
                 their ``cap`` and :func:`stepauth.assurance.assess` counts them for no
                 higher level (so never ``phr``/``phrh`` when bound at 1fa or 2fa)
``hold_reason``  ``recovery`` or ``single_factor`` (the words on the pages)

:func:`apply_hold` is the one place a verified factor's event gets its cap; both pages
that verify factors (the interaction pages and ``/account/reauth``) call it through
:func:`stepauth.provider.interaction.outcome.verify_factor`. A factor on hold never
approves ``authorization_details`` (transaction binding, docs/transaction-binding.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from stepauth.assurance import AuthEvent
from stepauth.provider.factors.base import FactorRejected, Verified, notice_name
from stepauth.provider.factors.webauthn import TXN_RECORD_KIND
from stepauth.provider.i18n import N_, gettext
from stepauth.provider.i18n.formatting import format_instant

if TYPE_CHECKING:
    from stepauth.provider.state import ProviderState
    from stepauth.store import Factor

__all__ = [
    "HOLD_KEYS",
    "active_factors",
    "apply_hold",
    "held_until",
    "hold_data",
    "hold_text",
    "is_held",
    "released",
]

HOLD_KEYS = ("hold_until", "hold_acr", "hold_reason")
_REASONS = {
    "recovery": N_("it was added during account recovery"),
    "single_factor": N_("it was added while the account had only one way to sign in"),
}


def hold_data(*, until: float, acr: str, reason: str) -> dict[str, Any]:
    """The ``data`` members that put a new factor on hold until ``until``."""
    return {"hold_until": float(until), "hold_acr": acr, "hold_reason": reason}


def held_until(factor: Factor, now: float) -> float | None:
    """When the hold of ``factor`` ends, or ``None`` when it is not on hold at ``now``."""
    until = factor.data.get("hold_until")
    if isinstance(until, int | float) and not isinstance(until, bool) and until > now:
        return float(until)
    return None


def is_held(factor: Factor, now: float) -> bool:
    return held_until(factor, now) is not None


def active_factors(factors: Sequence[Factor], now: float) -> list[Factor]:
    """``factors`` without those on hold: the ones that reach the binding level."""
    return [f for f in factors if not is_held(f, now)]


def released(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with the hold taken off (``stepauth users confirm-factor``)."""
    return {k: v for k, v in data.items() if k not in HOLD_KEYS}


def hold_text(factor: Factor, now: float) -> str | None:
    """The words the pages show for a factor on hold (``None`` when it is not)."""
    until = held_until(factor, now)
    if until is None:
        return None
    why = _REASONS.get(str(factor.data.get("hold_reason")), _REASONS["recovery"])
    return gettext(
        "This %(what)s (%(label)s) is on hold until %(when)s because %(why)s. "
        "Until then it cannot approve payments or reach the strongest sign-in levels."
    ) % {
        "what": gettext(notice_name(factor)),
        "label": factor.label,
        "when": format_instant(until),
        "why": gettext(why),
    }


async def apply_hold(state: ProviderState, verified: Verified, *, now: float) -> Verified:
    """Cap the event of a factor on hold at the level that bound it; refuse a bound
    approval (``txn``) made with one. Any other verification is returned unchanged."""
    if verified.factor_id is None:
        return verified
    factor = await state.store.get_factor(verified.factor_id)
    if factor is None or not is_held(factor, now):
        return verified
    if verified.txn is not None:
        # Not a valid approval: the record's id never left the Provider.
        await state.store.delete(TXN_RECORD_KIND, verified.txn)
        raise FactorRejected(hold_text(factor, now) or "", user_id=factor.user_id)
    cap = str(factor.data.get("hold_acr") or state.ladder.levels[0].acr)
    event = verified.event
    capped = AuthEvent(
        methods=event.methods,
        at=event.at,
        credential_id=event.credential_id,
        attrs={**event.attrs, "cap": cap},
    )
    return replace(verified, event=capped)
