"""``stepauth audit verify-transaction``: re-verify a stored approval (PSD2 RTS Art. 5,
dynamic linking; team contract "Transaction approval record")."""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

import pytest

from stepauth.cli import main
from stepauth.provider.config import load_config
from stepauth.provider.factors.webauthn.transaction_audit import verify_transaction
from stepauth.rar import transaction_challenge
from stepauth.store import open_store
from tests.helpers.soft_authenticator import SoftAuthenticator, b64url, cose_es256

RP_ID = "bank.example"
ORIGIN = "https://bank.example"
DETAILS = [
    {
        "type": "payment_initiation",
        "instructedAmount": {"currency": "EUR", "amount": "123.50"},
        "creditorName": "Merchant A",
        "creditorAccount": {"iban": "DE02100100109307118603"},
    }
]


def approval(authenticator: SoftAuthenticator, **get: Any) -> dict[str, Any]:
    """What the Provider stores after a WebAuthn step-up that approved DETAILS."""
    nonce = os.urandom(32)
    challenge = transaction_challenge(nonce, DETAILS)
    assertion = authenticator.get(challenge, **get)
    response = assertion["response"]
    return {
        "txn": secrets.token_urlsafe(16),
        "user_id": "user-1",
        "client_id": "bank-app",
        "authorization_details": DETAILS,
        "nonce": b64url(nonce),
        "rp_id": RP_ID,
        "origin": ORIGIN,
        "credential_id": assertion["rawId"],
        "credential_public_key": b64url(cose_es256(authenticator.key.public_key())),
        "client_data_json": response["clientDataJSON"],
        "authenticator_data": response["authenticatorData"],
        "signature": response["signature"],
        "user_handle": response.get("userHandle"),
        "verified_at": time.time(),
    }


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN)


def test_valid_record(authenticator: SoftAuthenticator) -> None:
    check = verify_transaction(approval(authenticator))
    assert check.valid
    assert check.details == DETAILS


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_tampered_amount_fails_at_the_challenge(authenticator: SoftAuthenticator) -> None:
    record = approval(authenticator)
    record["authorization_details"] = [
        {**DETAILS[0], "instructedAmount": {"currency": "EUR", "amount": "9123.50"}}
    ]
    check = verify_transaction(record)
    assert not check.valid
    assert check.failed_step == "challenge"


def test_tampered_nonce_fails_at_the_challenge(authenticator: SoftAuthenticator) -> None:
    record = approval(authenticator)
    record["nonce"] = b64url(os.urandom(32))
    assert verify_transaction(record).failed_step == "challenge"


def test_registration_data_is_not_an_assertion(authenticator: SoftAuthenticator) -> None:
    record = approval(authenticator)
    data = json.loads(_unb64(record["client_data_json"]))
    data["type"] = "webauthn.create"
    record["client_data_json"] = b64url(json.dumps(data).encode())
    assert verify_transaction(record).failed_step == "type"


def test_other_origin_fails(authenticator: SoftAuthenticator) -> None:
    record = approval(authenticator)
    record["origin"] = "https://evil.example"
    assert verify_transaction(record).failed_step == "origin"


def test_other_rp_id_fails(authenticator: SoftAuthenticator) -> None:
    record = approval(authenticator)
    record["rp_id"] = "evil.example"
    assert verify_transaction(record).failed_step == "rpIdHash"


def test_without_user_verification_fails(authenticator: SoftAuthenticator) -> None:
    assert verify_transaction(approval(authenticator, uv=False)).failed_step == "flags"


def test_backup_state_without_eligibility_fails_at_the_flags(
    authenticator: SoftAuthenticator,
) -> None:
    """WebAuthn L3 §7.2 step 17: the audit runs the sign-in's steps, BS=1 with BE=0 too."""
    record = approval(authenticator, be=False, bs=True)
    assert verify_transaction(record).failed_step == "flags"


def test_cross_origin_assertion_fails_at_the_origin(authenticator: SoftAuthenticator) -> None:
    """WebAuthn L3 §7.2 step 13: an approval made in a cross-origin iframe was never
    accepted by the Provider, so the audit refuses it too."""
    record = approval(authenticator, client_data={"crossOrigin": True})
    assert verify_transaction(record).failed_step == "origin"


def test_signature_by_another_key_fails(authenticator: SoftAuthenticator) -> None:
    record = approval(authenticator)
    other = SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN)
    record["credential_public_key"] = b64url(cose_es256(other.key.public_key()))
    assert verify_transaction(record).failed_step == "signature"


def test_tampered_authenticator_data_fails_at_the_signature(
    authenticator: SoftAuthenticator,
) -> None:
    record = approval(authenticator)
    data = bytearray(_unb64(record["authenticator_data"]))
    data[-1] ^= 0x01  # signCount
    record["authenticator_data"] = b64url(bytes(data))
    assert verify_transaction(record).failed_step == "signature"


def test_missing_field_fails_at_the_record(authenticator: SoftAuthenticator) -> None:
    record = approval(authenticator)
    del record["signature"]
    assert verify_transaction(record).failed_step == "record"


async def _store_record(config: Path, record: dict[str, Any]) -> None:
    store = await open_store(load_config(config).database.url)
    try:
        await store.put("txn_record", record["txn"], record, expires_at=None, user_id="user-1")
    finally:
        await store.close()


async def test_cli_valid_then_invalid_after_tampering(
    config: Path, authenticator: SoftAuthenticator, capsys: pytest.CaptureFixture[str]
) -> None:
    record = approval(authenticator)
    await _store_record(config, record)
    code = await _main(["audit", "verify-transaction", record["txn"], "--config", str(config)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("VALID")
    assert "Merchant A" in out
    assert "123.50" in out
    tampered = {**record, "authorization_details": [{**DETAILS[0], "creditorName": "Mallory"}]}
    await _store_record(config, tampered)
    code = await _main(["audit", "verify-transaction", record["txn"], "--config", str(config)])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("INVALID")
    assert "challenge" in out


async def test_cli_unknown_transaction_is_an_error_not_invalid(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No stored approval is a usage error (exit 2), told apart from a failed check (1)."""
    code = await _main(["audit", "verify-transaction", "no-such-txn", "--config", str(config)])
    assert code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "stepauth: error: no such transaction 'no-such-txn' (no approval is stored for it)\n"
    )


async def _main(argv: list[str]) -> int:
    """``main`` runs its own event loop: call it from a worker thread."""
    import anyio.to_thread

    return await anyio.to_thread.run_sync(main, argv)
