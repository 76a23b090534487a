"""WebAuthn ceremonies with the software authenticator, verified by the Provider's functions.

:func:`enrol` runs a registration (WebAuthn L3 §7.1) and returns the stored record;
:func:`assert_with` runs an authentication (§7.2) whose every input a test may change;
:func:`verify_made` verifies an assertion a test made and tampered with itself.
The fixtures ``auth`` and ``stored`` (import them where needed) are an authenticator and
its enrolled credential.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from stepauth.provider.factors.webauthn import (
    StoredCredential,
    verify_authentication,
    verify_registration,
)
from tests.helpers.soft_authenticator import SoftAuthenticator

RP_ID, ORIGIN = "example.org", "https://example.org"
NOW = 1_800_000_000.0


def enrol(auth: SoftAuthenticator, **kw: Any) -> StoredCredential:
    challenge = os.urandom(32)
    cred = verify_registration(
        credential=auth.create(challenge),
        expected_challenge=challenge,
        expected_rp_id=RP_ID,
        expected_origins=[ORIGIN],
        now=NOW,
        **kw,
    )
    return cred.to_stored(auth.user_handle)


def assert_with(auth: SoftAuthenticator, stored: StoredCredential, **kw: Any) -> Any:
    challenge = kw.pop("challenge", os.urandom(32))
    expected = kw.pop("expected_challenge", challenge)
    get_kw = {k: kw.pop(k) for k in list(kw) if k in GET_KEYS}
    return verify_authentication(
        credential=auth.get(challenge, **get_kw),
        expected_challenge=expected,
        expected_rp_id=kw.pop("expected_rp_id", RP_ID),
        expected_origins=kw.pop("expected_origins", [ORIGIN]),
        stored=kw.pop("stored", stored),
        expected_user_handle=kw.pop("expected_user_handle", auth.user_handle),
        now=NOW,
        **kw,
    )


def verify_made(
    auth: SoftAuthenticator, stored: StoredCredential, credential: Any, challenge: bytes
) -> Any:
    """Verify an assertion already made (and tampered with) by ``auth`` for ``challenge``,
    every expectation the default one."""
    return verify_authentication(
        credential=credential,
        expected_challenge=challenge,
        expected_rp_id=RP_ID,
        expected_origins=[ORIGIN],
        stored=stored,
        expected_user_handle=auth.user_handle,
        now=NOW,
    )


GET_KEYS = {"rp_id", "client_data", "sign_count", "user_handle", "up", "uv", "be", "bs"}


@pytest.fixture
def auth() -> SoftAuthenticator:
    return SoftAuthenticator()


@pytest.fixture
def stored(auth: SoftAuthenticator) -> StoredCredential:
    return enrol(auth)
