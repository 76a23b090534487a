"""Money out: add a payee (bound), transfer (low-value exemption, else a bound step-up)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from stepauth.demo import transactions
from stepauth.demo.account_form import AccountForm, read_account_form
from stepauth.demo.ledger import Customer, Payee
from stepauth.demo.stepup import Passed
from stepauth.demo.web import (
    bank_of,
    check_csrf,
    confirm_url,
    customer_of,
    euros,
    form_expired,
    format_euros,
    outcome,
    render,
)
from stepauth.policy import Context
from stepauth.rar import format_iban, mask_iban

__all__ = ["router", "summaries", "transfer_errors"]

router = APIRouter()


@router.get("/transfer")
async def transfer_form(request: Request) -> Response:
    if customer_of(request) is None:
        return RedirectResponse("/login?next=/transfer", status_code=303)
    return render(request, "transfer.html", title="Send money", form={})


def _payee(customer: Customer, payee_id: str) -> Payee | None:
    return next((p for p in customer.payees if p.id == payee_id), None)


def transfer_errors(
    customer: Customer, payee: str, amount: str, reference: str
) -> tuple[Payee | None, Decimal | None, dict[str, str]]:
    """The chosen payee and amount, and a message for each field that is wrong."""
    errors: dict[str, str] = {}
    chosen = _payee(customer, payee)
    if chosen is None:
        errors["payee"] = "Payee: choose one of your payees."
    value = euros(amount)
    balance = customer.balances["Current account"]
    if value is None:
        errors["amount"] = (
            "Amount: enter euros, with at most two decimals, like 1250.00 or 1,250.00."
        )
    elif value > balance:
        errors["amount"] = f"Amount: your current account holds {format_euros(balance)}."
    if len(reference) > 140:
        errors["reference"] = "Reference: at most 140 characters."
    return chosen, value, errors


def _transfer_rows(customer: Customer, fields: dict[str, str]) -> list[tuple[str, str]] | None:
    payee = _payee(customer, fields.get("payee", ""))
    amount = euros(fields.get("amount", ""))
    if payee is None or amount is None:
        return None
    return [
        ("Amount", format_euros(amount)),
        ("Payee", f"{payee.name} ({mask_iban(payee.iban)})"),
        ("Reference", fields.get("reference", "") or "—"),
    ]


@router.post("/transfer")
async def transfer(
    request: Request,
    csrf: Annotated[str, Form()],
    payee: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "",
    reference: Annotated[str, Form()] = "",
) -> Response:
    customer = customer_of(request)
    if customer is None:
        return RedirectResponse("/login?next=/transfer", status_code=303)
    typed = {"payee": payee, "amount": amount, "reference": reference}
    chosen, value, errors = transfer_errors(customer, payee, amount, reference)
    if not check_csrf(request, csrf):
        return form_expired(request, "transfer.html", "Send money", typed)
    if chosen is None or value is None or errors:
        return render(request, "transfer.html", 400, title="Send money", form=typed, errors=errors)
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
        resume=lambda: confirm_url(request, "/transfer", fields),
        details=details,
    )
    if isinstance(result, Passed):
        decision = result.decision
        authorised = f"{decision.exempt} exemption" if decision.exempt else "bound step-up"
        paid = bank.ledger.pay(
            customer, chosen, value, reference, at=bank.browser.clock(), authorised_by=authorised
        )
        if paid is None:  # the balance fell since the form was checked
            _, _, errors = transfer_errors(customer, payee, amount, reference)
            return render(
                request, "transfer.html", 400, title="Send money", form=typed, errors=errors
            )
        if decision.counters is not None:
            customer.counters = decision.counters
    return outcome(
        request,
        result,
        f"Sent {format_euros(value)} to {chosen.name}",
        show="payment",
        rows=_transfer_rows(customer, fields),
    )


@router.get("/payees")
async def payees(request: Request) -> Response:
    if customer_of(request) is None:
        return RedirectResponse("/login?next=/payees", status_code=303)
    return render(request, "payees.html", title="Payees", form={})


def _payee_rows(customer: Customer, fields: dict[str, str]) -> list[tuple[str, str]] | None:
    del customer
    name, iban = fields.get("name", ""), fields.get("iban", "")
    if not name or not iban:
        return None
    return [("New payee", name), ("IBAN", format_iban(iban))]


@router.post("/payees")
async def add_payee(
    request: Request,
    csrf: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
    iban: Annotated[str, Form()] = "",
) -> Response:
    entry = read_account_form(
        request,
        csrf=csrf,
        fields={"name": name, "iban": iban},
        page=("/payees", "payees.html", "Payees"),
        holder_field="name",
        holder_label="Name",
    )
    if not isinstance(entry, AccountForm):
        return entry
    customer, name, clean = entry.customer, entry.name, entry.iban
    details = transactions.add_payee(name=name, iban=clean)
    bank = bank_of(request)
    result = await bank.gate.check(
        request.session,
        "add_payee",
        Context(new_payee=True),
        resume=lambda: confirm_url(request, "/payees", {"name": name, "iban": clean}),
        details=details,
    )
    if isinstance(result, Passed):
        customer.payees.append(Payee(f"py-{len(customer.payees) + 1}", name, clean))
    return outcome(
        request,
        result,
        f"Added {name} to your payees",
        show="payee",
        rows=[("Payee", name), ("IBAN", format_iban(clean))],
    )


summaries = {"/transfer": _transfer_rows, "/payees": _payee_rows}
