"""The TOTP interaction plug-in: lockout (PSD2 RTS Art. 4(3)(b)) and generic refusals."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from stepauth.provider.config import ThrottleConfig
from stepauth.provider.factors import totp as totp_mod
from stepauth.provider.factors.base import Attempt, FactorPlugin, FactorRejected, FormView
from stepauth.provider.factors.totp import TotpParams, generate_secret, plugin
from stepauth.provider.notices import OutboxSender
from stepauth.provider.throttle import BLOCK_DELAYS, MAX_FAILURES

NOW = 1_800_000_000.0

#: The Provider's default limits, as a configured Provider has them.
CONFIG = SimpleNamespace(throttle=ThrottleConfig())


async def enrolled(store: Any, name: str = "alice") -> tuple[Any, TotpParams]:
    user = await store.create_user(name, None)
    params = TotpParams(secret=generate_secret())
    await store.add_factor(user.id, "totp", params.to_data(), label="phone", now=NOW)
    return user, params


async def attempt(store: Any, user: Any, code: str, now: float) -> Any:
    factors = await store.list_factors(user.id)
    return Attempt(
        state=SimpleNamespace(sender=OutboxSender(), store=store, config=CONFIG),  # type: ignore[arg-type]
        form={"factor": "totp", "code": code},
        user=user,
        factors=factors,
        now=now,
        interaction_id="i1",
    )


def test_plugin_shape() -> None:
    assert isinstance(plugin, FactorPlugin)
    fields = plugin.fields(FormView(login_hint=None, user=None))
    assert [f.label for f in fields] == ["One-time code"]
    assert fields[0].autocomplete == "one-time-code"
    assert not plugin.capability.phishing_resistant


async def test_right_code_verifies_and_marks_the_factor_used(store: Any) -> None:
    user, params = await enrolled(store)
    verified = await plugin.verify(await attempt(store, user, totp_mod.totp(params, NOW), NOW))
    assert verified.user.id == user.id
    assert verified.event.methods == ("otp",)
    assert (await store.get_factor(verified.factor_id)).last_used_at == NOW


async def test_replayed_totp_code_is_refused_with_the_generic_message(store: Any) -> None:
    user, params = await enrolled(store)
    code = totp_mod.totp(params, NOW)
    await plugin.verify(await attempt(store, user, code, NOW))
    with pytest.raises(FactorRejected) as info:
        await plugin.verify(await attempt(store, user, code, NOW + 1))
    assert info.value.description == "We could not verify that. Please try again."


async def test_sixth_totp_attempt_is_refused_even_when_correct(store: Any) -> None:
    """PSD2 RTS Art. 4(3)(b): 5 consecutive failures block;
    the right code is refused until expiry."""
    user, params = await enrolled(store)
    for i in range(MAX_FAILURES):
        with pytest.raises(FactorRejected):
            await plugin.verify(await attempt(store, user, "000000", NOW + i))
    right = totp_mod.totp(params, NOW + 10)
    with pytest.raises(FactorRejected) as info:
        await plugin.verify(await attempt(store, user, right, NOW + 10))
    assert info.value.locked is True
    later = NOW + BLOCK_DELAYS[0] + 60
    verified = await plugin.verify(await attempt(store, user, totp_mod.totp(params, later), later))
    assert verified.event.attrs["factor"] == "totp"
    assert (await store.failure_state(user.id, "totp")).count == 0


async def test_totp_of_another_user_does_not_count(store: Any) -> None:
    alice, _ = await enrolled(store, "alice")
    mallory, mallory_params = await enrolled(store, "mallory")
    factors = await store.list_factors(mallory.id)
    foreign = Attempt(
        state=SimpleNamespace(sender=OutboxSender(), store=store, config=CONFIG),  # type: ignore[arg-type]
        form={"code": totp_mod.totp(mallory_params, NOW)},
        user=alice,
        factors=factors,
        now=NOW,
        interaction_id="i2",
    )
    with pytest.raises(FactorRejected):
        await plugin.verify(foreign)
