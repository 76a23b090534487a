"""Policy file errors name the key and the line (tomllib keeps no positions; we find them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stepauth.errors import StepAuthError
from stepauth.policy import PolicyError, load_policy, parse_policy
from stepauth.policy.lines import key_lines

GOOD = """\
[policy]
version = 1

[actions.transfer]
kind = "payment"
acr = "phr"
bind = true
exemptions = [
  "low_value",
]

[actions.change_payout_details]
kind = "beneficiary"
acr = "phr"

[[actions.change_payout_details.upgrade]]
when = "has_hardware_key"
acr = "phrh"

[[rules]]
name = "new_device"
signal = "new_device"
max_age = 300

[[rules]]
name = "big"
signal = "amount_above"
threshold = "1000"

[exemptions.low_value]
counter = "count"
"""


def _error(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source="policy.toml")
    assert isinstance(info.value, StepAuthError)
    assert info.value.error == "invalid_policy"
    return info.value


def _replace(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


def test_good_policy_loads() -> None:
    policy = parse_policy(GOOD)
    assert sorted(policy.actions) == ["change_payout_details", "transfer"]
    assert [rule.name for rule in policy.rules] == ["new_device", "big"]
    assert policy.exemptions.low_value.counter == "count"


def test_unknown_action_field_names_its_line() -> None:
    exc = _error(_replace('acr = "phr"\nbind = true', 'acr = "phr"\nbnd = true'))
    assert exc.key == "actions.transfer.bnd"
    assert exc.line == 7
    assert str(exc).startswith("policy.toml:7: actions.transfer.bnd: unknown field 'bnd'")


def test_unknown_level_names_its_line() -> None:
    exc = _error(_replace('acr = "phrh"', 'acr = "aal3"'))
    assert exc.key == "actions.change_payout_details.upgrade[0].acr"
    assert exc.line == 18
    assert "unknown level 'aal3'" in exc.description


def test_unknown_action_level_names_its_line() -> None:
    exc = _error(
        _replace('kind = "beneficiary"\nacr = "phr"', 'kind = "beneficiary"\nacr = "gold"')
    )
    assert (exc.key, exc.line) == ("actions.change_payout_details.acr", 14)


def test_unknown_action_in_a_rule_names_its_line() -> None:
    exc = _error(_replace('signal = "new_device"\n', 'signal = "new_device"\nactions = ["wire"]\n'))
    assert (exc.key, exc.line) == ("rules[0].actions", 23)
    assert "unknown action 'wire'" in exc.description


def test_unknown_field_in_second_rule_names_its_line() -> None:
    exc = _error(_replace('threshold = "1000"', 'threshold = "1000"\nweight = 3'))
    assert (exc.key, exc.line) == ("rules[1].weight", 29)


def test_unknown_signal_names_its_line() -> None:
    exc = _error(_replace('signal = "amount_above"', 'signal = "amount_over"'))
    assert (exc.key, exc.line) == ("rules[1].signal", 27)


def test_unknown_exemption_in_a_multiline_list_names_its_line() -> None:
    exc = _error(_replace('  "low_value",', '  "low_value", "tiny"'))
    assert (exc.key, exc.line) == ("actions.transfer.exemptions", 8)


def test_unknown_table_names_its_line() -> None:
    exc = _error(GOOD + "\n[limits]\nmax = 1\n")
    assert (exc.key, exc.line) == ("limits", 33)


def test_unknown_exemption_option_names_its_line() -> None:
    exc = _error(_replace('counter = "count"', 'counter = "count"\nmax_amount_eur = 30'))
    assert (exc.key, exc.line) == ("exemptions.low_value.max_amount_eur", 32)


def test_rts_limits_cannot_be_raised() -> None:
    exc = _error(_replace('counter = "count"', 'counter = "count"\nmax_amount = "50.00"'))
    assert (exc.key, exc.line) == ("exemptions.low_value.max_amount", 32)
    assert "RTS limit 30" in exc.description
    exc = _error(_replace('counter = "count"', "max_count = 6"))
    assert exc.key == "exemptions.low_value.max_count"


def test_unbound_payment_is_rejected() -> None:
    exc = _error(_replace("bind = true", "bind = false"))
    assert (exc.key, exc.line) == ("actions.transfer.bind", 7)
    assert "RTS Art. 5" in exc.description


def test_exemption_not_enabled_is_rejected() -> None:
    exc = _error(_replace('  "low_value",', '  "low_value", "tra",'))
    assert "add an [exemptions.tra] table" in exc.description


def test_syntax_error_names_its_line() -> None:
    exc = _error(_replace("max_age = 300", "max_age = = 300"))
    assert exc.line == 23
    assert "not valid TOML" in exc.description


def test_missing_acr_is_rejected() -> None:
    exc = _error('[actions.view]\ndescription = "x"\n')
    assert (exc.key, exc.line) == ("actions.view.acr", 1)


def test_policy_without_actions_is_rejected() -> None:
    assert _error("[policy]\nversion = 1\n").key == "actions"


def test_load_reports_the_file_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(_replace('acr = "phrh"', 'acr = "aal3"'), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(info.value).startswith(f"{path}:18: ")
    with pytest.raises(PolicyError):
        load_policy(tmp_path / "missing.toml")


def test_key_lines_handles_quoted_and_dotted_keys() -> None:
    lines = key_lines('[actions."view.pii"]\nacr = "phr"\n[x]\na.b = 1\n"c d" = 2\n')
    assert lines[("actions", "view.pii", "acr")] == 2
    assert lines[("x", "a", "b")] == 4
    assert lines[("x", "c d")] == 5
