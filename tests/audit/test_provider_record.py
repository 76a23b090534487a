"""verify-transaction on a record the Provider itself stored after a bound passkey
step-up (second-wave contract): VALID, and INVALID once the stored details change."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stepauth.provider.factors.webauthn.transaction_audit import verify_transaction
from tests.helpers.bank import BANK, bank_client, code_request, front, push_details
from tests.helpers.frontchannel import open_interaction, sign_in
from tests.helpers.harness import (
    SECRET,
    Provider,
    decode_unverified,
    pkce_pair,
    running_provider,
)
from tests.helpers.passkeys import enrol_passkey, rp_params, use_passkey, use_passkeys

PAYMENT = [
    {
        "type": "payment_initiation",
        "instructedAmount": {"currency": "EUR", "amount": "75.00"},
        "creditorName": "Merchant B",
        "creditorAccount": {"iban": "DE02100100109307118603"},
    }
]


@pytest.fixture
async def provider(tmp_path: Path) -> AsyncIterator[Provider]:
    async with running_provider(tmp_path, clients=[bank_client(require_par=False)]) as running:
        await running.create_user()
        use_passkeys(running)
        yield running


async def test_provider_record_verifies_and_tampering_is_found(provider: Provider) -> None:
    alice = await provider.store.get_user_by_username("alice")
    authenticator = await enrol_passkey(provider, alice.id)
    _, challenge = pkce_pair()
    await sign_in(provider.browser, code_request(challenge))
    verifier, request_uri = await push_details(provider, PAYMENT)
    shown = await open_interaction(provider.browser, front(request_uri))
    response = await use_passkey(provider.browser, shown, authenticator)
    tokens = await provider.exchange(
        rp_params(response)["code"], verifier, client_id=BANK, secret=SECRET
    )
    txn = decode_unverified(tokens["access_token"])["txn"]
    item = await provider.store.get("txn_record", txn, now=provider.clock())
    assert item is not None
    record = dict(item.payload)
    check = verify_transaction(record)
    assert check.valid, check
    assert check.details == PAYMENT
    tampered = json.loads(json.dumps(record))
    tampered["authorization_details"][0]["creditorName"] = "Mallory"
    check = verify_transaction(tampered)
    assert not check.valid
    assert check.failed_step == "challenge"
