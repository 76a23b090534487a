"""The authorization endpoint against an existing session: prompt, max_age and acr_values.

OIDC Core §3.1.2.1 and the OpenID conformance suite's oidcc-prompt-* / oidcc-max-age-*
behaviours, black-box against a running Provider (SQLite, injectable clock).
"""

from __future__ import annotations

import json
import secrets

from tests.helpers.frontchannel import (
    answer_password,
    code_payload,
    exchange_public,
    open_interaction,
    query,
    rp_params,
    sign_in,
)
from tests.helpers.harness import ACR_1FA, ACR_2FA, CONFIDENTIAL, ISSUER, Provider, pkce_pair


async def test_oidcc_prompt_none_not_logged_in_returns_state(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-prompt-none-not-logged-in: no session + prompt=none →
    login_required, 128-character state intact.
    """
    state = secrets.token_urlsafe(96)[:128]
    assert len(state) == 128
    response = await provider.browser.get("/authorize", params=query(prompt="none", state=state))
    result = rp_params(response)
    assert result["error"] == "login_required"
    assert result["state"] == state
    assert result["iss"] == ISSUER
    assert "code" not in result


async def test_oidcc_prompt_none_logged_in(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-prompt-none-logged-in: prompt=none with a session answers
    silently with the same sub/auth_time.
    """
    first = await sign_in(provider.browser, query())
    provider.clock.advance(5)
    response = await provider.browser.get("/authorize", params=query(prompt="none"))
    second = rp_params(response)
    assert second["code"] != first["code"]
    a = await code_payload(provider, first["code"])
    b = await code_payload(provider, second["code"])
    assert a["sub"] == b["sub"]
    assert a["auth_time"] == b["auth_time"]


async def test_oidcc_prompt_login_reprompts(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-prompt-login / OIDC Core §3.1.2.3: prompt=login shows the
    login page again; auth_time strictly later.
    """
    first = await sign_in(provider.browser, query())
    provider.clock.advance(1)
    shown = await open_interaction(provider.browser, query(prompt="login"))
    assert shown.reasons() == ["prompt_login"]
    second = rp_params(await answer_password(provider, shown))
    a = await code_payload(provider, first["code"])
    b = await code_payload(provider, second["code"])
    assert int(b["auth_time"]) > int(a["auth_time"])  # type: ignore[call-overload]
    assert a["sub"] == b["sub"]


async def test_max_age_zero_reprompts(provider: Provider) -> None:
    """OIDC Core §3.1.2.1 (max_age): max_age=0 is prompt=login; the ID token must carry auth_time
    (OIDC Core §3.1.2.1 (max_age)).
    """
    await sign_in(provider.browser, query())
    provider.clock.advance(1)
    shown = await open_interaction(provider.browser, query(max_age="0"))
    assert shown.reasons() == ["prompt_login"]
    result = rp_params(await answer_password(provider, shown))
    payload = await code_payload(provider, result["code"])
    assert payload["max_age_requested"] is True
    assert payload["auth_time"] == int(provider.clock())


async def test_oidcc_max_age_1(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-max-age-1: max_age=1 after
    2 s → login again; the new auth_time is strictly later.
    """
    verifier1, challenge1 = pkce_pair()
    first = await sign_in(provider.browser, query(code_challenge=challenge1, nonce="n-1"))
    provider.clock.advance(2)
    verifier2, challenge2 = pkce_pair()
    shown = await open_interaction(
        provider.browser, query(code_challenge=challenge2, nonce="n-1", max_age="1")
    )
    assert shown.reasons() == ["max_age"]
    second = rp_params(await answer_password(provider, shown))
    one = await exchange_public(provider, first, verifier1)
    two = await exchange_public(provider, second, verifier2)
    assert "auth_time" in two
    assert int(two["auth_time"]) > int(one["auth_time"])  # type: ignore[call-overload]
    assert abs(int(two["auth_time"]) - provider.clock()) <= 1  # type: ignore[call-overload]


async def test_oidcc_max_age_10000_does_not_prompt(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-max-age-10000: a fresh enough
    session answers without a login page; same auth_time.
    """
    first = await sign_in(provider.browser, query(max_age="15000"))
    provider.clock.advance(30)
    second = rp_params(await provider.browser.get("/authorize", params=query(max_age="10000")))
    a = await code_payload(provider, first["code"])
    b = await code_payload(provider, second["code"])
    assert a["auth_time"] == b["auth_time"]
    assert b["max_age_requested"] is True


async def test_unknown_parameter_and_unknown_acr_are_ignored(provider: Provider) -> None:
    """OIDC Core §3.1.2.2, §15.1 (oidcc-ensure-request-with-unknown-parameter-succeeds)."""
    result = await sign_in(
        provider.browser,
        query(extra_param="foobar", acr_values="urn:example:unknown " + ACR_1FA, ui_locales="xx"),
    )
    payload = await code_payload(provider, result["code"])
    assert payload["acr"] == ACR_1FA
    assert payload["acr_requested"] is True


async def test_only_unknown_acr_values_still_succeed(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-ensure-request-with-acr-values-succeeds: acr_values the
    Provider does not know never cause an error.
    """
    result = await sign_in(provider.browser, query(acr_values="1 2"))
    assert "code" in result


async def test_acr_values_met_by_session(provider: Provider) -> None:
    await sign_in(provider.browser, query())
    result = rp_params(
        await provider.browser.get("/authorize", params=query(acr_values=ACR_1FA, prompt="none"))
    )
    assert (await code_payload(provider, result["code"]))["acr"] == ACR_1FA


async def test_voluntary_client_gets_the_session_acr(provider: Provider) -> None:
    """OIDC Core §5.5.1.1: a client with acr_values="voluntary"
    gets the session's acr, never a higher one.
    """
    await sign_in(provider.browser, query())
    response = await provider.browser.get(
        "/authorize", params=query(client_id=CONFIDENTIAL, acr_values=ACR_2FA, prompt="none")
    )
    result = rp_params(response)
    assert (await code_payload(provider, result["code"]))["acr"] == ACR_1FA


async def test_claims_sub_value_for_another_user_is_never_answered(provider: Provider) -> None:
    """OIDC Core §3.1.2.2, §5.5.1: a requested sub that is not the session's → no silent token."""
    await sign_in(provider.browser, query())
    claims = {"id_token": {"sub": {"value": "someone-else"}}}
    result = rp_params(
        await provider.browser.get(
            "/authorize", params=query(prompt="none", claims=json.dumps(claims))
        )
    )
    assert result["error"] == "login_required"
