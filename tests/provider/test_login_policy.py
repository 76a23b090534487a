"""The login policy's named checks over assess() (docs/concepts.md;
OIDC Core §3.1.2.1, §3.1.2.2, §5.5.1.1).
"""

from __future__ import annotations

from typing import Any

from stepauth.assurance import DEFAULT_LADDER, AuthEvent, Category, Need
from stepauth.provider.factors.base import Capability, helps
from stepauth.provider.factors.password import PasswordFactor
from stepauth.provider.login_policy import (
    REASON_TEXT,
    REASONS,
    PolicyRequest,
    achievable,
    evaluate_login,
)

NOW = 1_800_000_000.0
ACR_1FA = "urn:stepauth:acr:1fa"
ACR_2FA = "urn:stepauth:acr:2fa"
PWD = AuthEvent(methods=("pwd",), at=NOW - 600, attrs={"factor": "password"})
OTP = AuthEvent(methods=("otp",), at=NOW - 60, attrs={"factor": "totp"})
PASSKEY = AuthEvent(
    methods=("pop", "user", "pin"),
    at=NOW - 30,
    attrs={"uv": True, "be": True, "factor": "webauthn"},
)
OTP_CAP = Capability(categories=frozenset({Category.POSSESSION}))
PASSKEY_CAP = Capability(
    categories=frozenset({Category.POSSESSION, Category.KNOWLEDGE}),
    phishing_resistant=True,
    multi_factor=True,
)


def request(events: list[AuthEvent], **kw: Any) -> PolicyRequest:
    kw.setdefault("session_sub", "u1" if events else None)
    return PolicyRequest(events=events, now=NOW, ladder=DEFAULT_LADDER, **kw)


def test_every_reason_has_words() -> None:
    assert set(REASONS) == {
        "no_session",
        "prompt_login",
        "max_age",
        "acr_not_met",
        "essential_acr",
        "id_token_hint_mismatch",
        "binding_required",
        "binding_unavailable",
        "factor_locked",
    }
    assert all(REASON_TEXT[r] for r in REASONS)


def test_no_session() -> None:
    decision = evaluate_login(request([]))
    assert decision.reasons[0] == "no_session"
    assert decision.assessment is None


def test_session_answers_with_its_best_level() -> None:
    decision = evaluate_login(request([PWD]))
    assert decision.satisfied
    assert decision.assessment is not None
    assert decision.assessment.acr == ACR_1FA
    assert decision.assessment.auth_time == PWD.at


def test_prompt_login_needs_an_event_after_the_interaction_started() -> None:
    """OIDC Core §3.1.2.3: prompt=login re-authenticates
    even a fresh session; only new events count.
    """
    assert evaluate_login(request([PWD], prompt_login=True)).reasons == ("prompt_login",)
    assert evaluate_login(request([PWD], prompt_login=True, before=[PWD])).reasons == (
        "prompt_login",
    )
    fresh = AuthEvent(methods=("pwd",), at=NOW - 1)
    decision = evaluate_login(request([PWD, fresh], prompt_login=True, before=[PWD]))
    assert decision.satisfied
    assert decision.assessment is not None
    assert (
        decision.assessment.auth_time == fresh.at
    )  # OpenID conformance suite: oidcc-prompt-login: strictly later


def test_max_age_too_old() -> None:
    """OIDC Core §3.1.2.1 (max_age): factors older than max_age → re-authenticate."""
    assert evaluate_login(request([PWD], max_age=300)).reasons == ("max_age",)
    decision = evaluate_login(request([PWD], max_age=10_000))
    assert decision.satisfied


def test_acr_not_met_lists_what_is_missing() -> None:
    """A 1fa session asked for 2fa is stepped up, never answered with 1fa (OIDC Core §5.5.1.1)."""
    decision = evaluate_login(request([PWD], acr_values=(ACR_2FA,)))
    assert decision.reasons == ("acr_not_met",)
    assert Need(categories=frozenset({Category.POSSESSION})) in decision.missing
    assert not any(helps(PasswordFactor.capability, n) for n in decision.missing)
    assert any(helps(OTP_CAP, n) for n in decision.missing)


def test_voluntary_acr_values_answer_with_the_session_acr() -> None:
    """OIDC Core §5.5.1.1: with acr_values voluntary
    the session's own acr is returned, never higher.
    """
    decision = evaluate_login(request([PWD], acr_values=(ACR_2FA,), enforce_acr_values=False))
    assert decision.satisfied
    assert decision.assessment is not None
    assert decision.assessment.acr == ACR_1FA


def test_essential_acr_always_enforced() -> None:
    """OIDC Core §5.5.1.1: essential acr is enforced even for a voluntary client."""
    decision = evaluate_login(request([PWD], essential_acr=(ACR_2FA,), enforce_acr_values=False))
    assert decision.reasons == ("essential_acr",)


def test_essential_acr_unknown_value_is_never_met() -> None:
    decision = evaluate_login(request([PWD, OTP], essential_acr=("urn:example:unknown",)))
    assert decision.reasons == ("essential_acr",)
    assert decision.missing == ()


def test_two_factors_meet_2fa_with_the_older_auth_time() -> None:
    """auth_time is the oldest event behind the acr (docs/concepts.md)."""
    decision = evaluate_login(request([PWD, OTP], acr_values=(ACR_2FA,)))
    assert decision.assessment is not None
    assert decision.assessment.acr == ACR_2FA
    assert decision.assessment.auth_time == PWD.at
    assert "mfa" in decision.assessment.amr


def test_level_met_but_too_old_is_max_age_not_acr_not_met() -> None:
    decision = evaluate_login(request([PWD, OTP], acr_values=(ACR_2FA,), max_age=300))
    assert decision.reasons == ("max_age",)


def test_id_token_hint_mismatch() -> None:
    """OIDC Core §3.1.2.2: another user's session never answers."""
    decision = evaluate_login(request([PWD], expected_sub="someone-else"))
    assert "id_token_hint_mismatch" in decision.reasons


def test_binding_requires_the_bound_approval() -> None:
    """PSD2 RTS Art. 5: a new event of any factor never approves bound details; a user
    who cannot give a bound approval (no passkey) gets binding_unavailable."""
    fresh = AuthEvent(methods=("pwd",), at=NOW)
    unbound = evaluate_login(request([PWD, fresh], binding=True, before=[PWD]))
    assert unbound.reasons == ("binding_unavailable",)
    required = request([PWD, fresh], binding=True, before=[PWD], approval_required=True)
    assert evaluate_login(required).reasons == ("binding_required",)
    approved = request(
        [PWD, fresh], binding=True, before=[PWD], approval_required=True, approved=True
    )
    assert evaluate_login(approved).satisfied


def test_achievable_needs_the_right_authenticator() -> None:
    phr = Need(phishing_resistant=True, multi_factor=True)
    assert not achievable(phr, [PasswordFactor.capability, OTP_CAP])
    assert achievable(phr, [PasswordFactor.capability, PASSKEY_CAP])
    possession = Need(categories=frozenset({Category.POSSESSION}))
    assert achievable(possession, [OTP_CAP])
    assert not achievable(possession, [PasswordFactor.capability])
    assert not achievable(possession, [])


def test_a_passkey_alone_moves_auth_time_forward() -> None:
    decision = evaluate_login(request([PWD, PASSKEY], acr_values=("phr",)))
    assert decision.assessment is not None
    assert decision.assessment.acr == "phr"
    assert decision.assessment.auth_time == PASSKEY.at
