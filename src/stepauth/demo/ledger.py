"""Acme Bank's books: accounts, payees, payments and admin data, kept in memory.

The demo keeps everything in process memory (one uvicorn worker): it is a showcase of the
step-up flows, not a bank. Each customer is keyed by the ``sub`` the Provider asserts; the
demo users ``alice`` and ``bob`` get a recognisable profile, anyone else a generic one.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from stepauth.policy import Counters

__all__ = ["Customer", "Ledger", "Payee", "Payment"]


@dataclass(frozen=True)
class Payee:
    id: str
    name: str
    iban: str


@dataclass(frozen=True)
class Payment:
    id: str
    payee: str
    amount: Decimal
    reference: str
    at: float
    authorised_by: str  # "low_value exemption" or the acr of the bound step-up


@dataclass
class Customer:
    sub: str
    username: str
    full_name: str
    email: str
    phone: str
    address: str
    date_of_birth: str
    tax_id: str
    balances: dict[str, Decimal]
    payees: list[Payee]
    payout_holder: str
    payout_iban: str
    payments: list[Payment] = field(default_factory=list)
    counters: Counters = field(default_factory=Counters)
    seen_sca: float | None = None


_PROFILES = {
    "alice": ("Alice Martin", "+49 30 1234 5678", "Hauptstraße 12, 10115 Berlin", "1988-04-12"),
    "bob": ("Bob Keller", "+49 89 9876 5432", "Marienplatz 3, 80331 München", "1979-11-02"),
}

_STATEMENT_MONTHS = ("2026-10", "2026-09", "2026-08")


class Ledger:
    """Every customer's data plus the admin console's roles and tenants."""

    def __init__(self, usernames: Mapping[str, str] | None = None) -> None:
        self._customers: dict[str, Customer] = {}
        self._usernames = dict(usernames or {})
        self._lock = threading.Lock()
        self.roles: dict[str, set[str]] = {"alice": {"admin"}, "bob": {"customer"}}
        self.tenants: dict[str, str] = {
            "t-42": "Acme Retail DE",
            "t-43": "Acme Retail AT",
            "t-77": "Acme Sandbox",
        }

    def customer(self, sub: str, username: str | None = None) -> Customer:
        """The customer record of an OP subject (created on first sign-in)."""
        with self._lock:
            found = self._customers.get(sub)
            if found is None:
                name = self._usernames.get(sub) or username or "customer"
                found = self._customers[sub] = _new_customer(sub, name)
            return found

    @staticmethod
    def statements() -> tuple[str, ...]:
        return _STATEMENT_MONTHS

    def pay(
        self,
        customer: Customer,
        payee: Payee,
        amount: Decimal,
        reference: str,
        *,
        at: float,
        authorised_by: str,
    ) -> Payment | None:
        """Book a payment from the current account; None when the balance is too low."""
        payment = Payment(
            id="p-" + secrets.token_hex(4),
            payee=payee.name,
            amount=amount,
            reference=reference,
            at=at,
            authorised_by=authorised_by,
        )
        with self._lock:
            if amount > customer.balances["Current account"]:
                return None
            customer.balances["Current account"] -= amount
            customer.payments.insert(0, payment)
        return payment


def _new_customer(sub: str, username: str) -> Customer:
    generic = (username.title(), "+49 40 555 0100", "Jungfernstieg 1, 20354 Hamburg", "1990-01-01")
    name, phone, address, born = _PROFILES.get(username, generic)
    return Customer(
        sub=sub,
        username=username,
        full_name=name,
        email=f"{username}@example.com",
        phone=phone,
        address=address,
        date_of_birth=born,
        tax_id="DE" + str(int(hashlib.sha256(sub.encode()).hexdigest(), 16) % 10**9).zfill(9),
        balances={"Current account": Decimal("4210.55"), "Savings": Decimal("12500.00")},
        payees=[
            Payee("py-1", "Jane Doe", "DE89370400440532013000"),
            Payee("py-2", "Stadtwerke Berlin", "DE02120300000000202051"),
            Payee("py-3", "Green Energy GmbH", "DE02500105170137075030"),
        ],
        payout_holder=name,
        payout_iban="DE75512108001245126199",
    )
