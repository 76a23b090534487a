"""The RFC 8176 registry (RFC 8176 §2, §6.1; NIST SP 800-63B-4 §3.1.3.3, §3.2.5, §3.2.9)."""

from __future__ import annotations

import pytest

from stepauth.assurance import METHODS, Category

AMR_02 = {
    "face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin", "pwd",
    "rba", "retina", "sc", "sms", "swk", "tel", "user", "vbm", "wia", "pop",
}  # fmt: skip


def test_registry_holds_every_registered_value_and_pop() -> None:
    """RFC 8176 §2: every IANA value plus ``pop`` (OIDC EAP ACR Values), nothing else."""
    assert set(METHODS) == AMR_02
    assert all(METHODS[name].name == name and METHODS[name].description for name in METHODS)


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("pwd", Category.KNOWLEDGE),
        ("kba", Category.KNOWLEDGE),
        ("pin", Category.KNOWLEDGE),
        ("otp", Category.POSSESSION),
        ("sms", Category.POSSESSION),
        ("tel", Category.POSSESSION),
        ("hwk", Category.POSSESSION),
        ("swk", Category.POSSESSION),
        ("pop", Category.POSSESSION),
        ("sc", Category.POSSESSION),
        ("fpt", Category.INHERENCE),
        ("face", Category.INHERENCE),
        ("iris", Category.INHERENCE),
        ("retina", Category.INHERENCE),
        ("vbm", Category.INHERENCE),
    ],
)
def test_factor_methods_have_one_category(name: str, category: Category) -> None:
    """PSD2 Art. 4(30) / NIST §2: each factor method proves exactly one category."""
    assert METHODS[name].categories == frozenset({category})


@pytest.mark.parametrize("name", ["mfa", "rba", "geo", "user", "mca", "wia"])
def test_signals_and_summaries_count_towards_no_category(name: str) -> None:
    """Fail closed: risk signals, presence, transport and ``mfa`` are not factors."""
    assert METHODS[name].categories == frozenset()


def test_only_cryptographic_proofs_are_phishing_resistant() -> None:
    """NIST SP 800-63B-4 §3.2.5: manual-entry authenticators
    (OTP, SMS, phone) are not phishing-resistant.
    """
    resistant = {name for name, m in METHODS.items() if m.phishing_resistant}
    assert resistant == {"hwk", "swk", "pop", "sc"}


def test_hardware_bound_methods() -> None:
    """``pop`` leaves hardware vs software unspecified
    (RFC 8176 §2), so it is not hardware-bound.
    """
    assert {name for name, m in METHODS.items() if m.hardware_bound} == {"hwk", "sc"}


def test_pstn_methods_are_restricted() -> None:
    """NIST SP 800-63B-4 §3.1.3.3, §3.2.9: SMS and phone-call OOB are restricted authenticators."""
    assert {name for name, m in METHODS.items() if m.restricted} == {"sms", "tel"}


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        METHODS["new"] = METHODS["pwd"]  # type: ignore[index]
