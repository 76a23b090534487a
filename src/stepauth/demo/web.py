"""Shared plumbing of the bank's pages: templates, the signed-in customer, CSRF, outcomes."""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from stepauth.demo.ledger import Customer, Ledger
from stepauth.demo.stepup import Gate, Passed, StepUpNeeded
from stepauth.rar import format_money, mask_iban
from stepauth.sdk import BrowserStepUp

__all__ = [
    "Bank",
    "bank_of",
    "check_csrf",
    "claims_view",
    "confirm_url",
    "customer_of",
    "euros",
    "outcome",
    "render",
    "templates",
]

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["money"] = lambda v: format_money(
    {"currency": "EUR", "amount": str(v)}, symbol=True
)
templates.env.filters["mask_iban"] = mask_iban


@dataclass
class Bank:
    """Everything a request handler needs, set on ``app.state.bank`` at startup."""

    browser: BrowserStepUp
    gate: Gate
    ledger: Ledger
    provider_url: str
    client_id: str = ""
    end_session_endpoint: str | None = None
    post_logout_redirect_uri: str | None = None


def bank_of(request: Request) -> Bank:
    bank: Bank = request.app.state.bank
    return bank


def customer_of(request: Request) -> Customer | None:
    claims = BrowserStepUp.claims(request.session)
    if claims is None:
        return None
    username = claims.get("preferred_username")
    return bank_of(request).ledger.customer(
        str(claims["sub"]), username if isinstance(username, str) else None
    )


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return token


def check_csrf(request: Request, given: str) -> bool:
    token = request.session.get("csrf")
    return isinstance(token, str) and hmac.compare_digest(token, given)


def claims_view(claims: Mapping[str, Any]) -> dict[str, str]:
    """What the ID token says about the authentication, for people."""
    auth_time = claims.get("auth_time")
    when = "—"
    if isinstance(auth_time, int | float):
        stamp = datetime.fromtimestamp(auth_time, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        when = f"{stamp} ({max(0, int(time.time() - auth_time))} s ago)"
    amr = claims.get("amr")
    return {
        "acr": str(claims.get("acr", "—")),
        "amr": ", ".join(str(m) for m in amr) if isinstance(amr, list) else "—",
        "auth_time": when,
    }


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    customer = customer_of(request)
    claims = BrowserStepUp.claims(request.session)
    context.update(
        customer=customer,
        csrf=csrf_token(request) if claims else "",  # no session for anonymous visitors
        signed_in=claims is not None,
        session_claims=claims_view(claims) if claims else None,
        provider_url=bank_of(request).provider_url,
        is_admin=customer is not None
        and "admin" in bank_of(request).ledger.roles.get(customer.username, ()),
    )
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def outcome(
    request: Request, result: Passed | StepUpNeeded, title: str, **context: Any
) -> Response:
    """Redirect to the Provider, or the result page with why and what the token says."""
    if isinstance(result, StepUpNeeded):
        return RedirectResponse(result.url, status_code=303)
    return render(
        request,
        "done.html",
        title=title,
        explanation=result.explanation,
        decision=result.decision,
        token=claims_view(result.claims),
        verified_now=result.verified_now,
        **context,
    )


def confirm_url(next_path: str, fields: Mapping[str, str]) -> str:
    """Where the browser comes back after a bound step-up: a page to confirm the action."""
    return "/confirm?" + urlencode({"next": next_path, **fields})


def euros(text: str) -> Decimal | None:
    """A positive euro amount with at most two decimals, or ``None``."""
    try:
        amount = Decimal(text.replace(",", "").replace("€", "").strip())
    except ArithmeticError:
        return None
    exponent = amount.as_tuple().exponent
    if not amount.is_finite() or amount <= 0 or not isinstance(exponent, int) or exponent < -2:
        return None
    return amount.quantize(Decimal("0.01"))
