"""docs/policy.md's complete example is examples/policy.toml, and it loads."""

from __future__ import annotations

import re

from stepauth.policy import Context, decide, explain, load_policy, parse_policy
from tests.policy.conftest import EXAMPLE

DOC = EXAMPLE.parents[1] / "docs" / "policy.md"


def _doc_example() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Complete example", 1)[1]
    match = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


def test_doc_example_is_the_example_file() -> None:
    assert _doc_example() == EXAMPLE.read_text(encoding="utf-8")


def test_doc_example_loads_and_decides() -> None:
    policy = parse_policy(_doc_example())
    assert sorted(policy.actions) == [
        "add_payee",
        "change_payout_details",
        "delete_tenant",
        "setup_standing_order",
        "transfer",
        "view_balance",
        "view_pii",
    ]
    for name in policy.actions:
        assert decide(policy, name, Context()).reasons


def test_doc_cli_sample_matches_the_command() -> None:
    """The console sample in the doc is what explain prints for a new device."""
    from decimal import Decimal

    text = DOC.read_text(encoding="utf-8")
    sample = text.split("```console\n", 1)[1].split("```", 1)[0].splitlines()[1:]
    policy = load_policy(EXAMPLE)
    context = Context(amount=Decimal("1250.00"), currency="EUR", new_device=True)
    assert explain(decide(policy, "transfer", context)).splitlines() == sample
