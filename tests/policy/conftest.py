"""Fixtures for the policy tests: the example policy and small policies built from TOML."""

from __future__ import annotations

from pathlib import Path

import pytest

from stepauth.policy import Policy, load_policy, parse_policy

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "policy.toml"

PAYMENT_ONLY = """
[actions.transfer]
kind = "payment"
acr = "phr"
exemptions = {exemptions}
{extra}
"""


@pytest.fixture(scope="session")
def example_policy() -> Policy:
    return load_policy(EXAMPLE)


def payment_policy(exemptions: str, *, names: str | None = None, extra: str = "") -> Policy:
    """A policy with one payment action ``transfer`` and the given ``[exemptions.*]`` tables."""
    listed = names if names is not None else "[]"
    text = PAYMENT_ONLY.format(exemptions=listed, extra=extra) + exemptions
    return parse_policy(text)
