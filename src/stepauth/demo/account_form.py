"""The one form two pages share: an account holder's name and an IBAN (a new payee, new
payout details), read, cleaned and checked before anything asks for a step-up."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from stepauth.demo.ledger import Customer
from stepauth.demo.transactions import account_errors
from stepauth.demo.web import check_csrf, customer_of, form_expired, render
from stepauth.rar import normalise_iban

__all__ = ["AccountForm", "read_account_form"]


@dataclass(frozen=True, slots=True)
class AccountForm:
    """A signed-in customer's valid entry: the name with its spaces collapsed, the IBAN
    without spaces and in capitals."""

    customer: Customer
    name: str
    iban: str


def read_account_form(
    request: Request,
    *,
    csrf: str,
    fields: dict[str, str],
    page: tuple[str, str, str],
    holder_field: str = "holder",
    holder_label: str = "Account holder",
) -> AccountForm | Response:
    """The entry of ``fields`` (``holder_field`` and ``iban``), or the page to show instead:
    sign-in for nobody, the form again (as typed) when it expired or a field is wrong.
    ``page`` is the form's path, template and title."""
    path, template, title = page
    customer = customer_of(request)
    if customer is None:
        return RedirectResponse(f"/login?next={path}", status_code=303)
    name, clean = " ".join(fields[holder_field].split()), normalise_iban(fields["iban"])
    if not check_csrf(request, csrf):
        return form_expired(request, template, title, fields)
    errors = account_errors(name, clean, holder_field=holder_field, holder_label=holder_label)
    if errors:
        return render(request, template, 400, title=title, form=fields, errors=errors)
    return AccountForm(customer, name, clean)
