"""``require()`` and ``BrowserStepUp.require`` take the action policy's decision as it is.

An exemption removes the step-up, never the sign-in; a decision that binds the action to
its transaction (PSD2 RTS Art. 5 dynamic linking) is refused without the transaction's
details rather than run unbound; a bound action runs once per approval.
"""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from stepauth.assurance import Requirement
from stepauth.policy import Decision
from stepauth.sdk import SDKError
from stepauth.sdk.binding import SIGNED_IN, Binding, route_rule
from stepauth.sdk.browser import SESSION_KEY, BrowserStepUp
from stepauth.sdk.ledger import MemoryLedger
from tests.sdk.bound_flow import browser_rp

NOW = 1_764_000_000.0
PHR = Requirement(("phr",), 300)
PAYMENT = [
    {
        "type": "payment_initiation",
        "instructedAmount": {"currency": "EUR", "amount": "1250.00"},
        "creditorName": "Merchant A",
        "creditorAccount": {"iban": "DE89370400440532013000"},
    }
]
TRANSFER = Decision("transfer", PHR, bind=True, exempt=None, reasons=())
VIEW = Decision("view_pii", PHR, bind=False, exempt=None, reasons=())
EXEMPT = Decision("transfer", None, bind=True, exempt="low_value", reasons=())


def session(acr: str, **extra: Any) -> dict[str, Any]:
    claims = {"sub": "u1", "acr": acr, "auth_time": int(NOW) - 5}
    return {SESSION_KEY: {"claims": claims, "id_token": "id.token.x"}, **extra}


def flow() -> BrowserStepUp:
    return BrowserStepUp(browser_rp(), clock=lambda: NOW)


def test_a_route_takes_acr_values_or_one_decision() -> None:
    binding = Binding.fixed(PAYMENT)
    assert route_rule(("phr",), 300, None) == (PHR, None)
    assert route_rule((VIEW,), None, None) == (PHR, None)
    assert route_rule((TRANSFER,), None, binding) == (PHR, binding)
    # An exemption still needs a signed-in caller, and binds nothing.
    assert route_rule((EXEMPT,), None, binding) == (SIGNED_IN, None)


def test_a_bound_decision_without_its_transaction_is_refused() -> None:
    with pytest.raises(SDKError, match="binds 'transfer'"):
        route_rule((TRANSFER,), None, None)
    with pytest.raises(SDKError, match="own max_age"):
        route_rule((VIEW,), 60, None)
    with pytest.raises(SDKError):
        flow().require(session("phr"), TRANSFER, resume="/transfer")


def test_a_session_short_of_the_decision_is_sent_to_the_op_and_back_by_get() -> None:
    verdict = flow().require(session("urn:stepauth:acr:1fa"), VIEW, resume="/profile?x=1")
    assert verdict.claims is None
    assert verdict.location is not None
    params = parse_qs(urlsplit(verdict.location).query)
    assert params["max_age"] == ["300"]
    assert flow().require(session("phr"), VIEW, resume="/profile").claims is not None


def test_an_exemption_needs_the_sign_in_only() -> None:
    passed = flow().require(session("urn:stepauth:acr:1fa"), EXEMPT, resume="/t")
    assert passed.claims is not None
    assert passed.claims["sub"] == "u1"
    stranger = flow().require({}, EXEMPT, resume="/t")
    assert stranger.claims is None
    assert stranger.reason == "no_session"


def test_a_bound_decision_runs_once_for_exactly_the_granted_details() -> None:
    browser = flow()
    assert isinstance(browser.ledger, MemoryLedger)
    grant = {
        "id": "g1",
        "details": copy.deepcopy(PAYMENT),
        "expires_at": NOW + 60,
        "scope": browser.ledger.scope,
    }
    signed_in = session("phr", stepauth_grants=[grant])
    replayed = copy.deepcopy(signed_in)
    other = [{**PAYMENT[0], "creditorName": "Mallory"}]
    # Another payee: a new bound step-up for exactly those details, the grant untouched.
    asked = browser.require(copy.deepcopy(signed_in), TRANSFER, resume="/t", details=other)
    assert asked.reason == "binding_required"
    assert asked.location is not None
    assert "Mallory" in parse_qs(urlsplit(asked.location).query)["authorization_details"][0]
    assert browser.require(signed_in, TRANSFER, resume="/t", details=PAYMENT).claims is not None
    again = browser.require(replayed, TRANSFER, resume="/t", details=PAYMENT)
    assert again.claims is None
    assert again.reason == "binding_required"
