"""require_transaction: the resource server's binding decision
(RFC 9396 §9; ASVS 5.0 10.3.2; PSD2 RTS Art. 5).

Each tampering case is its own test and names the error and the field. The token's claims
are built as dicts (signature validation is :func:`validate_access_token`'s job, tested
elsewhere); the ledger is a real SQLite database. After every rejected tampering the genuine
action still runs: a refused request does not burn the approval.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from stepauth.errors import StepAuthError
from stepauth.rar import DetailsMismatch, InvalidAuthorizationDetails
from stepauth.sdk.errors import MissingClaim, SDKError, TokenExpired
from stepauth.sdk.sql_ledger import SQLLedger
from stepauth.sdk.transaction import (
    RETAIN_MARGIN,
    BoundTransaction,
    TransactionError,
    TransactionGuard,
    TransactionMismatch,
    TransactionMissing,
    TransactionReplayed,
    require_transaction,
)
from tests.helpers.payments import BATCH, NOW, OTHER_IBAN, PAYMENT, claims_for


def altered(details: list[dict[str, Any]], path: str, value: Any) -> list[dict[str, Any]]:
    """A deep copy of ``details`` with the dotted ``path`` of entry 0 set to ``value``."""
    result = copy.deepcopy(details)
    node: Any = result[0]
    *parents, last = path.split(".")
    for name in parents:
        node = node[int(name)] if isinstance(node, list) else node[name]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return result


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[SQLLedger]:
    ledger = SQLLedger.from_url(f"sqlite+aiosqlite:///{tmp_path / 'txn.db'}", clock=lambda: NOW)
    await ledger.create_schema()
    yield ledger
    await ledger.close()


async def run(details: Any, claims: dict[str, Any], ledger: SQLLedger) -> BoundTransaction:
    return await require_transaction(details, claims=claims, ledger=ledger, now=NOW)


async def assert_mismatch(
    details: Any, claims: dict[str, Any], ledger: SQLLedger, *, path: str
) -> TransactionMismatch:
    with pytest.raises(TransactionMismatch) as caught:
        await run(details, claims, ledger)
    exc = caught.value
    assert exc.error == "transaction_mismatch"
    assert isinstance(exc.reason, DetailsMismatch)
    assert exc.path == path, exc.description
    assert path in exc.description
    # The tampered request did not consume the approval: the genuine action still runs once.
    bound = await run(claims["authorization_details"], claims, ledger)
    assert bound.txn == claims["txn"]
    return exc


async def test_approved_transfer_executes_once(ledger: SQLLedger) -> None:
    """RFC 9396 §9; ASVS 5.0 10.3.2 / PSD2 RTS Art. 5(1)(c):
    the approved action passes, and only once (PSD2 RTS Art. 4(1)).
    """
    claims = claims_for(PAYMENT)
    bound = await run(PAYMENT, claims, ledger)
    assert bound.txn == "txn-A-3f9c2b"
    assert bound.authorization_details[0]["instructedAmount"] == {
        "currency": "EUR",
        "amount": "1250.00",
    }
    assert bound.claims["sub"] == "user-42"
    with pytest.raises(TransactionReplayed) as caught:
        await run(PAYMENT, claims, ledger)
    assert caught.value.error == "transaction_replayed"
    assert caught.value.txn == "txn-A-3f9c2b"


async def test_equal_action_in_another_notation_passes(ledger: SQLLedger) -> None:
    """RFC 9396 §6.1 type-aware comparison: Decimal amount, IBAN in print form, padded name."""
    action = altered(PAYMENT, "instructedAmount.amount", Decimal("1250"))
    action = altered(action, "creditorAccount.iban", "de02 1001 0010 9307 1186 03")
    action = altered(action, "creditorName", "  Erika Mustermann ")
    bound = await run(action, claims_for(PAYMENT), ledger)
    assert bound.txn == "txn-A-3f9c2b"


async def test_amount_changed_after_approval_is_rejected(ledger: SQLLedger) -> None:
    """PSD2 RTS Art. 5(1)(d): €1,250.00 approved, €1,250.01 executed → refused."""
    action = altered(PAYMENT, "instructedAmount.amount", "1250.01")
    exc = await assert_mismatch(action, claims_for(PAYMENT), ledger, path="instructedAmount.amount")
    assert "'1250.00'" in exc.description
    assert "'1250.01'" in exc.description


async def test_amount_changed_to_larger_number_type_is_rejected(ledger: SQLLedger) -> None:
    """A numeric amount is compared as a decimal too: 12500 is not 1250.00."""
    action = altered(PAYMENT, "instructedAmount.amount", 12500)
    await assert_mismatch(action, claims_for(PAYMENT), ledger, path="instructedAmount.amount")


async def test_payee_swapped_is_rejected(ledger: SQLLedger) -> None:
    """PSD2 RTS Art. 5(1)(d): another payee (name and account) → refused, naming the payee field."""
    action = altered(PAYMENT, "creditorName", "Mallory Ltd")
    action = altered(action, "creditorAccount.iban", OTHER_IBAN)
    await assert_mismatch(action, claims_for(PAYMENT), ledger, path="creditorName")


async def test_payee_account_swapped_is_rejected(ledger: SQLLedger) -> None:
    """Same payee name, the attacker's IBAN: refused; the message masks the IBANs."""
    action = altered(PAYMENT, "creditorAccount.iban", OTHER_IBAN)
    exc = await assert_mismatch(action, claims_for(PAYMENT), ledger, path="creditorAccount.iban")
    assert OTHER_IBAN not in exc.description
    assert "3000" in exc.description


async def test_currency_changed_is_rejected(ledger: SQLLedger) -> None:
    """1250.00 EUR approved, 1250.00 GBP executed → refused."""
    action = altered(PAYMENT, "instructedAmount.currency", "GBP")
    await assert_mismatch(action, claims_for(PAYMENT), ledger, path="instructedAmount.currency")


async def test_details_altered_in_the_front_channel_are_rejected(ledger: SQLLedger) -> None:
    """RFC 9396 §12: the reference was changed on the way; any change invalidates the approval."""
    action = altered(PAYMENT, "remittanceInformationUnstructured", "Invoice 2026-119")
    await assert_mismatch(
        action, claims_for(PAYMENT), ledger, path="remittanceInformationUnstructured"
    )


async def test_field_added_to_the_action_is_rejected(ledger: SQLLedger) -> None:
    """A field the payer never saw (here: ``locations``) is a difference, not an extra."""
    action = altered(PAYMENT, "locations", ["https://api.bank.example/payments"])
    await assert_mismatch(action, claims_for(PAYMENT), ledger, path="locations")


async def test_field_dropped_from_the_action_is_rejected(ledger: SQLLedger) -> None:
    action = copy.deepcopy(PAYMENT)
    del action[0]["remittanceInformationUnstructured"]
    await assert_mismatch(
        action, claims_for(PAYMENT), ledger, path="remittanceInformationUnstructured"
    )


async def test_other_type_of_action_is_rejected(ledger: SQLLedger) -> None:
    """A payment approval does not authorize deleting a tenant."""
    action = [{"type": "stepauth_action", "action": "tenant.delete", "target": "t-42"}]
    await assert_mismatch(action, claims_for(PAYMENT), ledger, path="type")


async def test_token_for_transaction_a_used_for_b_is_rejected(ledger: SQLLedger) -> None:
    """Swapping tokens: A's approval cannot execute B, and B's own token still can."""
    payment_b = altered(PAYMENT, "instructedAmount.amount", "80.00")
    payment_b = altered(payment_b, "remittanceInformationUnstructured", "Invoice 2026-120")
    token_a = claims_for(PAYMENT, txn="txn-A-3f9c2b")
    token_b = claims_for(payment_b, txn="txn-B-77d0e1")
    await assert_mismatch(payment_b, token_a, ledger, path="instructedAmount.amount")
    assert (await run(payment_b, token_b, ledger)).txn == "txn-B-77d0e1"


async def test_second_transaction_added_to_the_action_is_rejected(ledger: SQLLedger) -> None:
    """One approved payment does not cover two executed ones."""
    action = PAYMENT + altered(PAYMENT, "creditorName", "Max Mustermann")
    with pytest.raises(TransactionMismatch, match="granted 1 authorization_details entries"):
        await run(action, claims_for(PAYMENT), ledger)


async def test_same_txn_used_twice_is_rejected(ledger: SQLLedger) -> None:
    """Two tokens minted for the same approval (e.g. a refresh) still execute it once."""
    first = claims_for(PAYMENT, jti="at-1")
    second = claims_for(PAYMENT, jti="at-2", exp=int(NOW) + 600)
    await run(PAYMENT, first, ledger)
    with pytest.raises(TransactionReplayed, match="already been executed"):
        await run(PAYMENT, second, ledger)


async def test_batch_with_one_payee_swapped_is_rejected(ledger: SQLLedger) -> None:
    """Art. 5(3)(b): the code is specific to the total and to every payee."""
    action = copy.deepcopy(BATCH)
    action[0]["payees"][1]["creditorAccount"]["iban"] = OTHER_IBAN
    await assert_mismatch(action, claims_for(BATCH), ledger, path="payees[1].creditorAccount.iban")


async def test_batch_with_payees_reordered_is_rejected(ledger: SQLLedger) -> None:
    """Batch entries match position by position: who gets which amount may not move."""
    action = copy.deepcopy(BATCH)
    payees = action[0]["payees"]
    payees[0]["creditorName"], payees[1]["creditorName"] = (
        payees[1]["creditorName"],
        payees[0]["creditorName"],
    )
    await assert_mismatch(action, claims_for(BATCH), ledger, path="payees[0].creditorName")


async def test_approved_batch_executes_once(ledger: SQLLedger) -> None:
    bound = await run(copy.deepcopy(BATCH), claims_for(BATCH), ledger)
    assert len(bound.authorization_details[0]["payees"]) == 3
    with pytest.raises(TransactionReplayed):
        await run(BATCH, claims_for(BATCH), ledger)


async def test_missing_txn_fails_closed(ledger: SQLLedger) -> None:
    """A token with details but no txn cannot be made single-use: refused."""
    with pytest.raises(TransactionMissing, match="no txn") as caught:
        await run(PAYMENT, claims_for(PAYMENT, txn=None), ledger)
    assert caught.value.error == "transaction_missing"


@pytest.mark.parametrize("txn", ["", 42, ["txn-A"], "x" * 257, "txn\nA"])
async def test_malformed_txn_fails_closed(ledger: SQLLedger, txn: Any) -> None:
    with pytest.raises(TransactionMissing):
        await run(PAYMENT, claims_for(PAYMENT, txn=txn), ledger)


async def test_missing_authorization_details_fail_closed(ledger: SQLLedger) -> None:
    """A plain (unbound) step-up token never authorizes a bound action, whatever its acr."""
    claims = claims_for(PAYMENT)
    del claims["authorization_details"]
    with pytest.raises(TransactionMissing, match="no authorization_details"):
        await run(PAYMENT, claims, ledger)


async def test_empty_authorization_details_fail_closed(ledger: SQLLedger) -> None:
    with pytest.raises(TransactionMissing):
        await run(PAYMENT, claims_for([]), ledger)


async def test_unreadable_grant_fails_closed(ledger: SQLLedger) -> None:
    """A granted type this resource server does not know cannot be compared: refused."""
    grant = [{"type": "crypto_withdrawal", "amount": "5"}]
    with pytest.raises(TransactionMismatch) as caught:
        await run(grant, claims_for(grant), ledger)
    assert isinstance(caught.value.reason, InvalidAuthorizationDetails)


@pytest.mark.parametrize("action", [None, "payment", {"type": "payment_initiation"}, [None]])
async def test_malformed_action_details_are_a_mismatch(ledger: SQLLedger, action: Any) -> None:
    with pytest.raises(TransactionMismatch):
        await run(action, claims_for(PAYMENT), ledger)


async def test_expired_token_is_refused_before_consuming(ledger: SQLLedger) -> None:
    claims = claims_for(PAYMENT, exp=int(NOW) - 60)
    with pytest.raises(TokenExpired):
        await run(PAYMENT, claims, ledger)
    # within the leeway of a just-expired token the transaction runs; nothing was recorded
    claims = claims_for(PAYMENT, exp=int(NOW) - 10)
    assert (await run(PAYMENT, claims, ledger)).txn == "txn-A-3f9c2b"


async def test_token_without_exp_is_refused(ledger: SQLLedger) -> None:
    claims = claims_for(PAYMENT)
    del claims["exp"]
    with pytest.raises(MissingClaim):
        await run(PAYMENT, claims, ledger)


async def test_used_txn_is_kept_until_the_token_is_dead(ledger: SQLLedger) -> None:
    """The record outlives exp + leeway, so a purge cannot bring back a usable approval."""
    await run(PAYMENT, claims_for(PAYMENT), ledger)
    assert await ledger.purge(now=NOW + 300 + 30) == 0
    assert await ledger.purge(now=NOW + 300 + 30 + RETAIN_MARGIN) == 1


async def test_guard_binds_ledger_and_clock(ledger: SQLLedger) -> None:
    guard = TransactionGuard(ledger, clock=lambda: NOW)
    assert (await guard.check(PAYMENT, claims_for(PAYMENT))).txn == "txn-A-3f9c2b"
    with pytest.raises(TransactionReplayed):
        await guard.check(PAYMENT, claims_for(PAYMENT))
    late = TransactionGuard(ledger, clock=lambda: NOW + 3600)
    with pytest.raises(TokenExpired):
        await late.check(PAYMENT, claims_for(PAYMENT, txn="txn-C"))


def test_errors_are_sdk_errors_with_stable_codes() -> None:
    """No bare ValueError: every failure is a StepAuthError with its own code."""
    codes = {
        TransactionMissing: "transaction_missing",
        TransactionMismatch: "transaction_mismatch",
        TransactionReplayed: "transaction_replayed",
    }
    for cls, code in codes.items():
        assert issubclass(cls, TransactionError)
        assert issubclass(cls, SDKError)
        assert issubclass(cls, StepAuthError)
        assert not issubclass(cls, ValueError)
        assert cls.error == code


async def test_an_async_ledger_under_sync_code_refuses_rather_than_trusts_its_answer(
    ledger: SQLLedger,
) -> None:
    """Fail closed: an unawaited ``consume`` would read as a first use; the sync guard
    refuses the action instead (nothing was recorded, so nothing may run)."""
    from stepauth.sdk.transaction import (
        SyncTransactionGuard,
        TransactionRefusal,
        TransactionUnavailable,
        require_transaction_sync,
    )

    claims = claims_for(PAYMENT)
    with pytest.raises(TransactionUnavailable):
        require_transaction_sync(PAYMENT, claims=claims, ledger=ledger, now=NOW)
    guard = SyncTransactionGuard(ledger, clock=lambda: NOW)
    refusal = guard.check_request(claims, lambda: PAYMENT)
    assert isinstance(refusal, TransactionRefusal)
    assert (refusal.status, refusal.error) == (403, "transaction_unavailable")
