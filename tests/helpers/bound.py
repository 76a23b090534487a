"""A bound step-up the way a payer does it: password sign-in, then the passkey approval.

Bound ``authorization_details`` are approved only by a factor that binds them (PSD2 RTS
Art. 5(1): a passkey whose challenge is ``SHA-256(nonce ‖ JCS(details))``), so tests that
need a granted transaction enrol a software passkey and press **Use passkey**.
"""

from __future__ import annotations

from collections.abc import Mapping

from tests.helpers.frontchannel import open_interaction, query, rp_params, sign_in
from tests.helpers.harness import USERNAME, Provider
from tests.helpers.passkeys import enrol_passkey, use_passkey, use_passkeys
from tests.helpers.soft_authenticator import SoftAuthenticator

__all__ = ["approve_with_passkey", "passkey_payer"]


async def passkey_payer(provider: Provider, username: str = USERNAME) -> SoftAuthenticator:
    """Offer passkeys, enrol one for ``username`` and sign them in with the password."""
    use_passkeys(provider)
    user = await provider.store.get_user_by_username(username)
    assert user is not None, username
    authenticator = await enrol_passkey(provider, user.id)
    await sign_in(provider.browser, query())
    return authenticator


async def approve_with_passkey(
    provider: Provider,
    params: Mapping[str, str],
    authenticator: SoftAuthenticator | None = None,
) -> str:
    """Open the bound request ``params`` and approve it with the passkey; returns the code."""
    if authenticator is None:
        authenticator = await passkey_payer(provider)
    shown = await open_interaction(provider.browser, params)
    assert "binding_required" in shown.reasons(), shown.reasons()
    return rp_params(await use_passkey(provider.browser, shown, authenticator))["code"]
