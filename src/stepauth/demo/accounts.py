"""Everyday pages: dashboard and balances, statements (no step-up), personal data (``phr``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from stepauth.demo.web import bank_of, customer_of, outcome, render
from stepauth.policy import Context

__all__ = ["router"]

router = APIRouter()


def _login(next_path: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={next_path}", status_code=303)


@router.get("/dashboard")
async def dashboard(request: Request) -> Response:
    customer = customer_of(request)
    if customer is None:
        return _login("/dashboard")
    return render(request, "dashboard.html", title="Your accounts")


@router.get("/statements")
async def statements(request: Request) -> Response:
    customer = customer_of(request)
    if customer is None:
        return _login("/statements")
    months = bank_of(request).ledger.statements()
    return render(request, "statements.html", title="Statements", months=months)


@router.get("/profile")
async def profile(request: Request) -> Response:
    customer = customer_of(request)
    if customer is None:
        return _login("/profile")
    return render(request, "profile.html", title="Personal data")


@router.get("/profile/full")
async def full_profile(request: Request) -> Response:
    """PII: the policy's ``view_pii`` (``phr`` within 15 minutes)."""
    customer = customer_of(request)
    if customer is None:
        return _login("/profile/full")
    result = await bank_of(request).gate.check(
        request.session, "view_pii", Context(), resume="/profile/full"
    )
    return outcome(request, result, "Your full personal data", show="pii")
