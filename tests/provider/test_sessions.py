"""Server-side sessions: idle and absolute limits enforced
by the store (NIST SP 800-63B-4 §5.2, ASVS 3.3.2).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from stepauth.assurance import Category, Need
from stepauth.provider.factors.base import Capability, helps, provides
from stepauth.provider.factors.password import MAX_FAILURES
from tests.helpers.frontchannel import (
    open_interaction,
    page,
    query,
    rp_params,
    sign_in,
    submit,
    wrong_passwords,
)
from tests.helpers.harness import PASSWORD, USERNAME, Provider, running_provider


async def test_idle_session_expires(provider: Provider) -> None:
    await sign_in(provider.browser, query())
    idle = provider.state.config.sessions.idle_timeout
    provider.clock.advance(idle + 1)
    result = rp_params(await provider.browser.get("/authorize", params=query(prompt="none")))
    assert result["error"] == "login_required"


async def test_activity_resets_the_idle_limit(provider: Provider) -> None:
    await sign_in(provider.browser, query())
    idle = provider.state.config.sessions.idle_timeout
    provider.clock.advance(idle - 5)
    assert "code" in rp_params(
        await provider.browser.get("/authorize", params=query(prompt="none"))
    )
    provider.clock.advance(idle - 5)
    assert "code" in rp_params(
        await provider.browser.get("/authorize", params=query(prompt="none"))
    )


async def test_absolute_session_limit(provider: Provider) -> None:
    """Activity never extends a session past its absolute lifetime."""
    await sign_in(provider.browser, query())
    limits = provider.state.config.sessions
    step = max(1, limits.idle_timeout - 5)
    elapsed = 0
    while elapsed <= limits.absolute_timeout:
        provider.clock.advance(step)
        elapsed += step
        response = await provider.browser.get("/authorize", params=query(prompt="none"))
        if elapsed > limits.absolute_timeout:
            assert rp_params(response)["error"] == "login_required"
        else:
            assert "code" in rp_params(response), elapsed


@pytest.mark.parametrize(
    ("capability", "need", "expected"),
    [
        (Capability(frozenset({Category.KNOWLEDGE})), Need(frozenset({Category.KNOWLEDGE})), True),
        (
            Capability(frozenset({Category.KNOWLEDGE})),
            Need(frozenset({Category.POSSESSION})),
            False,
        ),
        (
            Capability(frozenset({Category.KNOWLEDGE})),
            Need(phishing_resistant=True, multi_factor=True),
            False,
        ),
        (
            Capability(
                frozenset({Category.POSSESSION, Category.KNOWLEDGE}),
                phishing_resistant=True,
                multi_factor=True,
            ),
            Need(phishing_resistant=True, multi_factor=True),
            True,
        ),
        (
            Capability(
                frozenset({Category.POSSESSION, Category.KNOWLEDGE}),
                phishing_resistant=True,
                multi_factor=True,
            ),
            Need(phishing_resistant=True, hardware_bound=True, multi_factor=True),
            False,
        ),
    ],
)
def test_factor_helps_only_the_need_it_can_serve(
    capability: Capability, need: Need, expected: bool
) -> None:
    """The page offers only factors that can supply what assess() reports missing."""
    assert helps(capability, need) is expected
    if need.phishing_resistant:
        assert provides(capability, need) is expected


async def test_https_issuer_uses_a_host_prefixed_secure_cookie(tmp_path: Path) -> None:
    """NIST SP 800-63B-4 §5.1, §5.1.1: under https the cookie
    is ``__Host-`` prefixed, Secure, HttpOnly, Path=/.
    """
    issuer = "https://op.example"
    webauthn = {"rp_id": "op.example", "rp_name": "stepauth test", "origins": [issuer]}
    async with running_provider(tmp_path, issuer=issuer, webauthn=webauthn) as provider:
        await provider.create_user()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=provider.app), base_url=issuer
        ) as browser:
            shown = await open_interaction(browser, query())
            response = await submit(
                browser, shown, "password", username=USERNAME, password=PASSWORD
            )
            assert rp_params(response)["iss"] == issuer
            cookies = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
            session = next(c for c in cookies if c.startswith("__Host-stepauth_session="))
            assert "Secure" in session
            assert "HttpOnly" in session
            assert "Path=/" in session
            assert "Domain" not in session


@pytest.mark.usefixtures("outbox_path")  # the lockout notice goes to a dev outbox
async def test_locked_factor_is_named_when_the_user_is_known(provider: Provider) -> None:
    """factor_locked: once the signed-in user's password is blocked, the re-authentication
    page says so (the user is already known, so nothing is enumerated)."""
    await sign_in(provider.browser, query())
    provider.clock.advance(1)
    shown = await open_interaction(provider.browser, query(prompt="login"))
    shown = await wrong_passwords(provider.browser, shown, [USERNAME] * MAX_FAILURES, "wrong")
    response = await submit(
        provider.browser, shown, "password", username=USERNAME, password=PASSWORD
    )
    assert response.status_code == 400
    assert "factor_locked" in page(response).reasons()


async def test_skipped_touches_never_extend_the_idle_limit(provider: Provider) -> None:
    """NIST SP 800-63B-4 §5.2 / ASVS 3.3.2: activity within the touch interval does not slide the
    idle limit, so a session is never live longer than the idle timeout after any activity;
    activity after the interval slides it."""
    from stepauth.provider.sessions import touch_interval

    await sign_in(provider.browser, query())
    idle = provider.state.config.sessions.idle_timeout
    interval = touch_interval(idle)
    provider.clock.advance(interval / 2)
    assert "code" in rp_params(
        await provider.browser.get("/authorize", params=query(prompt="none"))
    )
    provider.clock.advance(idle - interval / 2 + 1)  # idle + 1 after sign-in
    result = rp_params(await provider.browser.get("/authorize", params=query(prompt="none")))
    assert result["error"] == "login_required"

    other = provider.new_browser()
    await sign_in(other, query())
    provider.clock.advance(interval)
    assert "code" in rp_params(await other.get("/authorize", params=query(prompt="none")))
    provider.clock.advance(idle - 1)  # past sign-in + idle, within the slid limit
    assert "code" in rp_params(await other.get("/authorize", params=query(prompt="none")))
