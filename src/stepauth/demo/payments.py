"""Money out: add a payee (bound), transfer (low-value exemption, else a bound step-up)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from stepauth.demo import transactions
from stepauth.demo.ledger import Customer, Payee
from stepauth.demo.stepup import Passed
from stepauth.demo.transactions import valid_account
from stepauth.demo.web import bank_of, check_csrf, confirm_url, customer_of, euros, outcome, render
from stepauth.policy import Context
from stepauth.rar import normalise_iban

__all__ = ["router", "summaries"]

router = APIRouter()


@router.get("/transfer")
async def transfer_form(request: Request) -> Response:
    if customer_of(request) is None:
        return RedirectResponse("/login?next=/transfer", status_code=303)
    return render(request, "transfer.html", title="Send money")


def _payee(customer: Customer, payee_id: str) -> Payee | None:
    return next((p for p in customer.payees if p.id == payee_id), None)


def _transfer_rows(customer: Customer, fields: dict[str, str]) -> list[tuple[str, str]] | None:
    payee = _payee(customer, fields.get("payee", ""))
    amount = euros(fields.get("amount", ""))
    if payee is None or amount is None:
        return None
    return [
        ("Amount", f"€{amount:,.2f}"),
        ("Payee", payee.name),
        ("Reference", fields.get("reference", "") or "—"),
    ]


@router.post("/transfer")
async def transfer(
    request: Request,
    payee: Annotated[str, Form()],
    amount: Annotated[str, Form()],
    csrf: Annotated[str, Form()],
    reference: Annotated[str, Form()] = "",
) -> Response:
    customer = customer_of(request)
    if customer is None:
        return RedirectResponse("/login?next=/transfer", status_code=303)
    chosen = _payee(customer, payee)
    value = euros(amount)
    if not check_csrf(request, csrf) or chosen is None or value is None or len(reference) > 140:
        return render(request, "transfer.html", 400, title="Send money", error="Check the form.")
    bank = bank_of(request)
    context = Context(amount=value, currency="EUR", payee=chosen.iban, counters=customer.counters)
    details = transactions.payment(
        name=chosen.name, iban=chosen.iban, amount=value, reference=reference
    )
    fields = {"payee": payee, "amount": f"{value:.2f}", "reference": reference}
    result = await bank.gate.check(
        request.session,
        "transfer",
        context,
        resume=confirm_url("/transfer", fields),
        details=details,
    )
    if isinstance(result, Passed):
        decision = result.decision
        authorised = f"{decision.exempt} exemption" if decision.exempt else "bound step-up"
        bank.ledger.pay(
            customer, chosen, value, reference, at=bank.browser.clock(), authorised_by=authorised
        )
        if decision.counters is not None:
            customer.counters = decision.counters
    return outcome(
        request,
        result,
        f"Sent €{value:,.2f} to {chosen.name}",
        show="payment",
        rows=_transfer_rows(customer, fields),
    )


@router.get("/payees")
async def payees(request: Request) -> Response:
    if customer_of(request) is None:
        return RedirectResponse("/login?next=/payees", status_code=303)
    return render(request, "payees.html", title="Payees")


def _payee_rows(customer: Customer, fields: dict[str, str]) -> list[tuple[str, str]] | None:
    name, iban = fields.get("name", ""), fields.get("iban", "")
    if not name or not iban:
        return None
    return [("New payee", name), ("IBAN", iban)]


@router.post("/payees")
async def add_payee(
    request: Request,
    name: Annotated[str, Form()],
    iban: Annotated[str, Form()],
    csrf: Annotated[str, Form()],
) -> Response:
    customer = customer_of(request)
    if customer is None:
        return RedirectResponse("/login?next=/payees", status_code=303)
    name, clean = " ".join(name.split()), normalise_iban(iban)
    if not check_csrf(request, csrf) or not valid_account(name, clean):
        return render(request, "payees.html", 400, title="Payees", error="Check the name and IBAN.")
    details = transactions.add_payee(name=name, iban=clean)
    bank = bank_of(request)
    result = await bank.gate.check(
        request.session,
        "add_payee",
        Context(new_payee=True),
        resume=confirm_url("/payees", {"name": name, "iban": clean}),
        details=details,
    )
    if isinstance(result, Passed):
        customer.payees.append(Payee(f"py-{len(customer.payees) + 1}", name, clean))
    return outcome(
        request,
        result,
        f"Added {name} to your payees",
        show="payee",
        rows=[("Payee", name), ("IBAN", clean)],
    )


summaries = {"/transfer": _transfer_rows, "/payees": _payee_rows}
