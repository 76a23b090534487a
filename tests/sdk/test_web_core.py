"""The request core shared by the web adapters (``stepauth.sdk.web``), without a framework:
API or browser, a refused binding, and callback failures as outcomes (never a retry)."""

from __future__ import annotations

from typing import Any

import pytest

from stepauth.assurance import Requirement
from stepauth.sdk import JWKSCache, ProviderMetadata, RelyingParty, ResourceServer
from stepauth.sdk.binding import Binding
from stepauth.sdk.browser import BrowserStepUp
from stepauth.sdk.errors import SDKError
from stepauth.sdk.web import Outcome, WebRequest, WebStepAuth, longest_prefix_first, match_rule
from tests.sdk.conftest import ISSUER, Keys

METADATA = ProviderMetadata(
    issuer=ISSUER,
    authorization_endpoint=f"{ISSUER}/authorize",
    token_endpoint=f"{ISSUER}/token",
    jwks_uri=f"{ISSUER}/jwks",
)
PHR = Requirement(("phr",), 300)


def request(**kw: Any) -> WebRequest:
    args: dict[str, Any] = {
        "method": "POST",
        "authorization": None,
        "session": {},
        "form": (),
        "query": {},
        "url": "/pay",
        "form_body": True,
    }
    args.update(kw)
    return WebRequest(**args)


def browser_core() -> WebStepAuth:
    rp = RelyingParty(METADATA, client_id="c", redirect_uri="https://rp.example/cb")
    return WebStepAuth(browser=BrowserStepUp(rp))


def test_the_core_needs_an_api_or_a_browser_flow() -> None:
    with pytest.raises(SDKError):
        WebStepAuth()


def test_an_api_call_without_a_token_gets_the_bare_bearer_challenge(keys: Keys) -> None:
    """RFC 6750 §3.1: no credentials, no error code."""
    rs = ResourceServer(issuer=ISSUER, audience="api", jwks=JWKSCache(keys=keys.jwks()))
    core = WebStepAuth(resource_server=rs)
    outcome = core.decide(request(), PHR)
    assert outcome == Outcome(
        status=401, body="authentication required", headers={"WWW-Authenticate": "Bearer"}
    )
    garbled = core.decide(request(authorization="Bearer a.b.c"), PHR)
    assert garbled.status == 401
    assert garbled.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_a_browser_session_falling_short_is_sent_to_the_op() -> None:
    outcome = browser_core().decide(request(method="GET", url="/pay?x=1"), PHR)
    assert outcome.status == 303
    assert outcome.location is not None
    assert outcome.location.startswith(f"{ISSUER}/authorize?")


def test_action_details_a_binding_cannot_name_are_refused_before_any_step_up() -> None:
    """RAR: an action whose details are invalid never reaches the OP."""

    def details(fields: Any) -> Any:
        return [{"type": "payment_initiation", "instructedAmount": fields["amount"]}]

    outcome = browser_core().decide(
        request(form=(("iban", "DE89370400440532013000"),)), PHR, Binding(details)
    )
    assert outcome.status == 400
    assert outcome.location is None
    assert outcome.claims is None


def test_callback_failures_are_outcomes() -> None:
    core = browser_core()
    forged = core.finish({}, {"state": "forged", "code": "c"})
    assert forged.status == 400
    assert forged.location is None


def test_any_other_sdk_error_at_the_callback_is_a_400_not_a_redirect() -> None:
    failed = WebStepAuth._failed(SDKError("the OP has no end_session_endpoint"))
    assert failed.status == 400
    assert failed.location is None


def test_path_rules_pick_the_longest_prefix() -> None:
    rules = longest_prefix_first({"/admin": PHR, "/admin/keys": Requirement(("phrh",), 60)})
    assert match_rule(rules, "/admin/keys/rotate") == Requirement(("phrh",), 60)
    assert match_rule(rules, "/admin/users") == PHR
    assert match_rule(rules, "/administrator") is None
