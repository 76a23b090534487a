"""Transaction-bound step-up on the Provider (docs/transaction-binding.md; PSD2 RTS Art. 5(1);
RFC 9396 §2; SPC CollectedClientPaymentData).

A payment pushed with PAR is shown from the Provider's own copy, the passkey signs
``SHA-256(nonce ‖ JCS(details))``, the approval is stored as a re-verifiable
``txn_record`` and the tokens carry the granted details and its ``txn``.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from stepauth.rar import canonical_json, transaction_challenge
from tests.helpers.bank import BANK, PHR, code_request, front, push_details
from tests.helpers.frontchannel import open_interaction, page, sign_in, submit
from tests.helpers.harness import (
    ISSUER,
    REDIRECT_URI,
    SECRET,
    Provider,
    check_id_token,
    decode_unverified,
    pkce_pair,
)
from tests.helpers.passkeys import (
    enrol_passkey,
    passkey_options,
    refused,
    rp_params,
    unb64url,
    use_passkey,
)
from tests.helpers.soft_authenticator import SoftAuthenticator

#: The bank's payment, with a remittance line the page must show verbatim.
PAYMENT = [
    {
        "type": "payment_initiation",
        "instructedAmount": {"currency": "EUR", "amount": "1250.00"},
        "creditorName": "Merchant A",
        "creditorAccount": {"iban": "DE02100100109307118603"},
        "remittanceInformationUnstructured": "Invoice 4711",
    }
]


@pytest.fixture
def provider(bank: Provider) -> Provider:
    """A Provider whose bank client must push authorization_details (RFC 9396 §10)."""
    return bank


async def _signed_in(provider: Provider) -> SoftAuthenticator:
    """alice, signed in with her password, holding a passkey."""
    alice = await provider.store.get_user_by_username("alice")
    authenticator = await enrol_passkey(provider, alice.id)
    _, challenge = pkce_pair()
    await sign_in(provider.browser, code_request(challenge))
    return authenticator


async def _exchange(provider: Provider, code: str, verifier: str) -> dict[str, Any]:
    return await provider.exchange(code, verifier, client_id=BANK, secret=SECRET)


def _reverify(record: dict[str, Any]) -> bytes:
    """`stepauth audit verify-transaction`, by hand: challenge, clientData, rpIdHash and the
    signature with the stored COSE key. Returns the recomputed challenge."""
    challenge = transaction_challenge(unb64url(record["nonce"]), record["authorization_details"])
    client_data = json.loads(unb64url(record["client_data_json"]))
    assert client_data["type"] == "webauthn.get"
    assert unb64url(client_data["challenge"]) == challenge
    assert client_data["origin"] == record["origin"] == ISSUER
    auth_data = unb64url(record["authenticator_data"])
    assert auth_data[:32] == hashlib.sha256(record["rp_id"].encode()).digest()
    cose = cbor2.loads(unb64url(record["credential_public_key"]))
    key = ec.EllipticCurvePublicNumbers(
        int.from_bytes(cose[-2], "big"), int.from_bytes(cose[-3], "big"), ec.SECP256R1()
    ).public_key()
    signed = auth_data + hashlib.sha256(unb64url(record["client_data_json"])).digest()
    key.verify(unb64url(record["signature"]), signed, ec.ECDSA(hashes.SHA256()))
    return challenge


async def test_challenge_is_the_hash_of_nonce_and_canonical_details(provider: Provider) -> None:
    """WebAuthn L3 §13.5.3; PSD2 RTS Art. 5(1)(b), RFC 9396 §2; SPC (CollectedClientPaymentData):
    the page shows amount and payee from the Provider's copy; the passkey challenge is SHA-256(nonce
    ‖ JCS(details)); the approval is stored
    and re-verifiable; the tokens and introspection carry the details and the txn."""
    authenticator = await _signed_in(provider)
    verifier, request_uri = await push_details(provider, PAYMENT, acr_values=PHR)
    shown = await open_interaction(provider.browser, front(request_uri))
    assert "binding_required" in shown.reasons()
    assert shown.kinds() == ["webauthn"]
    assert "EUR 1,250.00" in shown.text
    assert "Merchant A" in shown.text
    assert "DE02 1001 0010 9307 1186 03" in shown.text  # the full account, never masked

    options = await passkey_options(provider.browser, shown)
    challenge = unb64url(options["challenge"])
    credential = authenticator.get(challenge)
    response = await submit(provider.browser, shown, "webauthn", credential=json.dumps(credential))
    tokens = await _exchange(provider, rp_params(response)["code"], verifier)

    access = decode_unverified(tokens["access_token"])
    txn = access["txn"]
    assert access["authorization_details"] == PAYMENT
    assert tokens["authorization_details"] == PAYMENT
    item = await provider.store.get("txn_record", txn, now=provider.clock())
    assert item is not None
    record = dict(item.payload)
    assert record["txn"] == txn
    assert record["authorization_details"] == PAYMENT
    assert record["client_id"] == BANK
    alice = await provider.store.get_user_by_username("alice")
    assert record["user_id"] == alice.id
    assert record["credential_id"] == credential["id"]
    nonce = unb64url(record["nonce"])
    assert len(nonce) >= 16
    assert challenge == hashlib.sha256(nonce + canonical_json(PAYMENT)).digest()
    assert _reverify(record) == challenge

    claims = await check_id_token(provider, tokens["id_token"], client_id=BANK, nonce="n")
    assert claims["acr"] == PHR
    introspection = await provider.browser.post(
        "/introspect", data={"token": tokens["access_token"]}, auth=(BANK, SECRET)
    )
    body = introspection.json()
    assert body["active"] is True
    assert body["authorization_details"] == PAYMENT
    assert body["txn"] == txn


async def test_changed_details_no_longer_reverify(provider: Provider) -> None:
    """PSD2 RTS Art. 5(1)(d): an amount changed after approval yields another challenge."""
    authenticator = await _signed_in(provider)
    verifier, request_uri = await push_details(provider, PAYMENT)
    shown = await open_interaction(provider.browser, front(request_uri))
    response = await use_passkey(provider.browser, shown, authenticator)
    tokens = await _exchange(provider, rp_params(response)["code"], verifier)
    txn = decode_unverified(tokens["access_token"])["txn"]
    item = await provider.store.get("txn_record", txn, now=provider.clock())
    assert item is not None
    record = dict(item.payload)
    tampered = json.loads(json.dumps(record))
    tampered["authorization_details"][0]["instructedAmount"]["amount"] = "9250.00"
    with pytest.raises(AssertionError):
        _reverify(tampered)


async def test_front_channel_details_refused_for_par_required_client(provider: Provider) -> None:
    """RFC 9396 §10: details sent (or altered) in the front channel for a client
    that must push them are refused; with a request_uri only the pushed copy counts."""
    await _signed_in(provider)
    altered = json.loads(json.dumps(PAYMENT))
    altered[0]["instructedAmount"]["amount"] = "9250.00"
    _, challenge = pkce_pair()
    in_front = code_request(challenge, authorization_details=json.dumps(altered))
    error = rp_params(await provider.browser.get("/authorize", params=in_front))
    assert error["error"] == "invalid_request"
    assert "code" not in error

    _, request_uri = await push_details(provider, PAYMENT)
    mixed = {**front(request_uri), "authorization_details": json.dumps(altered)}
    shown = await open_interaction(provider.browser, mixed)
    assert "EUR 1,250.00" in shown.text
    assert "9,250.00" not in shown.text


async def test_bound_step_up_is_asked_once_per_transaction(provider: Provider) -> None:
    """A session already at phr is still asked to approve a bound payment
    (once: the approval answers the request with no further page), while an unbound phr
    request already met asks nothing."""
    authenticator = await _signed_in(provider)
    _, challenge = pkce_pair()
    shown = await open_interaction(provider.browser, code_request(challenge, acr_values=PHR))
    rp_params(await use_passkey(provider.browser, shown, authenticator))  # now at phr

    verifier, request_uri = await push_details(provider, PAYMENT, acr_values=PHR)
    shown = await open_interaction(provider.browser, front(request_uri))
    assert shown.reasons()[0] == "binding_required"
    assert shown.kinds() == ["webauthn"]
    approved = await use_passkey(provider.browser, shown, authenticator)
    assert approved.status_code in (302, 303)
    assert approved.headers["location"].startswith(REDIRECT_URI)  # no second prompt
    tokens = await _exchange(provider, rp_params(approved)["code"], verifier)
    assert decode_unverified(tokens["access_token"])["txn"]

    # A second, identical payment is another transaction: asked again, once.
    _, second = await push_details(provider, PAYMENT, acr_values=PHR)
    shown = await open_interaction(provider.browser, front(second))
    assert shown.reasons()[0] == "binding_required"

    # An unbound phr request already met by the session: no page at all.
    _, challenge = pkce_pair()
    answered = await provider.browser.get(
        "/authorize", params=code_request(challenge, acr_values=PHR)
    )
    assert "code" in rp_params(answered)


async def test_password_does_not_approve_a_bound_payment(provider: Provider) -> None:
    """PSD2 dynamic linking: with a passkey enrolled, only an assertion over the details
    approves them; the password form is not offered and a UV=0 assertion is refused."""
    authenticator = await _signed_in(provider)
    _, request_uri = await push_details(provider, PAYMENT)
    shown = await open_interaction(provider.browser, front(request_uri))
    assert "password" not in shown.kinds()
    response = await use_passkey(provider.browser, shown, authenticator, uv=False)
    assert refused(response)
    assert page(response).reasons()[0] == "binding_required"  # still not approved


def test_login_policy_binding_is_met_by_the_approval_only() -> None:
    """At the policy level: binding_required is met only by this
    interaction's bound approval, however strong the new event; a user who cannot give one
    gets binding_unavailable; an unbound requirement already met asks nothing."""
    from stepauth.assurance import DEFAULT_LADDER, AuthEvent
    from stepauth.provider.login_policy import PolicyRequest, evaluate_login

    now = 1_700_000_000.0
    pwd = AuthEvent(methods=("pwd",), at=now)
    attrs = {"factor": "webauthn", "up": True, "uv": True, "be": False, "bs": False}
    passkey = AuthEvent(methods=("pop", "user", "pin"), at=now + 1, attrs=attrs)

    def decide(**kw: Any) -> tuple[str, ...]:
        base: dict[str, Any] = {
            "events": [pwd, passkey],
            "session_sub": "u",
            "now": now + 2,
            "ladder": DEFAULT_LADDER,
            "acr_values": (PHR,),
            "binding": True,
            "before": [pwd],
        }
        base.update(kw)
        return evaluate_login(PolicyRequest(**base)).reasons

    assert decide(approval_required=True) == ("binding_required",)
    assert decide(approval_required=True, approved=True) == ()
    # without a factor that binds the details, no event approves them (PSD2 RTS Art. 5)
    assert decide(approval_required=False) == ("binding_unavailable",)
    assert "binding_unavailable" in decide(approval_required=False, events=[pwd])
    assert decide(binding=False, before=None) == ()


def _approving(shown_html: str) -> str:
    """The "You are approving" section as a reader sees it: tags dropped, entities
    decoded, every run of whitespace one space (as the browser lays it out)."""
    section = re.search(
        r'<section aria-labelledby="details-heading">(.*?)</section>', shown_html, re.S
    )
    assert section is not None, "the page shows no details"
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", section.group(1)))).strip()


def _payment(iban: str, name: str, amount: str = "9000.00") -> list[dict[str, Any]]:
    return [
        {
            "type": "payment_initiation",
            "actions": ["initiate"],
            "locations": ["https://bank.example/payments"],
            "instructedAmount": {"currency": "EUR", "amount": amount},
            "creditorName": name,
            "creditorAccount": {"iban": iban},
        }
    ]


async def test_payee_account_ending_like_another_is_shown_in_full(provider: Provider) -> None:
    """PSD2 RTS Art. 5(1)(a): an attacker's account that shares the country and last four
    characters with the payer's payee rendered the same masked (``DE•• •••• 8603``); the
    page now shows the full IBAN, the amount with its code and the RFC 9396 §2.2 fields."""
    await _signed_in(provider)
    pages = []
    for iban in ("DE02100100109307118603", "DE44999999999999998603"):
        _, request_uri = await push_details(provider, _payment(iban, "Jane Doe"))
        pages.append(
            _approving((await open_interaction(provider.browser, front(request_uri))).text)
        )
    assert "Payee account DE02 1001 0010 9307 1186 03" in pages[0]
    assert "Payee account DE44 9999 9999 9999 9986 03" in pages[1]
    for shown in pages:
        assert "Amount EUR 9,000.00" in shown
        assert "Actions initiate" in shown
        assert "Locations https://bank.example/payments" in shown
    assert pages[0] != pages[1]


async def test_payee_name_with_look_alike_whitespace_reads_differently(provider: Provider) -> None:
    """A payee named with a no-break space (or two spaces) would look exactly like the
    genuine payee once the browser lays the page out; the page spells it out."""
    await _signed_in(provider)
    iban = "DE02100100109307118603"
    shown = []
    for name in ("Jane Doe", "Jane\u00a0Doe", "Jane  Doe"):
        _, request_uri = await push_details(provider, _payment(iban, name))
        shown.append(
            _approving((await open_interaction(provider.browser, front(request_uri))).text)
        )
    assert "Payee Jane Doe " in shown[0]
    assert "Payee Jane⟨U+00A0⟩Doe" in shown[1]
    assert "Payee Jane⟨U+0020⟩⟨U+0020⟩Doe" in shown[2]
    assert len(set(shown)) == 3


async def test_refreshed_access_token_never_carries_the_approval_again(
    provider: Provider,
) -> None:
    """RFC 9396 §9.1: an approval is used once. Only the access token of the code exchange
    carries the details and their ``txn``; a refresh re-issuing the same ``txn`` would let
    the payment run again once the resource server's ledger entry expired."""
    authenticator = await _signed_in(provider)
    verifier, request_uri = await push_details(
        provider, PAYMENT, acr_values=PHR, scope="openid offline_access"
    )
    shown = await open_interaction(provider.browser, front(request_uri))
    approved = await use_passkey(provider.browser, shown, authenticator)
    tokens = await _exchange(provider, rp_params(approved)["code"], verifier)
    first = decode_unverified(tokens["access_token"])
    assert first["txn"]
    assert first["authorization_details"] == PAYMENT
    refresh = await _introspect(provider, tokens["refresh_token"])
    assert refresh["active"] is True
    assert "txn" not in refresh
    assert "authorization_details" not in refresh

    asked_again = await provider.token(
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "authorization_details": json.dumps(PAYMENT),
        },
        client_id=BANK,
    )
    assert asked_again.status_code == 400
    assert asked_again.json()["error"] == "invalid_authorization_details"

    refreshed = await provider.token(
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        client_id=BANK,
    )
    assert refreshed.status_code == 200, refreshed.text
    body = refreshed.json()
    assert "authorization_details" not in body
    access = decode_unverified(body["access_token"])
    assert "txn" not in access
    assert "authorization_details" not in access
    assert access["acr"] == first["acr"]
    answer = await _introspect(provider, body["access_token"])
    assert answer["active"] is True
    assert "txn" not in answer


async def _introspect(provider: Provider, token: str) -> dict[str, Any]:
    response = await provider.browser.post(
        "/introspect", data={"token": token}, auth=(BANK, SECRET)
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer
