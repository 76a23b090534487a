"""Shared plumbing of the bank's pages: templates, the signed-in customer, CSRF, outcomes."""

from __future__ import annotations

import hmac
import re
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
    "account_url",
    "bank_of",
    "check_csrf",
    "claims_view",
    "confirm_url",
    "customer_of",
    "euros",
    "form_expired",
    "format_euros",
    "outcome",
    "pending_action",
    "render",
    "templates",
]

HERE = Path(__file__).parent
#: Session key of the actions waiting for a step-up (id → path and fields), and how many.
PENDING = "acme_pending"
_MAX_PENDING = 8
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


def account_url(request: Request) -> str:
    """The Provider's account page (add a passkey there), with a way back to this bank."""
    bank = bank_of(request)
    query = f"?{urlencode({'return_to': bank.client_id})}" if bank.client_id else ""
    return f"{bank.provider_url}/account{query}"


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
    context.setdefault("form", {})
    context.update(
        customer=customer,
        csrf=csrf_token(request) if claims else "",  # no session for anonymous visitors
        signed_in=claims is not None,
        session_claims=claims_view(claims) if claims else None,
        has_passkey_session=claims is not None and claims.get("acr") in ("phr", "phrh"),
        provider_url=bank_of(request).provider_url,
        account_url=account_url(request),
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


def confirm_url(request: Request, next_path: str, fields: Mapping[str, str]) -> str:
    """Where the browser comes back after a bound step-up: a page to confirm the action.

    The action's validated fields stay in the session under a random id; the confirm
    page shows and posts those, never values from its own URL.
    """
    stored = request.session.get(PENDING)
    pending: dict[str, Any] = dict(stored) if isinstance(stored, dict) else {}
    while len(pending) >= _MAX_PENDING:
        pending.pop(next(iter(pending)))
    key = secrets.token_urlsafe(12)
    pending[key] = {"path": next_path, "fields": dict(fields)}
    request.session[PENDING] = pending
    return "/confirm?" + urlencode({"id": key})


def pending_action(request: Request, key: str) -> tuple[str, dict[str, str]] | None:
    """The stored ``(path, fields)`` of a confirm id (None: unknown or expired)."""
    stored = request.session.get(PENDING)
    entry = stored.get(key) if isinstance(stored, dict) else None
    if not isinstance(entry, dict):
        return None
    return str(entry["path"]), {str(k): str(v) for k, v in entry["fields"].items()}


def format_euros(amount: Decimal) -> str:
    """``€1,250.00``."""
    return f"€{amount:,.2f}"


def form_expired(
    request: Request, template: str, title: str, typed: Mapping[str, str]
) -> HTMLResponse:
    """A form whose CSRF token no longer matches: shown again as typed, to send again."""
    return render(
        request,
        template,
        400,
        title=title,
        form=dict(typed),
        alert="This form had expired. Check it and send it again.",
    )


#: Digits, optional thousands commas in their places, at most two decimals: no
#: exponent (``1e3``), sign, ``NaN`` or ``Infinity``, which ``Decimal`` would accept.
_AMOUNT = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,12})(?:\.[0-9]{1,2})?")


def euros(text: str) -> Decimal | None:
    """A positive euro amount with at most two decimals (``1,250.00``, ``€20``), or
    ``None``."""
    cleaned = text.strip().removeprefix("€").strip()
    if len(cleaned) > 20 or not _AMOUNT.fullmatch(cleaned):
        return None
    amount = Decimal(cleaned.replace(",", ""))
    return amount.quantize(Decimal("0.01")) if amount > 0 else None
