"""The transaction guard of every web adapter: signed bound tokens over HTTP
(RFC 9396 §9; ASVS 5.0 10.3.2; PSD2 RTS Art. 5(1)(c)-(d)).

Each scenario is written once and runs against every bank of
:mod:`tests.helpers.guarded_banks`: Flask over a Redis, SQLite and PostgreSQL ledger,
FastAPI and plain Starlette over SQLite, Django over Redis. The token is a real RS256 JWT
validated through ``require("phr")``; the guard compares the request's payment with the
granted one and consumes the ``txn`` in one atomic ledger operation. The view records each
transfer it runs, so the tests see what was executed, not only what was answered.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import flask
import pytest

from stepauth.rar import canonical_json
from stepauth.sdk.flask import FlaskTransactionGuard
from stepauth.sdk.ledger import SyncLedger
from stepauth.sdk.redis_stores import SyncRedisLedger
from stepauth.sdk.sql_ledger import SyncSQLLedger
from tests.helpers.guarded_banks import AsgiBank, Bank, DjangoBank, FlaskBank, Send
from tests.helpers.payments import (
    API,
    BATCH,
    IBAN,
    NOW,
    OTHER_IBAN,
    PAYMENT,
    TRANSFER,
    claims_for,
    payment_of,
)
from tests.sdk.conftest import Keys, sign

TXN = "txn-A-3f9c2b"
LEDGERS = ["redis", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
BANKS = [
    "flask-redis",
    "flask-sqlite",
    pytest.param("flask-postgresql", marks=pytest.mark.postgres),
    "fastapi",
    "starlette",
    "django",
]


@contextmanager
def open_sync_ledger(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[SyncLedger]:
    """A sync ledger in a real Redis (``SET NX PX``), SQLite or PostgreSQL
    (``INSERT … ON CONFLICT DO NOTHING RETURNING``)."""
    if kind == "redis":
        url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_prefix")
        redis_ledger = SyncRedisLedger.from_url(url, prefix=prefix, clock=lambda: NOW)
        try:
            yield redis_ledger
        finally:
            redis_ledger.close()
        return
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'txn.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    sql_ledger = SyncSQLLedger.from_url(url, clock=lambda: NOW)
    sql_ledger.create_schema()
    try:
        yield sql_ledger
    finally:
        sql_ledger.close()


@pytest.fixture(params=LEDGERS)
def sync_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SyncLedger]:
    with open_sync_ledger(request.param, request, tmp_path) as ledger:
        yield ledger


@pytest.fixture(params=BANKS)
def bank(request: pytest.FixtureRequest, keys: Keys, tmp_path: Path) -> Iterator[Bank]:
    """The adapter's bank; Flask's once per ledger."""
    adapter, _, ledger_kind = request.param.partition("-")
    if adapter == "flask":
        with open_sync_ledger(ledger_kind, request, tmp_path) as ledger:
            yield FlaskBank(keys.key_set(), ledger)
    elif adapter == "django":
        redis_url = request.getfixturevalue("redis_url")
        yield DjangoBank(keys.jwks("rsa"), redis_url, request.getfixturevalue("redis_prefix"))
    else:
        yield AsgiBank(keys.key_set(), tmp_path / "txn.db", adapter)


def token(keys: Keys, details: Any = PAYMENT, **overrides: Any) -> str:
    claims = claims_for(details, aud=API, jti="at-1", **overrides)
    return sign(claims, keys.rsa, typ="at+jwt")


def test_matching_details_pass_once(bank: Bank, keys: Keys) -> None:
    """RFC 9396 §9; ASVS 5.0 10.3.2: the approved transfer runs once;
    the second use of the txn is refused.
    """
    bearer = token(keys)
    outcome = bank.run(Send(bearer), Send(bearer))
    first, again = outcome.answers
    assert first.status == 200, first
    assert first.body == {"txn": TXN}
    assert again.status == 403
    assert again.error.startswith("transaction_replayed:")
    assert again.cache_control == "no-store"
    assert outcome.executed == [TXN]


def test_amount_changed_is_refused(bank: Bank, keys: Keys) -> None:
    """PSD2 RTS Art. 5(1)(d): a changed amount, by a cent or by thousands, invalidates the
    approval."""
    outcome = bank.run(
        Send(token(keys), {"amount": "1250.01"}), Send(token(keys), {"amount": "9250.00"})
    )
    for answer in outcome.answers:
        assert answer.status == 403
        assert answer.error.startswith("transaction_mismatch:")
        assert "instructedAmount.amount" in answer.error
    assert outcome.executed == []


def test_payee_swapped_is_refused_and_the_approval_survives(bank: Bank, keys: Keys) -> None:
    """PSD2 RTS Art. 5(1)(d): another payee account, or another payee name, is refused;
    the refused request did not spend the genuine transfer's approval."""
    bearer = token(keys)
    refused = bank.run(Send(bearer, {"iban": OTHER_IBAN}), Send(bearer, {"payee": "Mallory"}))
    swapped, renamed = refused.answers
    assert swapped.status == 403
    assert swapped.error.startswith("transaction_mismatch:")
    assert "creditorAccount.iban" in swapped.error
    assert renamed.status == 403
    assert renamed.error.startswith("transaction_mismatch:")
    assert "creditorName" in renamed.error
    assert refused.executed == []
    genuine = bank.run(Send(bearer))
    assert genuine.answers[0].status == 200
    assert genuine.executed == [TXN]


def test_currency_changed_is_refused(bank: Bank, keys: Keys) -> None:
    """Same figures, another currency: not the approved amount (RFC 9396 §9; ASVS 5.0 10.3.2)."""
    outcome = bank.run(Send(token(keys), {"currency": "USD"}))
    (answer,) = outcome.answers
    assert answer.status == 403
    assert answer.error.startswith("transaction_mismatch:")
    assert "instructedAmount.currency" in answer.error
    assert outcome.executed == []


def test_equal_amount_written_differently_passes(bank: Bank, keys: Keys) -> None:
    """Amounts compare as decimals and IBANs normalised: "1250.0" and a spaced, lower-case
    IBAN are the approved transfer."""
    spaced = " ".join(IBAN[i : i + 4] for i in range(0, len(IBAN), 4)).lower()
    outcome = bank.run(Send(token(keys), {"amount": "1250.0", "iban": spaced}))
    assert outcome.answers[0].status == 200, outcome.answers[0]
    assert outcome.executed == [TXN]


def test_token_for_another_transaction_or_unbound_is_refused(bank: Bank, keys: Keys) -> None:
    """A token for transaction A (a batch) does not execute B; a phr token without
    authorization_details meets the acr but authorizes no payment."""
    outcome = bank.run(Send(token(keys, details=BATCH)), Send(token(keys, details=None, txn=None)))
    batch, unbound = outcome.answers
    assert batch.status == 403
    assert batch.error.startswith("transaction_mismatch:")
    assert unbound.status == 403
    assert unbound.error.startswith("transaction_missing:")
    assert outcome.executed == []


def test_no_or_weak_token_is_refused_before_the_binding(bank: Bank, keys: Keys) -> None:
    """The binding is checked after the token: 401 with the RFC 9470 step-up challenge comes
    first, and nothing is consumed."""
    refused = bank.run(Send(None), Send(token(keys, acr="urn:stepauth:acr:1fa")))
    anonymous, weak = refused.answers
    assert anonymous.status == 401
    assert weak.status == 401
    assert "insufficient_user_authentication" in (weak.www_authenticate or "")
    assert refused.executed == []
    assert bank.run(Send(token(keys))).answers[0].status == 200


def test_forged_details_in_an_unsigned_token_are_refused(bank: Bank, keys: Keys) -> None:
    """Editing the token's authorization_details breaks its signature: 401, never executed."""
    header, _payload, signature = token(keys).split(".")
    claims = claims_for(PAYMENT, aud=API, jti="at-1")
    claims["authorization_details"][0]["creditorAccount"]["iban"] = OTHER_IBAN
    forged_payload = base64.urlsafe_b64encode(canonical_json(claims)).rstrip(b"=").decode()
    forged = f"{header}.{forged_payload}.{signature}"
    outcome = bank.run(Send(forged, {"iban": OTHER_IBAN}))
    assert outcome.answers[0].status == 401
    assert outcome.executed == []


def test_concurrent_uses_exactly_one_wins(bank: Bank, keys: Keys) -> None:
    """The same txn sent four times at once: the ledger's single atomic operation lets
    exactly one run the transfer, for each of several transactions."""
    rounds = [Send(token(keys, txn=f"txn-race-{n}"), concurrent=4) for n in range(5)]
    outcome = bank.run(*rounds)
    for answers in outcome.answers:
        assert [a.status for a in answers] == [200, 403, 403, 403], answers
        assert all(a.error.startswith("transaction_replayed:") for a in answers[1:]), answers
    assert sorted(outcome.executed) == [f"txn-race-{n}" for n in range(5)]


def test_flask_guard_without_validated_claims_fails_closed(sync_ledger: SyncLedger) -> None:
    """A view guarded without ``require`` has no validated claims: 401, never executed."""
    app = flask.Flask(__name__)
    ran: list[str] = []

    @app.post("/transfers")
    @FlaskTransactionGuard(
        sync_ledger, details=lambda r: payment_of(r.get_json(force=True)), clock=lambda: NOW
    )
    def transfer() -> str:
        ran.append("ran")
        return "ran"

    response = app.test_client().post("/transfers", data=json.dumps(TRANSFER))
    assert response.status_code == 401
    assert ran == []


def test_django_async_view_passes_once(keys: Keys, redis_url: str, redis_prefix: str) -> None:
    """An async Django view behind the guard: the transfer runs once, the replay is refused."""
    bank = DjangoBank(keys.jwks("rsa"), redis_url, redis_prefix)
    bearer = token(keys)
    outcome = bank.run(Send(bearer, path="/transfers-async"), Send(bearer, path="/transfers-async"))
    first, again = outcome.answers
    assert first.status == 200, first
    assert again.status == 403
    assert again.error.startswith("transaction_replayed:")
    assert outcome.executed == [TXN]
