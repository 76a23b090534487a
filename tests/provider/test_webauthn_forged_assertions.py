"""A passkey attempt changes nothing until its signature verifies (WebAuthn L3 §7.2).

A stranger who knows a victim's credential ID (and user handle, the ``sub``) posts a
discoverable assertion for it, signed by a key of their own, with whatever flags and
counter they like. The clone signals of §7.2 (BE changed, step 18; signCount not
advancing, step 22) would disable the credential, so they are judged only over a
signature that verified (step 21): the forged assertion is refused and the victim's
factor record stays exactly as it was. A verified assertion stores the new BS and
``uvInitialized`` (step 24).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from stepauth.provider.factors.webauthn import b64url
from tests.helpers.frontchannel import open_interaction, query, sign_in, submit
from tests.helpers.harness import USERNAME, Provider, provider
from tests.helpers.passkeys import (
    enrol_passkey,
    passkey_options,
    refused,
    rp_params,
    unb64url,
    use_passkey,
    use_passkeys,
)
from tests.helpers.soft_authenticator import SoftAuthenticator

__all__ = ["provider"]

PHR = "phr"


async def _record(provider: Provider, factor_id: str) -> dict[str, Any]:
    """Every column of the factor record (data with its counters merged), as JSON text."""
    factor = await provider.store.get_factor(factor_id)
    assert factor is not None
    return json.loads(json.dumps(dataclasses.asdict(factor), sort_keys=True))


async def _victim(provider: Provider, **options: Any) -> tuple[SoftAuthenticator, str]:
    """alice's passkey, used once for real (stored signCount 1); returns it and its id."""
    use_passkeys(provider)
    alice = await provider.store.get_user_by_username(USERNAME)
    authenticator = await enrol_passkey(provider, alice.id, **options)
    owner = provider.new_browser()
    shown = await open_interaction(owner, query(acr_values=PHR))
    assert "code" in rp_params(await use_passkey(owner, shown, authenticator))
    factor = await provider.store.get_factor_by_credential_id(b64url(authenticator.credential_id))
    assert factor is not None
    assert factor.data["sign_count"] == 1
    return authenticator, factor.id


async def _forge(provider: Provider, victim: SoftAuthenticator, **assertion: Any) -> Any:
    """A stranger's browser, no session: a discoverable assertion for the victim's
    credential ID and user handle, signed by a fresh random key."""
    forger = SoftAuthenticator(
        rp_id=victim.rp_id,
        origin=victim.origin,
        credential_id=victim.credential_id,
        user_handle=victim.user_handle,
        backup_eligible=victim.backup_eligible,
        backup_state=victim.backup_state,
    )
    stranger = provider.new_browser()
    shown = await open_interaction(stranger, query(acr_values=PHR))
    options = await passkey_options(stranger, shown)
    credential = forger.get(unb64url(options["challenge"]), **assertion)
    return await submit(stranger, shown, "webauthn", credential=json.dumps(credential))


async def _assert_untouched(provider: Provider, factor_id: str, before: dict[str, Any]) -> None:
    assert await _record(provider, factor_id) == before
    assert before["disabled"] is False
    audit = await provider.store.tail_audit(50)
    assert not any(e.get("event") == "credential_flagged" for e in audit)


async def test_forged_assertion_with_flipped_backup_eligibility_cannot_disable_a_passkey(
    provider: Provider,
) -> None:
    """§7.2 steps 18/21: BE flipped by a forger is a forgery, not a clone signal."""
    victim, factor_id = await _victim(provider)
    before = await _record(provider, factor_id)
    assert refused(await _forge(provider, victim, be=True))
    await _assert_untouched(provider, factor_id, before)


async def test_forged_assertion_with_a_stale_sign_count_cannot_disable_a_passkey(
    provider: Provider,
) -> None:
    """§7.2 steps 21/22: a counter that does not advance proves nothing when unsigned."""
    victim, factor_id = await _victim(provider)
    before = await _record(provider, factor_id)
    assert refused(await _forge(provider, victim, sign_count=1))
    await _assert_untouched(provider, factor_id, before)


FLAG_SETS = [
    {"up": up, "uv": uv, "be": be, "bs": bs}
    for up in (True, False)
    for uv in (True, False)
    for be in (True, False)
    for bs in (True, False)
]


@pytest.mark.parametrize("synced", [False, True], ids=["device-bound", "synced"])
@pytest.mark.parametrize("flags", FLAG_SETS, ids=lambda f: "".join(k for k in f if f[k]) or "none")
async def test_forged_assertion_with_any_flags_and_counter_changes_no_factor_record(
    provider: Provider, flags: dict[str, bool], synced: bool
) -> None:
    """Whatever the forger sets, the record (counter, flags, disabled) stays the same."""
    victim, factor_id = await _victim(provider, backup_eligible=synced, backup_state=synced)
    before = await _record(provider, factor_id)
    for sign_count in (0, 1, 2**32 - 1):
        assert refused(await _forge(provider, victim, sign_count=sign_count, **flags))
        await _assert_untouched(provider, factor_id, before)
        # each forgery is verified, not refused by the owner's lockout (PSD2 RTS Art. 4(3))
        await provider.store.reset_failures(before["user_id"], "webauthn")


async def test_genuine_clone_signal_still_disables_the_passkey(provider: Provider) -> None:
    """The same signals over a signature that verified still flag the credential."""
    victim, factor_id = await _victim(provider)
    stranger = provider.new_browser()
    shown = await open_interaction(stranger, query(acr_values=PHR))
    assert refused(await use_passkey(stranger, shown, victim, sign_count=1))
    assert (await _record(provider, factor_id))["disabled"] is True


async def test_verified_assertion_stores_the_backup_state(provider: Provider) -> None:
    """§7.2 step 24, §6.1.3: the latest BS is kept; BE never changes."""
    victim, factor_id = await _victim(provider, backup_eligible=True, backup_state=True)
    assert (await _record(provider, factor_id))["data"]["backup_state"] is True
    for bs in (False, True):
        browser = provider.new_browser()
        shown = await open_interaction(browser, query(acr_values=PHR))
        assert "code" in rp_params(await use_passkey(browser, shown, victim, bs=bs))
        record = await _record(provider, factor_id)
        assert record["data"]["backup_state"] is bs
        assert record["data"]["backup_eligible"] is True
        assert record["disabled"] is False


async def test_uv_initialized_is_set_only_with_another_factor_in_the_session(
    provider: Provider,
) -> None:
    """§7.2 step 24: ``uvInitialized`` false → true needs a factor equivalent to user
    verification besides the passkey: a passkey alone does not set it, a passkey
    step-up of a password session does."""
    victim, factor_id = await _victim(provider)
    await provider.store.update_factor(
        factor_id, data={**(await _record(provider, factor_id))["data"], "uv_initialized": False}
    )
    alone = provider.new_browser()
    shown = await open_interaction(alone, query(acr_values=PHR))
    assert "code" in rp_params(await use_passkey(alone, shown, victim))
    assert (await _record(provider, factor_id))["data"]["uv_initialized"] is False

    browser = provider.browser
    await sign_in(browser, query())
    shown = await open_interaction(browser, query(acr_values=PHR))
    assert shown.kinds() == ["webauthn"]
    assert "code" in rp_params(await use_passkey(browser, shown, victim))
    assert (await _record(provider, factor_id))["data"]["uv_initialized"] is True
