"""Transaction binding (RFC 9396, PSD2 RTS Art. 5): exact grant, single use."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from stepauth.assurance import Requirement
from stepauth.sdk.binding import Binding, BindingNotGranted
from stepauth.sdk.browser import SESSION_KEY, BrowserStepUp
from stepauth.sdk.ledger import MemoryLedger
from tests.sdk.bound_flow import browser_rp


def payment(fields: Any) -> list[dict[str, Any]]:
    return [
        {
            "type": "payment_initiation",
            "instructedAmount": {"currency": "EUR", "amount": fields["amount"]},
            "creditorName": fields["creditor"],
            "creditorAccount": {"iban": fields["iban"]},
        }
    ]


FIELDS = {"amount": "1250.00", "creditor": "Merchant A", "iban": "DE89370400440532013000"}
BINDING = Binding(payment)


def test_grant_with_a_changed_amount_is_refused() -> None:
    """The OP granted another amount than the one the action executes."""
    requested = BINDING.for_action(FIELDS)
    granted = payment({**FIELDS, "amount": "12.50"})
    with pytest.raises(BindingNotGranted, match="amount"):
        BINDING.check_granted(granted, requested)


def test_missing_grant_is_refused() -> None:
    """An OP that ignores authorization_details never satisfies a bound action."""
    with pytest.raises(BindingNotGranted):
        BINDING.check_granted((), BINDING.for_action(FIELDS))


def test_equivalent_forms_match() -> None:
    """Type-aware: 1250 == "1250.00", IBAN with spaces, currency case."""
    granted = payment({**FIELDS, "iban": "DE89 3704 0044 0532 0130 00"})
    BINDING.check_granted(granted, BINDING.for_action({**FIELDS, "amount": "1250"}))


def test_invalid_action_details_are_refused() -> None:
    with pytest.raises(BindingNotGranted):
        BINDING.for_action({**FIELDS, "amount": "lots"})


NOW = 1_764_000_000.0
PHR = Requirement(("phr",), None)


def browser() -> BrowserStepUp:
    return BrowserStepUp(browser_rp(), ledger=MemoryLedger(clock=lambda: NOW), clock=lambda: NOW)


def session_with_grant(
    flow: BrowserStepUp, details: list[dict[str, Any]], *, expires_at: float
) -> dict[str, Any]:
    """A session after a bound step-up through ``flow``: phr claims and the grant the OP
    returned, tied to the flow's process-local ledger."""
    assert isinstance(flow.ledger, MemoryLedger)
    grant = {"id": "g1", "details": details, "expires_at": expires_at, "scope": flow.ledger.scope}
    return {
        SESSION_KEY: {"claims": {"sub": "u1", "acr": "phr", "auth_time": int(NOW) - 5}},
        "stepauth_grants": [grant],
    }


def test_replayed_grant_is_consumed_once() -> None:
    """One approval, one action: the same grant found again (a copy of the session cookie
    taken before it was used) is refused by the ledger."""
    flow = browser()
    details = BINDING.for_action(FIELDS)
    session = session_with_grant(flow, details, expires_at=NOW + 100)
    copied = copy.deepcopy(session)
    assert flow.check_bound(session, PHR, BINDING, details) is None
    assert session["stepauth_grants"] == []
    again = flow.check_bound(copied, PHR, BINDING, details)
    assert again is not None
    assert again.reason == "binding_required"


def test_expired_or_other_transaction_grant_does_not_match() -> None:
    flow = browser()
    details = BINDING.for_action(FIELDS)
    other = BINDING.for_action({**FIELDS, "creditor": "Mallory"})
    session = session_with_grant(flow, details, expires_at=NOW + 100)
    refused = flow.check_bound(session, PHR, BINDING, other)
    assert refused is not None
    assert refused.reason == "binding_required"
    expired = session_with_grant(flow, details, expires_at=NOW)
    assert flow.check_bound(expired, PHR, BINDING, details) is not None
    # The mismatched request did not burn the genuine one's approval.
    assert flow.check_bound(session, PHR, BINDING, details) is None


def test_concurrent_uses_of_one_grant_run_one_action() -> None:
    """Two requests at once with the same session: the ledger's atomic consume decides."""
    flow = browser()
    details = BINDING.for_action(FIELDS)
    sessions = [session_with_grant(flow, details, expires_at=NOW + 100) for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda s: flow.check_bound(s, PHR, BINDING, details), sessions))
    assert results.count(None) == 1


def test_memory_ledger_consumes_once_and_never_a_dead_key() -> None:
    ledger = MemoryLedger(clock=lambda: NOW)
    assert ledger.consume("k", expires_at=NOW + 1) is True
    assert ledger.consume("k", expires_at=NOW + 1) is False
    assert ledger.consume("dead", expires_at=NOW) is False
    assert ledger.consume("dead", expires_at=NOW) is False


def test_a_full_memory_ledger_refuses_rather_than_forgets() -> None:
    """Fail closed: a live record is never dropped to make room."""
    ledger = MemoryLedger(clock=lambda: NOW, max_items=2)
    assert ledger.consume("a", expires_at=NOW + 10) is True
    assert ledger.consume("b", expires_at=NOW + 10) is True
    assert ledger.consume("c", expires_at=NOW + 10) is False
    assert ledger.consume("a", expires_at=NOW + 10) is False


def test_a_grant_of_a_process_local_ledger_is_refused_by_another_process() -> None:
    """Without a shared ledger, another instance cannot know the grant was used: it refuses
    the grant rather than accept each copy once (run several instances on SQL or Redis)."""
    here, elsewhere = browser(), browser()
    details = BINDING.for_action(FIELDS)
    copied = session_with_grant(here, details, expires_at=NOW + 100)
    refused = elsewhere.check_bound(copy.deepcopy(copied), PHR, BINDING, details)
    assert refused is not None
    assert refused.reason == "binding_required"
    assert here.check_bound(copied, PHR, BINDING, details) is None
