"""End to end: the Provider mints a bound access token, the SDK executes it once
(RFC 9396 §7, §9; ASVS 5.0 10.3.2).

The RP pushes ``authorization_details`` (PAR, RFC 9126), the user signs in and approves
them with a passkey (the only factor that binds them, PSD2 RTS Art. 5), the code is
exchanged at the back channel; the access token is validated by the SDK against the
Provider's published keys and then bound to the action with :func:`require_transaction`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from stepauth.sdk import validate_access_token
from stepauth.sdk.jose import KeySet
from stepauth.sdk.sql_ledger import SQLLedger
from stepauth.sdk.transaction import TransactionMismatch, TransactionReplayed, require_transaction
from tests.helpers.bound import approve_with_passkey, passkey_payer
from tests.helpers.harness import (
    CONFIDENTIAL,
    REDIRECT_URI,
    SECRET,
    Provider,
    pkce_pair,
    provider,
)
from tests.helpers.payments import OTHER_IBAN, PAYMENT
from tests.helpers.soft_authenticator import SoftAuthenticator

__all__ = ["provider"]


async def bound_token(
    provider: Provider,
    details: list[dict[str, Any]],
    authenticator: SoftAuthenticator | None = None,
) -> dict[str, Any]:
    """PAR with ``details`` → sign-in → passkey approval of the details → code → tokens."""
    verifier, challenge = pkce_pair()
    pushed = await provider.browser.post(
        "/par",
        data={
            "response_type": "code",
            "client_id": CONFIDENTIAL,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "nonce": "n-txn",
            "authorization_details": json.dumps(details),
        },
        auth=(CONFIDENTIAL, SECRET),
    )
    assert pushed.status_code == 201, pushed.text
    code = await approve_with_passkey(
        provider,
        {"client_id": CONFIDENTIAL, "request_uri": pushed.json()["request_uri"]},
        authenticator,
    )
    return await provider.exchange(code, verifier)


async def sdk_claims(provider: Provider, access_token: str) -> dict[str, Any]:
    """What a resource server holds after :func:`validate_access_token` (RFC 9068)."""
    jwks = KeySet.from_jwks((await provider.browser.get("/jwks")).json())
    return validate_access_token(
        access_token,
        expected_issuer=provider.issuer,
        expected_audience=provider.issuer,
        jwks=jwks,
        now=provider.clock(),
    )


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[SQLLedger]:
    ledger = SQLLedger.from_url(f"sqlite+aiosqlite:///{tmp_path / 'rs-txn.db'}")
    await ledger.create_schema()
    yield ledger
    await ledger.close()


async def test_provider_token_executes_its_transaction_once(
    provider: Provider, ledger: SQLLedger
) -> None:
    tokens = await bound_token(provider, PAYMENT)
    claims = await sdk_claims(provider, tokens["access_token"])
    assert (
        claims["authorization_details"] == tokens["authorization_details"]
    )  # RFC 9396 §7, §9, §9.1, §9.2
    assert isinstance(claims["txn"], str)
    assert claims["txn"]
    now = provider.clock()

    tampered = copy.deepcopy(PAYMENT)
    tampered[0]["creditorAccount"]["iban"] = OTHER_IBAN
    with pytest.raises(TransactionMismatch, match=r"creditorAccount\.iban"):
        await require_transaction(tampered, claims=claims, ledger=ledger, now=now)

    bound = await require_transaction(PAYMENT, claims=claims, ledger=ledger, now=now)
    assert bound.txn == claims["txn"]
    assert bound.txn == (await provider.introspect(tokens["access_token"]))["txn"]
    with pytest.raises(TransactionReplayed):
        await require_transaction(PAYMENT, claims=claims, ledger=ledger, now=now)


async def test_provider_token_for_transaction_a_cannot_execute_b(
    provider: Provider, ledger: SQLLedger
) -> None:
    payment_b = copy.deepcopy(PAYMENT)
    payment_b[0]["instructedAmount"]["amount"] = "80.00"
    payer = await passkey_payer(provider)
    token_a = await bound_token(provider, PAYMENT, payer)
    token_b = await bound_token(provider, payment_b, payer)
    claims_a = await sdk_claims(provider, token_a["access_token"])
    claims_b = await sdk_claims(provider, token_b["access_token"])
    assert claims_a["txn"] != claims_b["txn"]
    now = provider.clock()
    with pytest.raises(TransactionMismatch, match=r"instructedAmount\.amount"):
        await require_transaction(payment_b, claims=claims_a, ledger=ledger, now=now)
    assert (await require_transaction(payment_b, claims=claims_b, ledger=ledger, now=now)).txn
    assert (await require_transaction(PAYMENT, claims=claims_a, ledger=ledger, now=now)).txn
