"""Authentication events as the factor verifiers record them (events.py docstring)."""

from __future__ import annotations

from typing import Any

from stepauth.assurance import AuthEvent

NOW = 1_800_000_000.0
MINUTE = 60
HOUR = 3_600
DAY = 86_400

ACR_1FA = "urn:stepauth:acr:1fa"
ACR_2FA = "urn:stepauth:acr:2fa"

#: A custom level from data: PSD2 SCA (two categories, no SMS, no restricted methods)
#: above the default 2fa, fresh within five minutes.
PSD2_TOML = """
base = "default"
[[levels]]
acr = "urn:openbanking:psd2:sca"
above = "urn:stepauth:acr:2fa"
max_age = 300
rule = { categories = 2, exclude_methods = ["tel"], allow_restricted = false }
"""


def password(ago: float, now: float = NOW) -> AuthEvent:
    return AuthEvent(("pwd",), now - ago, attrs={"factor": "password"})


def totp(ago: float, now: float = NOW) -> AuthEvent:
    return AuthEvent(("otp",), now - ago, attrs={"factor": "totp", "time_step": 60_000_000})


def sms(ago: float, now: float = NOW) -> AuthEvent:
    return AuthEvent(("sms",), now - ago, attrs={"factor": "oob"})


def recovery(ago: float, now: float = NOW) -> AuthEvent:
    return AuthEvent(("otp",), now - ago, attrs={"factor": "recovery"})


def passkey(ago: float, now: float = NOW, *, uv: bool = True, **attrs: Any) -> AuthEvent:
    """A synced passkey (BE=1, BS=1) unless the flags say otherwise."""
    flags: dict[str, Any] = {"factor": "webauthn", "uv": uv, "up": True, "be": True, "bs": True}
    flags.update(attrs)
    methods = ("pop", "user", "pin") if uv else ("pop", "user")
    return AuthEvent(methods, now - ago, credential_id="cred-passkey", attrs=flags)


def security_key(ago: float, now: float = NOW, **attrs: Any) -> AuthEvent:
    """A device-bound hardware key (BE=0) whose attestation chains to a trusted root."""
    flags: dict[str, Any] = {
        "factor": "webauthn",
        "uv": True,
        "up": True,
        "be": False,
        "bs": False,
        "attestation_trusted": True,
        "aaguid": "2fc0579f-8113-47ea-b116-bb5a8db9202a",
    }
    flags.update(attrs)
    return AuthEvent(("hwk", "user", "pin"), now - ago, credential_id="cred-hwk", attrs=flags)
