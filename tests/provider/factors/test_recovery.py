"""Recovery codes: ten, high entropy, hashed, single use, never phr (NIST SP 800-63B-4 §3.1.2)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from stepauth.assurance import assess
from stepauth.provider.config import ThrottleConfig
from stepauth.provider.factors.recovery import (
    ALPHABET,
    CODE_COUNT,
    KIND,
    InvalidRecoveryCode,
    RecoveryError,
    ReplayedRecoveryCode,
    code_key,
    generate_codes,
    issue_codes,
    redeem_code,
)
from stepauth.provider.notices import OutboxSender

PEPPER = b"p" * 32
NOW = 1_800_000_000.0


def test_ten_codes_of_80_bits_each() -> None:
    codes = generate_codes()
    assert len(codes) == CODE_COUNT == 10
    assert len(set(codes)) == 10
    for code in codes:
        raw = code.replace("-", "")
        assert len(raw) == 16
        assert set(raw) <= set(ALPHABET)
    assert 16 * math.log2(len(ALPHABET)) == 80


def test_stored_form_is_a_keyed_hash_bound_to_the_user() -> None:
    code = generate_codes(1)[0]
    key = code_key(code, user_id="u1", pepper=PEPPER)
    assert code.replace("-", "") not in key
    assert len(key) == 64
    assert key == code_key(code.lower().replace("-", " "), user_id="u1", pepper=PEPPER)
    assert key != code_key(code, user_id="u2", pepper=PEPPER)
    assert key != code_key(code, user_id="u1", pepper=b"q" * 32)
    with pytest.raises(RecoveryError):
        code_key(code, user_id="u1", pepper=b"short")


async def test_recovery_code_is_single_use(store: Any) -> None:
    """Consumed atomically: the second use of a code is refused as a replay."""
    user = await store.create_user("carol", None)
    codes, data = await issue_codes(store, user_id=user.id, pepper=PEPPER)
    assert data["count"] == 10
    assert all(c.replace("-", "") not in str(data) for c in codes)  # shown once, never stored
    event = await redeem_code(store, code=codes[0], user_id=user.id, pepper=PEPPER, now=NOW)
    assert event.methods == ("otp",)
    assert event.attrs["factor"] == "recovery"
    assert event.restricted
    with pytest.raises(ReplayedRecoveryCode):
        await redeem_code(store, code=codes[0], user_id=user.id, pepper=PEPPER, now=NOW + 1)
    await redeem_code(store, code=codes[1], user_id=user.id, pepper=PEPPER, now=NOW + 2)


async def test_recovery_code_of_another_user_is_rejected(store: Any) -> None:
    alice = await store.create_user("alice", None)
    mallory = await store.create_user("mallory", None)
    codes, _ = await issue_codes(store, user_id=alice.id, pepper=PEPPER)
    with pytest.raises(InvalidRecoveryCode):
        await redeem_code(store, code=codes[0], user_id=mallory.id, pepper=PEPPER, now=NOW)


async def test_reissued_codes_invalidate_the_old_sheet(store: Any) -> None:
    user = await store.create_user("dave", None)
    old, data = await issue_codes(store, user_id=user.id, pepper=PEPPER)
    new, _ = await issue_codes(store, user_id=user.id, pepper=PEPPER, previous=data["keys"])
    with pytest.raises(InvalidRecoveryCode):
        await redeem_code(store, code=old[0], user_id=user.id, pepper=PEPPER, now=NOW)
    assert (await redeem_code(store, code=new[0], user_id=user.id, pepper=PEPPER, now=NOW)).at
    assert KIND == "recovery_code"


@pytest.mark.parametrize("code", ["", "1234", "!!!!-!!!!-!!!!-!!!!"])
async def test_malformed_recovery_codes_are_rejected(code: str) -> None:
    with pytest.raises(InvalidRecoveryCode):
        await redeem_code(None, code=code, user_id="u", pepper=PEPPER, now=NOW)  # type: ignore[arg-type]


def test_recovery_code_never_satisfies_phr() -> None:
    """The event is a restricted look-up secret: not phishing-resistant, so never phr."""
    from stepauth.assurance import AuthEvent

    event = AuthEvent(("otp",), NOW, attrs={"factor": "recovery", "restricted": True})
    pwd = AuthEvent(("pwd",), NOW, attrs={"factor": "password"})
    result = assess([pwd, event], acr_values=("phr", "phrh"), now=NOW)
    assert result.met is False
    assert not event.phishing_resistant


async def test_recovery_plugin_redeems_once(store: Any, monkeypatch: Any) -> None:
    """The interaction plug-in: label "Recovery code", single use, generic refusal."""
    from types import SimpleNamespace

    from stepauth.provider.factors.base import Attempt, FactorRejected, FormView
    from stepauth.provider.factors.recovery import pepper_from_env, plugin

    monkeypatch.setenv("STEPAUTH_TEST_SECRET", "s" * 43)
    pepper = pepper_from_env("STEPAUTH_TEST_SECRET")
    assert pepper != b"s" * 32
    user = await store.create_user("rita", None)
    codes, data = await issue_codes(store, user_id=user.id, pepper=pepper)
    await store.add_factor(user.id, "recovery", data, label="Recovery codes", now=NOW)
    state = SimpleNamespace(
        sender=OutboxSender(),
        store=store,
        config=SimpleNamespace(
            secrets=SimpleNamespace(key_env="STEPAUTH_TEST_SECRET"), throttle=ThrottleConfig()
        ),
    )
    assert [f.label for f in plugin.fields(FormView(None, None))] == ["Recovery code"]

    async def submit(code: str) -> Any:
        return await plugin.verify(
            Attempt(
                state=state,  # type: ignore[arg-type]
                form={"recovery_code": code},
                user=user,
                factors=await store.list_factors(user.id),
                now=NOW,
                interaction_id="i",
            )
        )

    verified = await submit(codes[3])
    assert verified.event.restricted
    assert verified.event.attrs["factor"] == "recovery"
    with pytest.raises(FactorRejected):
        await submit(codes[3])
    assert (await store.failure_state(user.id, "recovery")).count == 1


def test_pepper_needs_a_configured_secret(monkeypatch: Any) -> None:
    from stepauth.errors import ConfigError
    from stepauth.provider.factors.recovery import pepper_from_env

    monkeypatch.delenv("STEPAUTH_TEST_SECRET", raising=False)
    with pytest.raises(ConfigError):
        pepper_from_env("STEPAUTH_TEST_SECRET")
