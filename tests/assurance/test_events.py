"""AuthEvent: frozen, validated, JSON round trip
(NIST SP 800-63B-4 Appendix B; WebAuthn L3 §6.1.3).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stepauth.assurance import AssuranceError, AuthEvent, Category, InvalidEvent
from tests.assurance.factories import (
    ACR_1FA,
    ACR_2FA,
    NOW,
    passkey,
    password,
    recovery,
    security_key,
    sms,
    totp,
)

KNOW, POSS, INH = Category.KNOWLEDGE, Category.POSSESSION, Category.INHERENCE


def test_event_is_frozen_and_attrs_are_read_only() -> None:
    source = {"uv": True}
    event = AuthEvent(("pop", "user", "pin"), NOW, attrs=source)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.at = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        event.attrs["uv"] = False  # type: ignore[index]
    source["uv"] = False  # the event keeps its own copy
    assert event.attrs["uv"] is True
    assert event.multi_factor


def test_events_compare_and_hash_by_value() -> None:
    a = AuthEvent(("pwd",), NOW, attrs={"factor": "password"})
    b = AuthEvent(["pwd"], NOW, attrs={"factor": "password"})  # type: ignore[arg-type]
    assert a == b
    assert hash(a) == hash(b)
    assert b.methods == ("pwd",)


def test_password_is_one_knowledge_factor() -> None:
    event = password(0)
    assert event.categories == {KNOW}
    assert not (event.multi_factor)
    assert not (event.phishing_resistant)
    assert not (event.hardware_bound)


def test_passkey_with_uv_is_a_multi_factor_phishing_resistant_authenticator() -> None:
    """A passkey with UV counts as possession + knowledge (docs/concepts.md)."""
    event = passkey(0)
    assert event.categories == {POSS, KNOW}
    assert event.multi_factor
    assert event.phishing_resistant
    assert not event.hardware_bound  # synced: BE=1


def test_uv0_passkey_is_single_factor_even_if_pin_is_listed() -> None:
    """NIST SP 800-63B-4 Appendix B: with UV=0 the authenticator
    is a single-factor cryptographic authenticator.
    """
    event = AuthEvent(("pop", "user", "pin"), NOW, attrs={"uv": False})
    assert event.categories == {POSS}
    assert not event.multi_factor


def test_key_proof_without_recorded_uv_is_single_factor() -> None:
    """Fail closed: activation methods count only when UV was confirmed
    (NIST SP 800-63B-4 Appendix B).
    """
    event = AuthEvent(("hwk", "fpt"), NOW)
    assert event.categories == {POSS}
    assert not event.multi_factor


def test_uv_with_biometric_counts_as_inherence() -> None:
    event = AuthEvent(("pop", "user", "fpt"), NOW, attrs={"uv": True})
    assert event.categories == {POSS, INH}


def test_uv_without_named_activation_counts_as_knowledge() -> None:
    event = AuthEvent(("pop",), NOW, attrs={"uv": True})
    assert event.categories == {POSS, KNOW}
    assert event.multi_factor


def test_hardware_key_with_trusted_attestation_is_hardware_bound() -> None:
    """NIST SP 800-63B-4 §2.3.1, §2.3.2, Appendix B; WebAuthn L3 §6.1.3:
    BE=0 and attestation chaining to a trusted root.
    """
    assert security_key(0).hardware_bound


@pytest.mark.parametrize(
    "attrs",
    [
        {
            "uv": True,
            "be": True,
            "attestation_trusted": True,
        },  # synced passkey (NIST SP 800-63B-4 Appendix B)
        {"uv": True, "be": False, "attestation_trusted": False},
        {"uv": True, "be": False},  # no attestation verdict recorded
        {"uv": True, "attestation_trusted": True},  # BE flag not recorded
    ],
)
def test_hardware_bound_needs_both_be0_and_trusted_attestation(attrs: dict[str, Any]) -> None:
    """NIST SP 800-63B-4 Appendix B; WebAuthn L3 §6.1.3: fail closed — only BE=0 *and* a trusted
    attestation make a key hardware-bound.
    """
    assert not AuthEvent(("hwk", "user", "pin"), NOW, attrs=attrs).hardware_bound


def test_software_key_is_never_hardware_bound() -> None:
    attrs = {"uv": True, "be": False, "attestation_trusted": True}
    assert not AuthEvent(("swk", "pin"), NOW, attrs=attrs).hardware_bound


def test_restricted_events() -> None:
    """NIST SP 800-63B-4 §3.1.3.3, §3.2.9: SMS is restricted;
    recovery codes are recorded as restricted ``otp``.
    """
    assert sms(0).restricted
    assert recovery(0).restricted
    assert recovery(0).categories == {POSS}
    assert not totp(0).restricted


def test_emailed_code_is_no_factor() -> None:
    """NIST SP 800-63B-4 §3.1.3.1: "Email SHALL NOT be used for out-of-band
    authentication" — an email-code event (as an older version recorded it) proves no
    category, whatever methods it names, so it meets no level and never completes 2fa."""
    from stepauth.assurance import assess

    emailed = AuthEvent(("otp",), NOW - 60, attrs={"factor": "oob", "channel": "email"})
    assert emailed.categories == frozenset()
    assert emailed.category_bits == 0
    forged = AuthEvent(("hwk", "pin"), NOW, attrs={"channel": "email", "uv": True, "be": False})
    assert forged.categories == frozenset()
    assert not forged.multi_factor
    assert not forged.phishing_resistant
    assert not forged.hardware_bound
    with_password = assess([password(120), emailed], now=NOW)
    assert with_password.acr == ACR_1FA
    assert with_password.amr == ("pwd",)
    assert assess([emailed], now=NOW).acr is None
    assert assess([password(120), sms(60)], now=NOW).acr == ACR_2FA  # SMS stays a factor


def test_unregistered_methods_prove_nothing() -> None:
    assert AuthEvent(("x-custom",), NOW).categories == frozenset()


def test_json_round_trip() -> None:
    for event in (password(5), totp(6), passkey(7), security_key(8), sms(9)):
        data = event.to_json()
        assert data["methods"] == list(event.methods)
        assert AuthEvent.from_json(data) == event


def test_from_json_without_attrs() -> None:
    assert AuthEvent.from_json({"methods": ["pwd"], "at": 1}).attrs == {}


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "pwd",
        {},
        {"methods": ["pwd"]},
        {"at": 1},
        {"methods": "pwd", "at": 1},
        {"methods": [], "at": 1},
        {"methods": [""], "at": 1},
        {"methods": [1], "at": 1},
        {"methods": ["pwd"], "at": True},
        {"methods": ["pwd"], "at": "1"},
        {"methods": ["pwd"], "at": -1},
        {"methods": ["pwd"], "at": math.nan},
        {"methods": ["pwd"], "at": math.inf},
        {"methods": ["pwd"], "at": 1, "credential_id": ""},
        {"methods": ["pwd"], "at": 1, "credential_id": 5},
        {"methods": ["pwd"], "at": 1, "attrs": []},
        {"methods": ["pwd"], "at": 1, "attrs": {"uv": 1}},
        {"methods": ["pwd"], "at": 1, "attrs": {"be": "false"}},
        {"methods": ["pwd"], "at": 1, "attrs": {"aaguid": ""}},
        {"methods": ["pwd"], "at": 1, "attrs": {"factor": 3}},
        {"methods": ["pwd"], "at": 1, "attrs": {"time_step": True}},
        {"methods": ["pwd"], "at": 1, "attrs": {"time_step": -1}},
        {"methods": ["pwd"], "at": 1, "attrs": {"x": [1]}},
        {"methods": ["pwd"], "at": 1, "attrs": {"x": math.inf}},
        {"methods": ["pwd"], "at": 1, "attrs": {"": 1}},
        {"methods": ["pwd"], "at": 1, "extra": 1},
    ],
)
def test_malformed_json_raises_invalid_event(data: Any) -> None:
    with pytest.raises(InvalidEvent) as caught:
        AuthEvent.from_json(data)
    assert isinstance(caught.value, AssuranceError)
    assert caught.value.error == "invalid_event"


def test_constructor_validates_too() -> None:
    with pytest.raises(InvalidEvent):
        AuthEvent("pwd", NOW)  # type: ignore[arg-type]


_scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=0),
    st.text(min_size=1),
    st.floats(allow_nan=False, allow_infinity=False),
)


@given(
    methods=st.lists(
        st.sampled_from(["pwd", "otp", "pop", "hwk", "user", "pin", "sms"]), min_size=1
    ),
    at=st.floats(min_value=0, max_value=4e9, allow_nan=False),
    credential_id=st.one_of(st.none(), st.text(min_size=1)),
    uv=st.booleans(),
    be=st.booleans(),
    extra=st.dictionaries(st.text(min_size=1).filter(lambda k: k not in {"uv", "be"}), _scalars),
)
def test_json_round_trip_property(
    methods: list[str],
    at: float,
    credential_id: str | None,
    uv: bool,
    be: bool,
    extra: dict[str, Any],
) -> None:
    attrs = {"uv": uv, "be": be}
    for key, value in extra.items():
        try:
            AuthEvent(("pwd",), 0, attrs={key: value})
        except InvalidEvent:
            continue  # a known key with the wrong type is refused, tested above
        attrs[key] = value
    event = AuthEvent(tuple(methods), at, credential_id, attrs)
    assert AuthEvent.from_json(event.to_json()) == event
