"""Every change on /account carries a single-use "this wasn't me" link (NIST SP 800-63B-4
§6.1.2.1): it switches the new factor off, ends the sessions and revokes the tokens, expires,
and is stored only as a hash. Each test goes through HTTP."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx

from stepauth.provider.account.not_me import link_ttl
from tests.helpers.account_pages import outbox
from tests.helpers.binding_level import bob_adds_a_passkey, provider, sign_in_with_password
from tests.helpers.harness import Provider, pkce_pair

__all__ = ["provider"]


# --------------------------------------------------------------------------- this wasn't me
def _link(message: str) -> str:
    match = re.search(r"(https?://\S+/account/not-me\?token=\S+)", message)
    assert match, message
    parts = urlsplit(match.group(1))
    return f"{parts.path}?{parts.query}"


async def _tokens(provider: Provider, browser: httpx.AsyncClient) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    result = await provider.authorize(
        browser=browser, code_challenge=challenge, scope="openid offline_access"
    )
    return await provider.exchange(result.code, verifier)


async def test_this_wasnt_me_link_disables_the_factor_ends_sessions_revokes_tokens(
    provider: Provider,
) -> None:
    user, factor, _ = await bob_adds_a_passkey(provider)
    other = provider.new_browser()
    await sign_in_with_password(other)
    issued = await _tokens(provider, provider.browser)
    link = _link(outbox()[-1])
    mail = provider.new_browser()
    shown = await mail.get(link)
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"
    assert "switch off the passkey" in shown.text
    assert not (await provider.store.get_factor(factor.id)).disabled  # a GET changes nothing
    token = re.search(r'name="token" value="([^"]+)"', shown.text)
    assert token
    done = await mail.post("/account/not-me", data={"token": token.group(1)})
    assert done.status_code == 200
    assert "not-me-done" in done.text
    assert (await provider.store.get_factor(factor.id)).disabled
    for browser in (provider.browser, other):
        assert (await browser.get("/account")).status_code == 303
    assert await provider.introspect(issued["access_token"]) == {"active": False}
    refresh = await provider.token(
        {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
    )
    assert refresh.json()["error"] == "invalid_grant"
    again = await mail.post("/account/not-me", data={"token": token.group(1)})
    assert again.status_code == 400  # single use
    audit = [e for e in await provider.store.tail_audit(50) if e["event"] == "factor_change"]
    assert audit[-1]["action"] == "not_me"
    assert audit[-1]["user_id"] == user.id


async def test_this_wasnt_me_link_expires(provider: Provider) -> None:
    _, factor, _ = await bob_adds_a_passkey(provider)
    token = _link(outbox()[-1]).split("token=", 1)[1]
    provider.clock.advance(link_ttl(provider.state.config) + 1)
    expired = await provider.new_browser().post("/account/not-me", data={"token": token})
    assert expired.status_code == 400
    assert not (await provider.store.get_factor(factor.id)).disabled
    unknown = await provider.new_browser().post("/account/not-me", data={"token": "x" * 43})
    assert unknown.status_code == 400


async def test_this_wasnt_me_link_stores_only_a_hash(provider: Provider) -> None:
    await bob_adds_a_passkey(provider)
    token = _link(outbox()[-1]).split("token=", 1)[1]
    assert await provider.store.get("not_me", token, now=provider.clock()) is None
