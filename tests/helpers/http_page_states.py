"""The hosted page states, reached the way a browser reaches them (black-box HTTP through
the running Provider of :mod:`tests.helpers.harness`).

Each function drives one httpx browser through a run of states and returns ``{state:
html}``: :func:`interaction_states` the sign-in, its refusal, the one-time-code step, the
lockout notice and the error page; :func:`account_states` ``/account`` and its forms, their
refusals and the "this wasn't me" link of an account notice; :func:`approval_page` and
:func:`form_post_page` the bank's payment approval (RFC 9396 ``authorization_details``)
and the RFC 6749 ``form_post`` response page. Each checks on its way that it reached the
state it names, so a test of the pages never passes on a page it did not see.
"""

from __future__ import annotations

import re
from typing import Any

from stepauth.provider.account.not_me import issue_link
from tests.helpers.account_pages import account_page, csrf_of, field, reauth
from tests.helpers.bank import PAYMENT, code_request, front, push_details
from tests.helpers.frontchannel import (
    enrol_totp,
    open_interaction,
    page,
    query,
    submit,
    wrong_passwords,
)
from tests.helpers.harness import ACR_2FA, PASSWORD, USERNAME, Provider, pkce_pair
from tests.helpers.passkeys import enrol_passkey

__all__ = ["account_states", "approval_page", "form_post_page", "interaction_states"]


async def interaction_states(provider: Provider) -> dict[str, str]:
    """``sign-in``, ``sign-in refused`` (a wrong password), ``one-time code`` (a step-up
    to two factors once an authenticator app is enrolled), ``lockout`` (wrong passwords
    until the password factor is locked) and ``error`` (an unknown interaction). The
    lockout notice goes to the outbox (``STEPAUTH_OUTBOX``)."""
    shown: dict[str, str] = {}
    browser = provider.browser
    user = await provider.store.get_user_by_username(USERNAME)
    sign_in = await open_interaction(browser, query())
    shown["sign-in"] = sign_in.text
    refused = await submit(browser, sign_in, "password", username=USERNAME, password="x")
    shown["sign-in refused"] = refused.text
    await submit(browser, page(refused), "password", username=USERNAME, password=PASSWORD)
    await enrol_totp(provider, user.id)
    provider.clock.advance(60)
    shown["one-time code"] = (await open_interaction(browser, query(acr_values=ACR_2FA))).text
    provider.clock.advance(1)
    tries = provider.state.config.throttle.max_failures + 1
    locked = await open_interaction(browser, query(prompt="login"))
    locked = await wrong_passwords(browser, locked, [USERNAME] * tries)
    assert "factor_locked" in locked.reasons(), locked.text[:600]
    shown["lockout"] = locked.text
    shown["error"] = (await browser.get("/interaction/no-such-request")).text
    return shown


async def account_states(provider: Provider) -> dict[str, str]:
    """``reauth``, ``account`` (password only), ``totp`` (enrolling an authenticator app),
    ``totp refused`` (a wrong code), ``recovery`` (new recovery codes), ``password
    refused`` (a short new password), ``account with factors`` (an authenticator app and a
    passkey) and, in a browser of its own as from a mail, ``not me``, ``not me done`` and
    ``not me refused`` (the link used twice). The user must exist; the notices go to the
    outbox (``STEPAUTH_OUTBOX``)."""
    browser = provider.browser
    user = await provider.store.get_user_by_username(USERNAME)
    shown = {"reauth": (await browser.get("/account/reauth")).text}
    await reauth(browser, "password", username=USERNAME, password=PASSWORD)
    html = await account_page(browser)
    shown["account"] = html
    totp = await browser.post("/account/totp", data={"csrf": csrf_of(html)})
    shown["totp"] = totp.text
    wrong = await browser.post(
        "/account/totp/confirm",
        data={"csrf": csrf_of(totp.text), "pending": field(totp.text, "pending"), "code": "1"},
    )
    assert wrong.status_code == 400, wrong.text[:300]
    shown["totp refused"] = wrong.text
    codes = await browser.post("/account/recovery", data={"csrf": csrf_of(html)})
    assert "recovery-codes" in codes.text, codes.text[:300]
    shown["recovery"] = codes.text
    password = await browser.post(
        "/account/password",
        data={"csrf": csrf_of(html), "new_password": "short", "confirm_password": "short"},
    )
    shown["password refused"] = password.text
    await enrol_totp(provider, user.id)
    await enrol_passkey(provider, user.id)
    html = await account_page(browser)
    assert "data-factor-id" in html, html[:300]
    shown["account with factors"] = html
    link = await issue_link(
        provider.store,
        provider.state.config,
        now=provider.clock(),
        user_id=user.id,
        action="add",
        what="passkey",
        factor_id=None,
    )
    mail = provider.new_browser()
    notice = await mail.get(link[link.index("/account/not-me") :])
    shown["not me"] = notice.text
    token = re.search(r'name="token" value="([^"]+)"', notice.text)
    assert token, notice.text[:300]
    shown["not me done"] = (await mail.post("/account/not-me", data={"token": token[1]})).text
    shown["not me refused"] = (await mail.post("/account/not-me", data={"token": token[1]})).text
    return shown


async def approval_page(bank: Provider, details: Any = PAYMENT, **extra: str) -> str:
    """The approval of the bank's ``details`` by alice, signed in with her password and
    holding a passkey (``extra``: more parameters of the pushed request)."""
    alice = await bank.store.get_user_by_username(USERNAME)
    await enrol_passkey(bank, alice.id)
    _, challenge = pkce_pair()
    first = await open_interaction(bank.browser, code_request(challenge))
    await submit(bank.browser, first, "password", username=USERNAME, password=PASSWORD)
    _, request_uri = await push_details(bank, details, **extra)
    shown = await open_interaction(bank.browser, front(request_uri))
    assert "webauthn" in shown.kinds(), shown.text[:600]
    assert "<dd>" in shown.text, shown.text[:600]
    return shown.text


async def form_post_page(bank: Provider) -> str:
    """The page that posts an authorization response to the client (OAuth 2.0 Form Post
    Response Mode), for a browser signed in as in :func:`approval_page`."""
    _, challenge = pkce_pair()
    posted = await bank.browser.get(
        "/authorize", params=code_request(challenge, response_mode="form_post")
    )
    assert 'id="form-post"' in posted.text, posted.text[:300]
    return posted.text
