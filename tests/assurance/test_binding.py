"""Binding level and the step-up that changes authenticators (NIST SP 800-63B-4 §6.1.2.1),
and the ``cap`` of an event from a factor on hold."""

from __future__ import annotations

import pytest

from stepauth.assurance import (
    BINDING_MAX_AGE,
    AuthEvent,
    Category,
    InvalidEvent,
    Need,
    assess,
    binding_level,
    binding_step_up,
    ladder_from_data,
    recovery_step_up,
)
from tests.assurance.factories import (
    ACR_1FA,
    ACR_2FA,
    MINUTE,
    NOW,
    passkey,
    password,
    recovery,
    security_key,
    totp,
)

KNOW = frozenset({Category.KNOWLEDGE})
HAVE = frozenset({Category.POSSESSION})
PASSWORD = Need(categories=KNOW)
TOTP = Need(categories=HAVE)
PASSKEY = Need(categories=KNOW | HAVE, phishing_resistant=True, multi_factor=True)
HARDWARE_KEY = Need(
    categories=KNOW | HAVE, phishing_resistant=True, multi_factor=True, hardware_bound=True
)


@pytest.mark.parametrize(
    ("authenticators", "expected"),
    [
        ([PASSWORD], ACR_1FA),
        ([TOTP], ACR_1FA),
        ([PASSWORD, TOTP], ACR_2FA),
        ([PASSWORD, PASSKEY], "phr"),
        ([PASSKEY], "phr"),
        ([PASSWORD, TOTP, HARDWARE_KEY], "phrh"),
        ([], None),
    ],
)
def test_binding_level_is_the_highest_level_of_all_factors_at_once(
    authenticators: list[Need], expected: str | None
) -> None:
    assert binding_level(authenticators) == expected


def test_binding_level_follows_the_ladder() -> None:
    ladder = ladder_from_data(
        {
            "base": "default",
            "levels": [{"acr": "sca", "above": ACR_2FA, "max_age": 300, "rule": {"categories": 2}}],
        }
    )
    assert binding_level([PASSWORD, TOTP], ladder=ladder) == "sca"
    assert binding_level([PASSWORD], ladder=ladder) == ACR_1FA


def test_binding_level_agrees_with_assess() -> None:
    """The level from capabilities is what assess() reaches with one event of each."""
    cases = [
        ([PASSWORD], [password(0)]),
        ([PASSWORD, TOTP], [password(0), totp(0)]),
        ([PASSWORD, PASSKEY], [password(0), passkey(0)]),
        ([PASSWORD, HARDWARE_KEY], [password(0), security_key(0)]),
    ]
    for authenticators, events in cases:
        assert binding_level(authenticators) == assess(events, now=NOW).acr


def test_password_alone_does_not_meet_a_passkey_binding_level() -> None:
    result = binding_step_up([password(10)], "phr", now=NOW)
    assert not result.met
    (need,) = result.missing["phr"]
    assert need.phishing_resistant
    assert binding_step_up([password(10), passkey(5)], "phr", now=NOW).met


def test_password_alone_meets_a_password_only_binding_level() -> None:
    assert binding_step_up([password(10)], ACR_1FA, now=NOW).met


def test_binding_step_up_is_at_most_five_minutes_old() -> None:
    assert binding_step_up([password(BINDING_MAX_AGE)], ACR_1FA, now=NOW).met
    assert not binding_step_up([password(BINDING_MAX_AGE + 1)], ACR_1FA, now=NOW).met
    old_totp = [password(MINUTE), totp(10 * MINUTE)]
    result = binding_step_up(old_totp, ACR_2FA, now=NOW)
    assert not result.met
    assert result.missing[ACR_2FA]  # the TOTP code is what is missing


def test_recovery_code_never_meets_the_binding_level() -> None:
    """A recovery code is a last resort: password + code is 2fa for sign-in, never for
    changing how the account signs in."""
    events = [password(10), recovery(5)]
    assert assess(events, acr_values=(ACR_2FA,), now=NOW).met
    assert not binding_step_up(events, ACR_2FA, now=NOW).met


def test_unknown_binding_level_asks_for_the_highest() -> None:
    assert not binding_step_up([password(1), passkey(1)], None, now=NOW).met
    assert not binding_step_up([password(1), passkey(1)], "no-such-acr", now=NOW).met
    assert binding_step_up([security_key(1)], None, now=NOW).met


def test_binding_step_up_reads_the_json_form() -> None:
    assert binding_step_up([password(1).to_json()], ACR_1FA, now=NOW).met


def test_recovery_step_up_needs_a_code_and_one_more_fresh_factor() -> None:
    assert recovery_step_up([password(10), recovery(5)], now=NOW) == ACR_2FA
    assert recovery_step_up([recovery(5)], now=NOW) is None
    assert recovery_step_up([password(10 * MINUTE), recovery(5)], now=NOW) is None
    assert recovery_step_up([password(10), totp(5)], now=NOW) is None
    assert recovery_step_up([], now=NOW) is None


def _held(event: AuthEvent, cap: str) -> AuthEvent:
    return AuthEvent(event.methods, event.at, event.credential_id, {**event.attrs, "cap": cap})


def test_a_capped_event_counts_at_most_at_its_cap() -> None:
    held = _held(passkey(5), ACR_1FA)
    assert held.cap == ACR_1FA
    assert assess([held], now=NOW).acr == ACR_1FA
    assert not assess([held], acr_values=("phr",), now=NOW).met
    assert not assess([password(1), held], acr_values=(ACR_2FA,), now=NOW).met
    missing = assess([held], acr_values=("phr",), now=NOW).missing["phr"]
    assert missing  # the held passkey is not counted: a passkey is still missing
    two = _held(passkey(5), ACR_2FA)
    assert assess([two], now=NOW).acr == ACR_2FA
    assert assess([two], acr_values=("phr", ACR_2FA), now=NOW).acr == ACR_2FA


def test_a_cap_the_ladder_does_not_know_allows_nothing() -> None:
    held = _held(passkey(5), "urn:example:gone")
    assert assess([held], now=NOW).acr is None
    assert assess([password(1), held], now=NOW).acr == ACR_1FA


def test_a_capped_event_is_left_out_of_the_binding_step_up() -> None:
    assert not binding_step_up([_held(passkey(5), ACR_1FA)], ACR_1FA, now=NOW).met


def test_cap_must_be_a_non_empty_string() -> None:
    with pytest.raises(InvalidEvent):
        AuthEvent(("pwd",), NOW, attrs={"cap": ""})
    assert AuthEvent.from_json(_held(passkey(5), "phr").to_json()).cap == "phr"
