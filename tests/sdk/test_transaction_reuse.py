"""Identical bound requests don't stack prompts, and never yield a second spendable txn
(RFC 9396, PSD2 RTS Art. 5 dynamic linking) — over HTTP, real Provider.

A double-clicked "Transfer" or a browser retry sends the same ``authorization_details`` for
the same user and client again. Within the window the Provider hands the second request the
one pending interaction (one prompt); once approved, an identical request whose approval code
was never redeemed is answered without a prompt with the SAME ``txn`` (the old code is spent
first), so the SDK's atomic ledger still executes it once. A redeemed approval, another
session, or the end of the window means a new transaction: asked again. Bound details are
never approved by a factor that cannot bind them: a payer with no passkey gets
``unmet_authentication_requirements``.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stepauth.provider.authorize.bound_prompt import (
    PROMPT_KIND,
    REUSE_WINDOW,
    transaction_key,
)
from stepauth.provider.compare import sha256hex
from stepauth.sdk.sql_ledger import SQLLedger
from stepauth.sdk.transaction import TransactionReplayed, require_transaction
from tests.helpers.bank import BANK, PAYMENT, PHR
from tests.helpers.bound import (
    approve,
    authorize,
    bank_provider,
    interaction_of,
    passkey_payer,
    push,
)
from tests.helpers.frontchannel import (
    enrol_totp,
    open_interaction,
    page,
    query,
    rp_params,
    sign_in,
    submit,
)
from tests.helpers.harness import (
    PASSWORD,
    REDIRECT_URI,
    SECRET,
    USERNAME,
    Provider,
    decode_unverified,
)
from tests.helpers.passkeys import use_passkey, use_passkeys


@pytest.fixture
async def provider(tmp_path: Path) -> AsyncIterator[Provider]:
    async with bank_provider(tmp_path) as running:
        yield running


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[SQLLedger]:
    ledger = SQLLedger.from_url(f"sqlite+aiosqlite:///{tmp_path / 'rs-txn.db'}")
    await ledger.create_schema()
    yield ledger
    await ledger.close()


async def code_txn(provider: Provider, code: str) -> str:
    item = await provider.store.get("code", sha256hex(code), now=provider.clock())
    assert item is not None
    return str(item.payload["txn"])


async def token_error(provider: Provider, code: str, verifier: str) -> str:
    response = await provider.token(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        client_id=BANK,
        secret=SECRET,
    )
    assert response.status_code == 400, response.text
    return str(response.json()["error"])


async def test_double_click_opens_one_prompt(provider: Provider) -> None:
    """The second identical request is handed the pending interaction;
    one passkey approval answers the newest request, with no further page."""
    passkey = await passkey_payer(provider)
    first = await push(provider, state="click-1")
    second = await push(provider, state="click-2")
    location = interaction_of(await authorize(provider.browser, first))
    assert interaction_of(await authorize(provider.browser, second)) == location
    result = await approve(provider.browser, location, passkey)
    assert result["state"] == "click-2"  # the request the browser follows last
    tokens = await provider.exchange(result["code"], second.verifier, client_id=BANK)
    assert decode_unverified(tokens["access_token"])["authorization_details"] == PAYMENT


async def test_concurrent_identical_requests_share_one_prompt(provider: Provider) -> None:
    """Two identical requests at once: one atomic insert decides, both get one prompt."""
    await passkey_payer(provider)
    first, second = await push(provider, state="a"), await push(provider, state="b")
    answers = await asyncio.gather(
        authorize(provider.browser, first), authorize(provider.browser, second)
    )
    assert interaction_of(answers[0]) == interaction_of(answers[1])
    cookies = {a.headers["set-cookie"].split(";", 1)[0] for a in answers}
    assert len(cookies) == 1  # whichever response the browser keeps opens the prompt
    shown = page(await provider.browser.get(interaction_of(answers[0])))
    assert shown.reasons()[0] == "binding_required"


async def test_the_stored_prompt_does_not_hold_the_browser_cookie(provider: Provider) -> None:
    """Reading the database does not open the prompt: the interaction cookie kept for
    reuse is sealed (AES-GCM under the Provider's secret, bound to its key)."""
    await passkey_payer(provider)
    answer = await authorize(provider.browser, await push(provider, state="a"))
    cookie = answer.headers["set-cookie"].split(";", 1)[0].split("=", 1)[1]
    user = await provider.store.get_user_by_username(USERNAME)
    assert user is not None
    key = transaction_key(BANK, user.id, PAYMENT)
    item = await provider.store.get(PROMPT_KIND, key, now=provider.clock())
    assert item is not None
    sealed = item.payload["browser"]
    assert cookie not in json.dumps(item.payload)
    assert provider.state.keys.unseal(sealed, context=f"{PROMPT_KIND}|{key}") == cookie
    assert provider.state.keys.unseal(sealed, context=f"{PROMPT_KIND}|other") is None


async def test_approved_unredeemed_request_is_answered_with_the_same_txn_once(
    provider: Provider, ledger: SQLLedger
) -> None:
    """A retry after the approval, before its code was redeemed: no new prompt, the same
    txn, and the first code is spent, so exactly one token carries the approval; the SDK
    executes it once (RFC 9396 §9; ASVS 5.0 10.3.2)."""
    passkey = await passkey_payer(provider)
    first = await push(provider, state="try-1")
    approved = await approve(
        provider.browser, interaction_of(await authorize(provider.browser, first)), passkey
    )
    txn = await code_txn(provider, approved["code"])

    retry = await push(provider, state="try-2")
    answered = rp_params(await authorize(provider.browser, retry))  # no interaction page
    assert answered["state"] == "try-2"
    assert await code_txn(provider, answered["code"]) == txn
    assert await token_error(provider, approved["code"], first.verifier) == "invalid_grant"
    tokens = await provider.exchange(answered["code"], retry.verifier, client_id=BANK)
    claims = decode_unverified(tokens["access_token"])
    assert claims["txn"] == txn
    now = provider.clock()
    assert (await require_transaction(PAYMENT, claims=claims, ledger=ledger, now=now)).txn == txn
    with pytest.raises(TransactionReplayed):
        await require_transaction(PAYMENT, claims=claims, ledger=ledger, now=now)


async def test_redeemed_approval_means_a_new_transaction(provider: Provider) -> None:
    """Once the approval's code was redeemed, an identical request is another payment:
    asked again, and its txn is a new one."""
    passkey = await passkey_payer(provider)
    first = await push(provider)
    approved = await approve(
        provider.browser, interaction_of(await authorize(provider.browser, first)), passkey
    )
    tokens = await provider.exchange(approved["code"], first.verifier, client_id=BANK)
    again = await push(provider)
    result = await approve(
        provider.browser, interaction_of(await authorize(provider.browser, again)), passkey
    )
    second = await provider.exchange(result["code"], again.verifier, client_id=BANK)
    txns = {decode_unverified(t["access_token"])["txn"] for t in (tokens, second)}
    assert len(txns) == 2


async def test_other_details_or_window_end_are_asked_afresh(provider: Provider) -> None:
    """Only identical details share the prompt, and only within the window."""
    await passkey_payer(provider)
    location = interaction_of(await authorize(provider.browser, await push(provider)))
    other = copy.deepcopy(PAYMENT)
    other[0]["instructedAmount"]["amount"] = "1250.01"
    moved = interaction_of(await authorize(provider.browser, await push(provider, other)))
    assert moved != location
    provider.clock.advance(REUSE_WINDOW + 1)
    later = interaction_of(await authorize(provider.browser, await push(provider)))
    assert later != location


async def test_another_session_is_never_handed_the_prompt(provider: Provider) -> None:
    """The same user in another browser (another session) gets a prompt of its own: a
    pending interaction or an approval never crosses sessions."""
    passkey = await passkey_payer(provider)
    location = interaction_of(await authorize(provider.browser, await push(provider)))
    other = provider.new_browser()
    await sign_in(other, query())
    elsewhere = interaction_of(await authorize(other, await push(provider)))
    assert elsewhere != location

    await approve(provider.browser, location, passkey)  # approved, not redeemed
    after = await authorize(other, await push(provider))
    assert "/interaction/" in after.headers["location"]  # still asked there


async def test_unbound_requirement_met_by_the_session_asks_nothing(provider: Provider) -> None:
    """An unbound phr request already met by the session: no page."""
    passkey = await passkey_payer(provider)
    shown = await open_interaction(provider.browser, query(acr_values=PHR))
    rp_params(await use_passkey(provider.browser, shown, passkey))  # the session is at phr
    answered = await provider.browser.get("/authorize", params=query(acr_values=PHR))
    assert "code" in rp_params(answered)


async def test_payer_without_a_passkey_gets_unmet_authentication_requirements(
    provider: Provider,
) -> None:
    """PSD2 RTS Art. 5(1): a TOTP code does not bind amount and payee, so a payer with
    password + TOTP and no passkey is refused with a clear reason — no page offers the code,
    no unbound approval, no txn (OpenID Connect unmet_authentication_requirements 1.0 §1)."""
    use_passkeys(provider)  # offered by the Provider, but alice has none
    alice = await provider.store.get_user_by_username("alice")
    await enrol_totp(provider, alice.id)
    await sign_in(provider.browser, query())
    answer = rp_params(await authorize(provider.browser, await push(provider)))
    assert answer["error"] == "unmet_authentication_requirements"
    assert "passkey" in answer["error_description"]
    assert "code" not in answer


async def test_payer_without_a_passkey_is_refused_after_signing_in(provider: Provider) -> None:
    """Not signed in yet: the password sign-in succeeds, then the bound request ends in
    unmet_authentication_requirements instead of a code."""
    use_passkeys(provider)  # offered by the Provider, but alice has none
    shown = await open_interaction(provider.browser, (await push(provider, acr="")).front)
    assert shown.reasons()[0] == "no_session"
    response = await submit(
        provider.browser, shown, "password", username=USERNAME, password=PASSWORD
    )
    answer = rp_params(response)
    assert answer["error"] == "unmet_authentication_requirements"
    assert "passkey" in answer["error_description"]
    assert "code" not in answer
