"""Change payout details: the policy's ``change_payout_details`` (fresh ``phr``, or ``phrh``
when the customer has a hardware key), bound to the new account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from stepauth.demo import transactions
from stepauth.demo.account_form import AccountForm, read_account_form
from stepauth.demo.ledger import Customer
from stepauth.demo.stepup import Passed
from stepauth.demo.web import (
    bank_of,
    confirm_url,
    customer_of,
    outcome,
    render,
)
from stepauth.policy import Context
from stepauth.rar import format_iban
from stepauth.sdk import BrowserStepUp

__all__ = ["router", "summaries"]

router = APIRouter()


@router.get("/payout")
async def payout_form(request: Request) -> Response:
    if customer_of(request) is None:
        return RedirectResponse("/login?next=/payout", status_code=303)
    return render(request, "payout.html", title="Payout details", form={})


def _rows(customer: Customer, fields: dict[str, str]) -> list[tuple[str, str]] | None:
    del customer
    if not fields.get("holder") or not fields.get("iban"):
        return None
    return [("Account holder", fields["holder"]), ("New payout IBAN", format_iban(fields["iban"]))]


def _has_hardware_key(request: Request) -> bool:
    claims = BrowserStepUp.claims(request.session) or {}
    amr = claims.get("amr")
    return isinstance(amr, list) and "hwk" in amr


@router.post("/payout")
async def change_payout(
    request: Request,
    csrf: Annotated[str, Form()],
    holder: Annotated[str, Form()] = "",
    iban: Annotated[str, Form()] = "",
) -> Response:
    entry = read_account_form(
        request,
        csrf=csrf,
        fields={"holder": holder, "iban": iban},
        page=("/payout", "payout.html", "Payout details"),
    )
    if not isinstance(entry, AccountForm):
        return entry
    customer, holder, clean = entry.customer, entry.name, entry.iban
    result = await bank_of(request).gate.check(
        request.session,
        "change_payout_details",
        Context(has_hardware_key=_has_hardware_key(request)),
        resume=lambda: confirm_url(request, "/payout", {"holder": holder, "iban": clean}),
        details=transactions.change_payout(holder=holder, iban=clean),
    )
    if isinstance(result, Passed):
        customer.payout_holder, customer.payout_iban = holder, clean
    return outcome(
        request,
        result,
        "Payout details changed",
        show="payout",
        rows=[("Account holder", holder), ("New payout IBAN", format_iban(clean))],
    )


summaries = {"/payout": _rows}
