"""The bank client of the bound-payment tests: its registration, a €1,250.00 payment and
the requests that carry it (RFC 9126 PAR with RFC 9396 ``authorization_details``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.frontchannel import query
from tests.helpers.harness import REDIRECT_URI, SECRET, Provider, pkce_pair, running_provider
from tests.helpers.passkeys import use_passkeys

__all__ = [
    "BANK",
    "PAYMENT",
    "PHR",
    "bank",
    "bank_client",
    "code_request",
    "front",
    "par_body",
    "push_details",
]

BANK = "bank"
PHR = "phr"
PAYMENT = [
    {
        "type": "payment_initiation",
        "instructedAmount": {"currency": "EUR", "amount": "1250.00"},
        "creditorName": "Merchant A",
        "creditorAccount": {"iban": "DE02100100109307118603"},
    }
]


def bank_client(*, require_par: bool = True) -> dict[str, Any]:
    """The bank's registration; by default it must push authorization_details (RFC 9396
    §10)."""
    client: dict[str, Any] = {
        "client_id": BANK,
        "client_secret": SECRET,
        "redirect_uris": [REDIRECT_URI],
    }
    if require_par:
        client["require_par_for_authorization_details"] = True
    return client


@pytest.fixture
async def bank(tmp_path: Path) -> AsyncIterator[Provider]:
    """A running Provider with the bank client, alice, and passkeys enabled."""
    async with running_provider(tmp_path, clients=[bank_client()]) as running:
        await running.create_user()
        use_passkeys(running)
        yield running


def code_request(challenge: str, client_id: str = BANK, **extra: str) -> dict[str, str]:
    """An authorization-code request (PKCE S256, nonce ``n``, a state only if given) plus
    ``extra``."""
    return query(client_id, **{"state": None, "code_challenge": challenge, "nonce": "n", **extra})


def par_body(details: Any = PAYMENT, **extra: str) -> tuple[str, dict[str, str]]:
    """A fresh PKCE verifier and the bank's PAR body carrying ``details``."""
    verifier, challenge = pkce_pair()
    return verifier, code_request(challenge, authorization_details=json.dumps(details), **extra)


async def push_details(provider: Provider, details: Any = PAYMENT, **extra: str) -> tuple[str, str]:
    """Push ``details`` as the bank; returns (code_verifier, request_uri)."""
    verifier, data = par_body(details, **extra)
    response = await provider.browser.post("/par", data=data, auth=(BANK, SECRET))
    assert response.status_code == 201, response.text
    return verifier, str(response.json()["request_uri"])


def front(request_uri: str) -> dict[str, str]:
    """The front-channel query that opens a pushed request."""
    return {"client_id": BANK, "request_uri": request_uri}
