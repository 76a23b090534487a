"""The typed payloads of the main store items keep the stored JSON format.

Items written before :mod:`stepauth.provider.records` existed must read as before (no
migration): each record is built from such a payload, and writes its keys back unchanged.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from stepauth.provider.grant_record import Grant
from stepauth.provider.records import AuthorizationCode, Interaction, TxnRecord, WebAuthnChallenge
from stepauth.store import StoreError

INTERACTION: dict[str, Any] = {
    "request": {"client_id": "rp", "scope": "openid"},
    "created_at": 1_700_000_000.0,
    "before": [{"type": "pwd", "at": 1_699_999_000}],
    "csrf": "csrf-token",
    "browser": "ab" * 32,
}
CODE: dict[str, Any] = {
    "client_id": "rp",
    "redirect_uri": "https://rp.example/cb",
    "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    "code_challenge_method": "S256",
    "scope": "openid profile",
    "nonce": "n-0S6_WzA2Mj",
    "sub": "user-1",
    "sid": "sid-1",
    "acr": "phr",
    "amr": ["hwk", "user"],
    "auth_time": 1_700_000_000,
    "claims": {"userinfo": {"name": None}},
    "authorization_details": [{"type": "payment_initiation", "amount": "10.00"}],
    "max_age_requested": False,
    "acr_requested": True,
    "grant_id": "grant-1",
    "resource": "https://api.example",
}
AUTHENTICATE: dict[str, Any] = {
    "purpose": "authenticate",
    "interaction": "uid-1",
    "challenge": "Y2hhbGxlbmdl",
    "nonce": None,
    "user_id": None,
    "allow": [],
    "authorization_details": None,
}
REGISTER: dict[str, Any] = {
    "challenge": "Y2hhbGxlbmdl",
    "user_id": "user-1",
    "purpose": "register",
    "type": "security-key",
}


def test_interaction_round_trips_the_stored_payload() -> None:
    interaction = Interaction.from_payload(INTERACTION)
    assert interaction.txn is None
    assert interaction.to_payload() == INTERACTION  # no "txn" key until one is approved
    approved = interaction.with_txn("txn-1")
    assert approved.to_payload() == {**INTERACTION, "txn": "txn-1"}
    assert Interaction.from_payload(approved.to_payload()) == approved


def test_interaction_without_its_browser_binding_is_refused() -> None:
    payload = {k: v for k, v in INTERACTION.items() if k != "browser"}
    with pytest.raises(StoreError):
        Interaction.from_payload(payload)


def test_authorization_code_round_trips_the_stored_payload() -> None:
    code = AuthorizationCode.from_payload(CODE)
    assert code.to_payload() == CODE
    with_txn = {**CODE, "txn": "txn-1"}
    assert AuthorizationCode.from_payload(with_txn).to_payload() == with_txn


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"txn": "txn-stored"},
        {"authorization_details": None, "claims": None, "auth_time": None, "sid": None},
        {"authorization_details": [], "claims": {}, "amr": [], "acr": None, "resource": None},
        {"client_id": None, "scope": "", "auth_time": 1_700_000_000.5, "dpop_jkt": "jkt-1"},
    ],
)
@pytest.mark.parametrize("txn", [None, "txn-new"])
def test_the_grant_of_a_code_record_is_the_grant_of_its_payload(
    changes: dict[str, Any], txn: str | None
) -> None:
    code = AuthorizationCode.from_payload({**CODE, **changes})
    assert Grant.from_code_record(code, txn=txn) == Grant.from_code(code.to_payload(), txn=txn)


def test_optional_text_of_a_code_that_is_not_text_reads_as_none() -> None:
    names = ("client_id", "redirect_uri", "code_challenge", "nonce", "sid", "acr", "resource")
    odd = {**CODE, **dict.fromkeys(names, 7), "dpop_jkt": ["k"]}
    code = AuthorizationCode.from_payload(odd)
    assert [getattr(code, name) for name in (*names, "dpop_jkt")] == [None] * 8
    assert (code.sub, code.grant_id, code.scope) == ("user-1", "grant-1", "openid profile")
    missing = AuthorizationCode.from_payload({"sub": "user-1", "grant_id": "grant-1"})
    assert [getattr(missing, name) for name in (*names, "dpop_jkt")] == [None] * 8


def test_authorization_code_without_its_grant_is_refused() -> None:
    with pytest.raises(StoreError):
        AuthorizationCode.from_payload({k: v for k, v in CODE.items() if k != "grant_id"})


@pytest.mark.parametrize("payload", [AUTHENTICATE, REGISTER])
def test_webauthn_challenge_round_trips_both_purposes(payload: dict[str, Any]) -> None:
    challenge = WebAuthnChallenge.from_payload(payload)
    assert challenge is not None
    assert challenge.to_payload() == payload


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {},
        {**AUTHENTICATE, "challenge": None},
        {**AUTHENTICATE, "purpose": 1},
        {**AUTHENTICATE, "user_id": ["user-1"]},
        {**AUTHENTICATE, "allow": "credential"},
        {**AUTHENTICATE, "authorization_details": {"type": "x"}},
    ],
)
def test_a_payload_that_is_no_challenge_reads_as_none(payload: dict[str, Any] | None) -> None:
    """WebAuthn L3 §13.4.3: the ceremony is checked against the challenge the server
    keeps; one that does not read fails the ceremony (closed)."""
    assert WebAuthnChallenge.from_payload(payload) is None


def test_txn_record_writes_the_keys_the_audit_verifier_reads() -> None:
    from stepauth.provider.factors.webauthn.transaction_audit import (
        RECORD_KIND,
        verify_transaction,
    )

    record = TxnRecord(
        txn="txn-1",
        user_id="user-1",
        client_id="rp",
        authorization_details=[{"type": "payment_initiation"}],
        nonce="bm9uY2U",
        rp_id="localhost",
        origin="http://localhost:8080",
        credential_id="Y3JlZA",
        credential_public_key="a2V5",
        client_data_json="e30",
        authenticator_data="ZGF0YQ",
        signature="c2ln",
        user_handle=None,
        verified_at=1_700_000_000.0,
    )
    assert TxnRecord.KIND == RECORD_KIND
    payload = record.to_payload()
    assert set(payload) == {f.name for f in dataclasses.fields(TxnRecord)}
    # every member is present, so the verifier gets past the record step and fails on
    # the (made-up) challenge instead
    check = verify_transaction(payload)
    assert not check.valid
    assert check.failed_step == "challenge"
