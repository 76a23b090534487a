"""Server-side sessions: idle and absolute limits enforced by the store (NIST-06, ASVS 3.3.2)."""

from __future__ import annotations

import pytest

from stepauth.assurance import Category, Need
from stepauth.provider.factors.base import Capability, helps, provides
from tests.conformance.harness import Provider
from tests.provider.frontchannel import query, rp_params, sign_in


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
