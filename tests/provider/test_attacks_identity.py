"""Attacks on who is signed in, each in its own test.

An id_token_hint naming another user (OIDC Core §3.1.2.2), a forged or misused hint,
username enumeration, disabled users and repeated password failures.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from stepauth.provider.factors.password import MAX_FAILURES
from stepauth.provider.throttle import GENERIC_FAILURE
from tests.helpers.frontchannel import (
    COOKIE,
    code_payload,
    open_interaction,
    page,
    query,
    rp_params,
    session_cookie,
    sign_in,
    submit,
    wrong_passwords,
)
from tests.helpers.harness import CONFIDENTIAL, ISSUER, PASSWORD, PUBLIC, USERNAME, Provider


async def _id_token(provider: Provider, sub: str, *, key: Any = None, iss: str = ISSUER) -> str:
    if key is None:
        pair = provider.state.keys.signing_key("RS256")
        kid, key = await pair if inspect.isawaitable(pair) else pair
    else:
        kid = "foreign"
    now = int(provider.clock())
    claims = {"iss": iss, "sub": sub, "aud": PUBLIC, "iat": now - 7200, "exp": now - 3600}
    header = {"alg": "RS256", "kid": kid, "typ": "JWT"}  # as the Provider's ID Tokens
    return jwt.encode(header, claims, key, algorithms=["RS256"])


async def test_id_token_hint_for_another_user_never_yields_their_token(provider: Provider) -> None:
    """OIDC Core §3.1.2.2: alice's session with bob's
    (expired) hint → no token for a different sub.
    """
    alice = await provider.store.get_user_by_username(USERNAME)
    bob = await provider.create_user("bob", "bob's long passphrase")
    await sign_in(provider.browser, query())
    hint = await _id_token(provider, bob.id)

    silent = rp_params(
        await provider.browser.get("/authorize", params=query(prompt="none", id_token_hint=hint))
    )
    assert silent["error"] == "login_required"

    shown = await open_interaction(provider.browser, query(id_token_hint=hint))
    assert "id_token_hint_mismatch" in shown.reasons()
    # alice's own password does not answer a request for bob
    refused = await submit(
        provider.browser, shown, "password", username=USERNAME, password=PASSWORD
    )
    assert refused.status_code == 400
    assert "location" not in refused.headers
    # bob signs in: the code is for bob
    shown = page(refused)
    result = rp_params(
        await submit(
            provider.browser, shown, "password", username="bob", password="bob's long passphrase"
        )
    )
    payload = await code_payload(provider, result["code"])
    assert payload["sub"] == bob.id != alice.id


async def test_id_token_hint_of_the_same_user_answers_silently(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-id-token-hint / OIDC Core §3.1.2.2 (id_token_hint): our own
    (expired) ID token for the session user is accepted.
    """
    alice = await provider.store.get_user_by_username(USERNAME)
    await sign_in(provider.browser, query())
    hint = await _id_token(provider, alice.id)
    result = rp_params(
        await provider.browser.get("/authorize", params=query(prompt="none", id_token_hint=hint))
    )
    assert (await code_payload(provider, result["code"]))["sub"] == alice.id


async def test_access_token_is_refused_as_id_token_hint(provider: Provider) -> None:
    """OIDC Core §3.1.2.1: id_token_hint is an ID Token. An access token is signed by the
    same key and names the same sub, but anyone holding one (an API it was sent to) must
    not use it to steer the Provider; its ``typ`` (at+jwt) and claims give it away."""
    body, _ = await provider.login_and_exchange()
    result = rp_params(
        await provider.browser.get(
            "/authorize", params=query(prompt="none", id_token_hint=body["access_token"])
        )
    )
    assert result["error"] == "invalid_request"
    assert "code" not in result
    # The ID Token of the same grant is accepted as a hint.
    accepted = rp_params(
        await provider.browser.get(
            "/authorize",
            params=query(prompt="none", id_token_hint=body["id_token"], client_id=CONFIDENTIAL),
        )
    )
    assert accepted["code"]


async def test_forged_id_token_hint_is_refused(provider: Provider) -> None:
    """OIDC Core §3.1.2.2 (id_token_hint): a hint not signed by
    our keys, or naming another issuer, is rejected.
    """
    alice = await provider.store.get_user_by_username(USERNAME)
    await sign_in(provider.browser, query())
    foreign = RSAKey.generate_key(2048, private=True)
    for hint in (
        await _id_token(provider, alice.id, key=foreign),
        await _id_token(provider, alice.id, iss="https://other.example"),
        "not.a.jwt",
    ):
        result = rp_params(
            await provider.browser.get(
                "/authorize", params=query(prompt="none", id_token_hint=hint)
            )
        )
        assert result["error"] == "invalid_request"


async def test_wrong_password_and_unknown_user_look_the_same(provider: Provider) -> None:
    """No username enumeration: same status and same message (ASVS 5.0 6.3.8)."""
    texts = []
    for username, password in ((USERNAME, "wrong password"), ("nobody-here", "wrong password")):
        browser = provider.new_browser()
        shown = await open_interaction(browser, query())
        response = await submit(browser, shown, "password", username=username, password=password)
        assert response.status_code == 400
        texts.append(page(response).text.replace(username, "USER"))
        assert browser.cookies.get(COOKIE) is None
    strip = lambda t: "\n".join(  # noqa: E731
        line for line in t.splitlines() if "csrf" not in line and "/interaction/" not in line
    )
    assert strip(texts[0]) == strip(texts[1])
    # PSD2 RTS Art. 4(3)(a): the same words as a failed code or passkey.
    assert GENERIC_FAILURE in texts[0]


async def test_disabled_user_is_refused(provider: Provider) -> None:
    alice = await provider.store.get_user_by_username(USERNAME)
    await provider.store.set_user_disabled(alice.id, True)
    shown = await open_interaction(provider.browser, query())
    response = await submit(
        provider.browser, shown, "password", username=USERNAME, password=PASSWORD
    )
    assert response.status_code == 400
    assert session_cookie(provider.browser) is None


async def test_disabled_user_session_stops_answering(provider: Provider) -> None:
    alice = await provider.store.get_user_by_username(USERNAME)
    await sign_in(provider.browser, query())
    await provider.store.set_user_disabled(alice.id, True)
    result = rp_params(await provider.browser.get("/authorize", params=query(prompt="none")))
    assert result["error"] == "login_required"


@pytest.mark.usefixtures("outbox_path")  # the lockout notice goes to a dev outbox
async def test_password_blocked_after_repeated_failures(provider: Provider) -> None:
    """PSD2 RTS Art. 4(3)(b): at most 5 consecutive failures, then blocked."""
    shown = await open_interaction(provider.browser, query())
    shown = await wrong_passwords(provider.browser, shown, [USERNAME] * MAX_FAILURES)
    response = await submit(
        provider.browser, shown, "password", username=USERNAME, password=PASSWORD
    )
    assert response.status_code == 400
    assert session_cookie(provider.browser) is None


async def test_hinted_user_is_not_signed_in_by_a_one_time_code_alone(provider: Provider) -> None:
    """A hint names a user but proves nothing: without that user's session the first
    factor must identify them (password), never a code alone."""
    from tests.helpers.frontchannel import TOTP, enrol_totp, use_factors

    use_factors(provider, totp=True)
    bob = await provider.create_user("bob", "bob's long passphrase")
    await enrol_totp(provider, bob.id)
    hint = await _id_token(provider, bob.id)
    shown = await open_interaction(provider.browser, query(id_token_hint=hint))
    assert TOTP not in shown.kinds()
    assert shown.kinds() == ["password"]
    forced = await submit(provider.browser, shown, "password", factor=TOTP, code="1")
    assert rp_params(forced)["error"] == "invalid_request"
    assert session_cookie(provider.browser) is None
