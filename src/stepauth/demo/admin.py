"""The admin console: grant a role (``phr``), delete a tenant (``phrh``, bound to the tenant)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from stepauth.demo import transactions
from stepauth.demo.ledger import Customer
from stepauth.demo.stepup import Passed
from stepauth.demo.web import bank_of, check_csrf, confirm_url, customer_of, outcome, render
from stepauth.policy import Context

__all__ = ["ROLES", "router", "summaries"]

router = APIRouter(prefix="/admin")
ROLES = ("customer", "support", "auditor", "admin")


def _admin(request: Request) -> Customer | None:
    customer = customer_of(request)
    if customer is None or "admin" not in bank_of(request).ledger.roles.get(customer.username, ()):
        return None
    return customer


def _forbidden(request: Request) -> Response:
    if customer_of(request) is None:
        return RedirectResponse("/login?next=/admin", status_code=303)
    return render(
        request,
        "error.html",
        403,
        title="Admins only",
        message="The admin console is for Acme Bank administrators.",
    )


@router.get("")
async def console(request: Request) -> Response:
    if _admin(request) is None:
        return _forbidden(request)
    ledger = bank_of(request).ledger
    return render(
        request,
        "admin.html",
        title="Admin console",
        roles=ledger.roles,
        tenants=ledger.tenants,
        role_names=ROLES,
    )


@router.post("/roles")
async def grant_role(
    request: Request,
    username: Annotated[str, Form()],
    role: Annotated[str, Form()],
    csrf: Annotated[str, Form()],
) -> Response:
    if _admin(request) is None:
        return _forbidden(request)
    ledger = bank_of(request).ledger
    problem = (
        "This form had expired. Send it again."
        if not check_csrf(request, csrf)
        else "User: choose one of the listed users."
        if username not in ledger.roles
        else f"Role: choose {', '.join(ROLES[:-1])} or {ROLES[-1]}."
        if role not in ROLES
        else None
    )
    if problem is not None:
        return render(request, "error.html", 400, title="Grant a role", message=problem)
    result = await bank_of(request).gate.check(
        request.session,
        "grant_role",
        Context(),
        resume=lambda: confirm_url(request, "/admin/roles", {"username": username, "role": role}),
        details=transactions.grant_role(username=username, role=role),
    )
    if isinstance(result, Passed):
        ledger.roles[username].add(role)
    return outcome(
        request,
        result,
        f"Granted {role} to {username}",
        show="admin",
        rows=[("User", username), ("Role", role)],
    )


@router.post("/tenants/delete")
async def delete_tenant(
    request: Request, tenant: Annotated[str, Form()], csrf: Annotated[str, Form()]
) -> Response:
    if _admin(request) is None:
        return _forbidden(request)
    ledger = bank_of(request).ledger
    if not check_csrf(request, csrf) or tenant not in ledger.tenants:
        return render(
            request, "error.html", 400, title="Delete a tenant", message="No such tenant."
        )
    name = ledger.tenants[tenant]
    result = await bank_of(request).gate.check(
        request.session,
        "delete_tenant",
        Context(),
        resume=lambda: confirm_url(request, "/admin/tenants/delete", {"tenant": tenant}),
        details=transactions.delete_tenant(tenant),
    )
    if isinstance(result, Passed):
        ledger.tenants.pop(tenant, None)
    return outcome(
        request,
        result,
        f"Deleted tenant {tenant}",
        show="admin",
        rows=[("Tenant", tenant), ("Name", name)],
    )


def _role_rows(customer: Customer, fields: dict[str, str]) -> list[tuple[str, str]] | None:
    del customer
    if fields.get("role") not in ROLES or not fields.get("username"):
        return None
    return [("User", fields["username"]), ("Role", fields["role"])]


def _tenant_rows(customer: Customer, fields: dict[str, str]) -> list[tuple[str, str]] | None:
    del customer
    return [("Delete tenant", fields["tenant"])] if fields.get("tenant") else None


summaries = {"/admin/roles": _role_rows, "/admin/tenants/delete": _tenant_rows}
