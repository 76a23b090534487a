"""FlaskTransactionGuard: signed bound tokens over Flask's test client (RFC 9396 §9;
ASVS 5.0 10.3.2; PSD2 RTS Art. 5(1)(c)-(d)).

The token is a real RS256 JWT validated by :class:`ResourceServer` through
``FlaskStepAuth.require("phr")``; the guard compares the request's payment with the granted
one and consumes the ``txn`` in a real Redis (``SET NX PX``), in SQLite and in PostgreSQL
(``INSERT … ON CONFLICT DO NOTHING RETURNING``). The view records each transfer it runs,
so the tests see what was executed, not only what was answered.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import flask
import pytest

from stepauth.sdk import JWKSCache, ResourceServer
from stepauth.sdk.flask import FlaskStepAuth, FlaskTransactionGuard
from stepauth.sdk.ledger import SyncLedger
from stepauth.sdk.redis_stores import SyncRedisLedger
from stepauth.sdk.sql_ledger import SyncSQLLedger
from tests.sdk.conftest import Keys, sign
from tests.sdk.test_transaction import BATCH, IBAN, NOW, OTHER_IBAN, PAYMENT, claims_for

API = "https://api.bank.example"
TRANSFER = {
    "amount": "1250.00",
    "currency": "EUR",
    "payee": "Erika Mustermann",
    "iban": IBAN,
    "reference": "Invoice 2026-118",
}


def payment_from_request(request: flask.Request) -> list[dict[str, Any]]:
    """The view's own reading of the request as authorization_details."""
    body = request.get_json(force=True)
    return [
        {
            "type": "payment_initiation",
            "instructedAmount": {"currency": body["currency"], "amount": body["amount"]},
            "creditorName": body["payee"],
            "creditorAccount": {"iban": body["iban"]},
            "remittanceInformationUnstructured": body["reference"],
        }
    ]


class Bank:
    def __init__(self, keys: Keys, ledger: SyncLedger) -> None:
        self.executed: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        resource_server = ResourceServer(
            issuer="https://op.example.com",
            audience=API,
            jwks=JWKSCache(keys=keys.key_set()),
            clock=lambda: NOW,
        )
        stepauth = FlaskStepAuth(resource_server=resource_server)
        guard = FlaskTransactionGuard(ledger, details=payment_from_request, clock=lambda: NOW)
        self.app = flask.Flask(__name__)

        @self.app.post("/transfers")
        @stepauth.require("phr")
        @guard
        def transfer() -> dict[str, str]:
            bound = flask.g.stepauth_transaction
            with self.lock:
                self.executed.append((bound.txn, flask.request.get_json(force=True)))
            return {"txn": bound.txn}

    def post(self, token: str | None, **change: str) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.app.test_client().post(
            "/transfers", data=json.dumps({**TRANSFER, **change}), headers=headers
        )


@pytest.fixture(params=["redis", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SyncLedger]:
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_prefix")
        redis_ledger = SyncRedisLedger.from_url(url, prefix=prefix, clock=lambda: NOW)
        yield redis_ledger
        redis_ledger.close()
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'txn.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    sql_ledger = SyncSQLLedger.from_url(url, clock=lambda: NOW)
    sql_ledger.create_schema()
    yield sql_ledger
    sql_ledger.close()


@pytest.fixture
def bank(keys: Keys, ledger: SyncLedger) -> Bank:
    return Bank(keys, ledger)


def token(keys: Keys, details: Any = PAYMENT, **overrides: Any) -> str:
    claims = claims_for(details, aud=API, jti="at-1", **overrides)
    return sign(claims, keys.rsa, typ="at+jwt")


def error_of(response: Any) -> str:
    body = response.get_json()
    return f"{body['error']}: {body['error_description']}"


def test_matching_details_pass_once(bank: Bank, keys: Keys) -> None:
    """RFC 9396 §9; ASVS 5.0 10.3.2: the approved transfer runs once;
    the second use of the txn is refused.
    """
    bearer = token(keys)
    first = bank.post(bearer)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.get_json() == {"txn": "txn-A-3f9c2b"}
    again = bank.post(bearer)
    assert again.status_code == 403
    assert error_of(again).startswith("transaction_replayed:")
    assert again.headers["Cache-Control"] == "no-store"
    assert [txn for txn, _ in bank.executed] == ["txn-A-3f9c2b"]


def test_amount_changed_is_refused(bank: Bank, keys: Keys) -> None:
    """PSD2 RTS Art. 5(1)(d): a changed amount invalidates the approval."""
    response = bank.post(token(keys), amount="1250.01")
    assert response.status_code == 403
    assert error_of(response).startswith("transaction_mismatch:")
    assert "instructedAmount.amount" in error_of(response)
    assert bank.executed == []


def test_payee_swapped_is_refused_and_the_approval_survives(bank: Bank, keys: Keys) -> None:
    """PSD2 RTS Art. 5(1)(d): another payee account, or another payee name, is refused;
    the refused request did not spend the genuine transfer's approval."""
    bearer = token(keys)
    swapped = bank.post(bearer, iban=OTHER_IBAN)
    assert swapped.status_code == 403
    assert "creditorAccount.iban" in error_of(swapped)
    renamed = bank.post(bearer, payee="Mallory")
    assert renamed.status_code == 403
    assert "creditorName" in error_of(renamed)
    assert bank.executed == []
    assert bank.post(bearer).status_code == 200


def test_currency_changed_is_refused(bank: Bank, keys: Keys) -> None:
    """Same figures, another currency: not the approved amount (RFC 9396 §9; ASVS 5.0 10.3.2)."""
    response = bank.post(token(keys), currency="USD")
    assert response.status_code == 403
    assert "instructedAmount.currency" in error_of(response)
    assert bank.executed == []


def test_equal_amount_written_differently_passes(bank: Bank, keys: Keys) -> None:
    """Amounts compare as decimals and IBANs normalised: "1250.0" and a spaced, lower-case
    IBAN are the approved transfer."""
    spaced = " ".join(IBAN[i : i + 4] for i in range(0, len(IBAN), 4)).lower()
    response = bank.post(token(keys), amount="1250.0", iban=spaced)
    assert response.status_code == 200, response.get_data(as_text=True)


def test_token_for_another_transaction_or_unbound_is_refused(bank: Bank, keys: Keys) -> None:
    """A token for transaction A (a batch) does not execute B; a phr token without
    authorization_details authorizes no payment."""
    batch = bank.post(token(keys, details=BATCH))
    assert batch.status_code == 403
    assert error_of(batch).startswith("transaction_mismatch:")
    unbound = bank.post(token(keys, details=None, txn=None))
    assert unbound.status_code == 403
    assert error_of(unbound).startswith("transaction_missing:")
    assert bank.executed == []


def test_no_or_weak_token_is_refused_before_the_binding(bank: Bank, keys: Keys) -> None:
    """401 with the step-up challenge comes first; nothing is consumed."""
    assert bank.post(None).status_code == 401
    weak = bank.post(token(keys, acr="urn:stepauth:acr:1fa"))
    assert weak.status_code == 401
    assert "insufficient_user_authentication" in weak.headers["WWW-Authenticate"]
    assert bank.post(token(keys)).status_code == 200


def test_guard_without_validated_claims_fails_closed(ledger: SyncLedger) -> None:
    """A view guarded without ``require`` has no validated claims: 401, never executed."""
    app = flask.Flask(__name__)
    ran: list[str] = []

    @app.post("/transfers")
    @FlaskTransactionGuard(ledger, details=payment_from_request, clock=lambda: NOW)
    def transfer() -> str:
        ran.append("ran")
        return "ran"

    response = app.test_client().post("/transfers", data=json.dumps(TRANSFER))
    assert response.status_code == 401
    assert ran == []


def test_two_concurrent_uses_exactly_one_wins(bank: Bank, keys: Keys) -> None:
    """The same txn sent by many threads at once: the ledger's single atomic operation lets
    exactly one run the transfer, for each of several transactions."""
    for round_ in range(5):
        bearer = token(keys, txn=f"txn-race-{round_}")
        barrier = threading.Barrier(4)

        def use(bearer: str = bearer, barrier: threading.Barrier = barrier) -> int:
            barrier.wait()
            return int(bank.post(bearer).status_code)

        with ThreadPoolExecutor(4) as pool:
            codes = sorted(pool.map(lambda _: use(), range(4)))
        assert codes == [200, 403, 403, 403], codes
    assert len(bank.executed) == 5
    assert len({txn for txn, _ in bank.executed}) == 5
