"""assess(): the assurance model of docs/concepts.md exactly — hand-computed cases.

Standards: OIDC Core §2 (``auth_time``, ``amr``), RFC 8176 §2 (``amr``), OpenID Connect EAP
ACR Values 1.0 §2 (phr/phrh), NIST SP 800-63B-4 §2.2.1, §2.3.1, §2.3.2 (AAL2/AAL3), §5.1 (a
session is never above its events), §3.2.5 (OTP/SMS are not phishing-resistant) and Appendix B
(synced passkeys, UV=0), OIDC Core §12.2 and RFC 9470 §6.1 (refresh), WebAuthn L3 §6.1.3.
Levels from data and the generated properties are in ``test_assessment_custom_levels`` and
``test_assessment_properties``.
"""

from __future__ import annotations

import pytest

from stepauth.assurance import AuthEvent, Category, InvalidEvent, InvalidRequirement, Need, assess
from tests.assurance.factories import (
    ACR_1FA,
    ACR_2FA,
    DAY,
    HOUR,
    MINUTE,
    NOW,
    passkey,
    password,
    recovery,
    security_key,
    sms,
    totp,
)

KNOW, POSS, INH = Category.KNOWLEDGE, Category.POSSESSION, Category.INHERENCE


# --- worked cases, computed by hand -------------------------------------------------------


def test_passkey_step_up_meets_phr_with_auth_time_of_the_passkey() -> None:
    """Password 2 h ago + passkey (UV) 1 min ago, phr with max_age=300 → met.

    The passkey alone meets phr, so auth_time moves to the passkey.
    """
    key = passkey(MINUTE)
    result = assess([password(2 * HOUR), key], ["phr"], 300, now=NOW)
    assert result.met
    assert result.acr == "phr"
    assert result.auth_time == NOW - MINUTE
    assert result.amr == ("pop", "user", "pin", "mfa")
    assert result.events == (key,)
    assert result.missing == {}


def test_stale_password_is_what_2fa_with_max_age_is_missing() -> None:
    """2fa with max_age=300, password 2 h old, OTP fresh → not met; the knowledge factor
    (or one multi-factor authenticator) is missing."""
    result = assess([password(2 * HOUR), totp(MINUTE)], [ACR_2FA], 300, now=NOW)
    assert not result.met
    assert result.acr is None
    assert result.auth_time is None
    assert result.amr == ()
    needs = result.missing[ACR_2FA]
    assert Need(categories=frozenset({KNOW})) in needs
    assert Need(multi_factor=True) in needs
    assert Need(categories=frozenset({POSS})) not in needs  # the OTP is fresh


def test_code_added_to_old_password_keeps_auth_time_at_the_password() -> None:
    """Without max_age the 24 h window holds both:
    auth_time = the OLDER event (OIDC Core §2 (auth_time)).
    """
    result = assess([password(2 * HOUR), totp(MINUTE)], [ACR_2FA], now=NOW)
    assert result.met
    assert result.acr == ACR_2FA
    assert result.auth_time == NOW - 2 * HOUR
    assert result.amr == ("pwd", "otp", "mfa")


def test_synced_passkey_never_meets_phrh() -> None:
    """NIST SP 800-63B-4 Appendix B; WebAuthn L3 §6.1.3:
    syncable authenticators stop at AAL2, even with trusted attestation.
    """
    events = [passkey(0, attestation_trusted=True), password(0), totp(0)]
    result = assess(events, ["phrh"], 0, now=NOW)
    assert not result.met
    assert result.missing["phrh"] == (
        Need(phishing_resistant=True, hardware_bound=True, multi_factor=True),
    )
    assert assess(events, now=NOW).acr == "phr"


def test_device_bound_attested_key_meets_phrh() -> None:
    key = security_key(10 * MINUTE)
    result = assess([password(HOUR), key], ["phrh"], now=NOW)
    assert result.acr == "phrh"
    assert result.amr == ("hwk", "user", "pin", "mfa")
    assert result.auth_time == key.at


def test_unattested_device_bound_key_is_only_phr() -> None:
    key = security_key(0, attestation_trusted=False)
    assert assess([key], now=NOW).acr == "phr"


@pytest.mark.parametrize("factor", [sms, totp, recovery])
def test_codes_never_meet_phr(factor: object) -> None:
    """NIST SP 800-63B-4 §3.1.3.3, §3.2.5; ASVS 5.0 6.6.1:
    SMS, OTP and recovery codes are not phishing-resistant.
    """
    events = [password(0), factor(0)]  # type: ignore[operator]
    result = assess(events, ["phr"], now=NOW)
    assert not result.met
    assert result.missing["phr"] == (Need(phishing_resistant=True, multi_factor=True),)
    assert assess(events, now=NOW).acr == ACR_2FA  # still two factors (NIST SP 800-63B-4 §2.2.1)


def test_uv0_passkey_is_single_factor() -> None:
    """NIST SP 800-63B-4 Appendix B: UV=0 → single-factor cryptographic authenticator."""
    key = passkey(0, uv=False)
    assert assess([key], now=NOW).acr == ACR_1FA
    assert assess([key], [ACR_2FA], now=NOW).missing[ACR_2FA] == (
        Need(categories=frozenset({KNOW})),
        Need(categories=frozenset({INH})),
        Need(multi_factor=True),
    )
    with_password = assess([password(1), key], now=NOW)
    assert with_password.acr == ACR_2FA  # password + SF crypto is AAL2, not phr
    assert with_password.amr == ("pwd", "pop", "user", "mfa")


def test_preference_order_returns_first_met_value() -> None:
    """acr = the first requested value that is met (RFC 9470 §3)."""
    events = [password(0), totp(0), passkey(HOUR)]
    first = assess(events, [ACR_2FA, "phr"], now=NOW)
    assert first.acr == ACR_2FA
    assert first.auth_time == NOW  # pwd + otp is fresher than the passkey
    prefer_phr = assess(events, ["phr", ACR_2FA], now=NOW)
    assert prefer_phr.acr == "phr"
    assert prefer_phr.auth_time == NOW - HOUR


def test_missing_lists_preferred_values_that_were_not_met() -> None:
    result = assess([password(0), totp(0)], ["phrh", "phr", ACR_2FA], now=NOW)
    assert result.met
    assert result.acr == ACR_2FA
    assert set(result.missing) == {"phrh", "phr"}


def test_unknown_acr_values_are_ignored() -> None:
    """OIDC Core §3.1.2.1: unknown values must not fail the request."""
    events = [passkey(0)]
    assert assess(events, ["myACR", "phr"], now=NOW).acr == "phr"
    only_unknown = assess(events, ["myACR"], now=NOW)
    assert only_unknown.acr == "phr"  # as if nothing was requested: the highest met level
    assert "myACR" not in only_unknown.missing
    assert assess(events, "myACR phr", now=NOW).acr == "phr"  # wire form


def test_higher_level_satisfies_lower() -> None:
    key = security_key(0)
    for acr in (ACR_1FA, ACR_2FA, "phr", "phrh"):
        result = assess([key], [acr], now=NOW)
        assert result.acr == acr
        assert result.events == (key,)


def test_without_request_the_highest_level_is_returned() -> None:
    assert assess([password(0)], now=NOW).acr == ACR_1FA
    assert assess([password(0), totp(0)], now=NOW).acr == ACR_2FA
    assert assess([password(0), security_key(0)], now=NOW).acr == "phrh"


def test_level_windows_apply_without_max_age() -> None:
    """NIST SP 800-63B-4 §5.2: AAL1 30 days, AAL2 24 h, AAL3 12 h."""
    assert assess([password(10 * DAY)], now=NOW).acr == ACR_1FA
    assert assess([password(31 * DAY)], now=NOW).acr is None
    assert assess([password(25 * HOUR), totp(0)], now=NOW).acr == ACR_1FA
    assert assess([security_key(13 * HOUR)], now=NOW).acr == "phr"
    assert assess([security_key(12 * HOUR)], now=NOW).acr == "phrh"  # boundary inclusive


def test_max_age_zero_needs_an_event_at_now() -> None:
    assert assess([passkey(0)], ["phr"], 0, now=NOW).met
    assert not assess([passkey(1)], ["phr"], 0, now=NOW).met


def test_freshest_subset_wins_across_rules() -> None:
    """Among satisfying subsets the one whose oldest event is newest."""
    events = [passkey(3 * HOUR), password(2 * HOUR), totp(MINUTE)]
    result = assess(events, [ACR_2FA], now=NOW)
    assert result.auth_time == NOW - 2 * HOUR
    assert result.amr == ("pwd", "otp", "mfa")


def test_subset_drops_unneeded_events() -> None:
    events = [password(3 * HOUR), sms(2 * HOUR), totp(HOUR), password(MINUTE)]
    result = assess(events, [ACR_2FA], now=NOW)
    assert result.auth_time == NOW - HOUR
    assert result.amr == ("otp", "pwd", "mfa")


def test_authenticator_older_than_the_newest_events() -> None:
    events = [totp(0), password(0), passkey(HOUR)]
    result = assess(events, ["phr"], now=NOW)
    assert result.events == (events[2],)


def test_empty_session() -> None:
    result = assess([], now=NOW)
    assert (result.met, result.acr, result.amr, result.auth_time, result.missing) == (
        False,
        None,
        (),
        None,
        {},
    )
    needs = assess([], [ACR_2FA], now=NOW).missing[ACR_2FA]
    assert needs == (
        Need(categories=frozenset({KNOW, POSS})),
        Need(categories=frozenset({KNOW, INH})),
        Need(categories=frozenset({POSS, INH})),
        Need(multi_factor=True),
    )


def test_events_in_the_future_are_ignored() -> None:
    """Fail closed on clock skew: a future event proves nothing yet."""
    assert assess([passkey(-60)], now=NOW).acr is None


def test_signals_alone_meet_nothing() -> None:
    events = [AuthEvent((m,), NOW) for m in ("rba", "geo", "user", "mca", "wia", "mfa")]
    assert assess(events, now=NOW).acr is None


def test_recorded_mfa_is_not_repeated_in_amr() -> None:
    event = AuthEvent(("pwd", "otp", "mfa"), NOW)
    assert assess([event], now=NOW).amr == ("pwd", "otp", "mfa")


def test_events_may_be_given_in_their_json_form() -> None:
    events = [password(0).to_json(), passkey(0).to_json()]
    assert assess(events, now=NOW).acr == "phr"
    with pytest.raises(InvalidEvent):
        assess(["pwd"], now=NOW)  # type: ignore[list-item]
    with pytest.raises(InvalidEvent):
        assess([{"methods": [], "at": 1}], now=NOW)


@pytest.mark.parametrize("max_age", [-1, True, 1.5, "300"])
def test_invalid_max_age(max_age: object) -> None:
    with pytest.raises(InvalidRequirement):
        assess([], ["phr"], max_age, now=NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize("now", [True, "1", float("nan"), float("inf")])
def test_invalid_now(now: object) -> None:
    with pytest.raises(InvalidRequirement):
        assess([], now=now)  # type: ignore[arg-type]


def test_invalid_acr_values() -> None:
    with pytest.raises(InvalidRequirement):
        assess([], [1], now=NOW)  # type: ignore[list-item]


def test_now_defaults_to_the_clock() -> None:
    event = AuthEvent(("pwd",), 0)
    assert assess([event], [ACR_1FA], 10**12).met


def test_clock_skewed_event_cannot_raise_the_session() -> None:
    """An event stamped in the future (skewed verifier clock) counts only once it is due."""
    early = passkey(-300)
    assert not assess([password(HOUR), early], ["phr"], 300, now=NOW).met
    assert assess([password(HOUR), early], ["phr"], 300, now=NOW + 300).met


def test_stale_factor_cannot_be_refreshed_by_a_weaker_one() -> None:
    """A fresh SMS does not make a day-old passkey count as a fresh phr."""
    result = assess([passkey(DAY - 1), sms(0)], ["phr"], 300, now=NOW)
    assert not result.met
    assert result.missing["phr"] == (Need(phishing_resistant=True, multi_factor=True),)
