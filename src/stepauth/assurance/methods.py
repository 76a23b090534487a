"""The RFC 8176 authentication method reference (``amr``) registry.

Every value of the IANA registry (RFC 8176 §2) plus ``pop``
(OpenID Connect EAP ACR Values 1.0) is described by a :class:`Method`: the factor
categories it proves (PSD2 Art. 4(30), NIST SP 800-63B §2) and its properties.

Decisions for values that are not a factor by themselves (fail closed: they count
towards **no** category, so they can never raise a level on their own):

* ``mfa`` is a summary that :func:`~stepauth.assurance.assess` derives; a recorded
  ``mfa`` proves nothing.
* ``rba`` and ``geo`` are risk signals, not authenticators.
* ``user`` is a presence test (WebAuthn UP), not a factor.
* ``mca`` names the transport (several channels), not what was proven.
* ``wia`` (Windows integrated authentication) hides which factor the domain logon
  used; a deployment that knows its Kerberos set-up can write its own ladder rule.

Activation methods (``pin`` and the biometrics) add their category only to an event
whose user verification was confirmed (WebAuthn ``uv=True``), see
:mod:`stepauth.assurance.events`. ``kba`` and ``pin`` are knowledge; ``otp``, ``sms``,
``tel`` and the key proofs are possession.

``phishing_resistant`` marks the cryptographic proofs of possession (``hwk``, ``swk``,
``pop``, ``sc``): NIST SP 800-63B-4 §3.2.5 — manual-entry codes (``otp``,
``sms``, ``tel``) never are. ``hardware_bound`` marks methods whose key lives in
hardware by definition (``hwk``, ``sc``); an *event* is hardware-bound only with the
WebAuthn evidence (BE=0 and trusted attestation). ``restricted`` marks the PSTN
authenticators of NIST §3.1.3.3: ``sms`` and ``tel``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "ACTIVATION_METHODS",
    "KEY_PROOF_METHODS",
    "METHODS",
    "Category",
    "Method",
]


class Category(StrEnum):
    """Authentication factor categories (PSD2 Art. 4(30); NIST SP 800-63B §2)."""

    KNOWLEDGE = "knowledge"
    POSSESSION = "possession"
    INHERENCE = "inherence"


@dataclass(frozen=True, slots=True)
class Method:
    """One registered ``amr`` value and what it proves."""

    name: str
    description: str
    categories: frozenset[Category] = frozenset()
    phishing_resistant: bool = False
    hardware_bound: bool = False
    restricted: bool = False


_K = frozenset({Category.KNOWLEDGE})
_P = frozenset({Category.POSSESSION})
_I = frozenset({Category.INHERENCE})

_REGISTRY = (
    Method("face", "biometric authentication using facial recognition", _I),
    Method("fpt", "biometric authentication using a fingerprint", _I),
    Method("geo", "use of geolocation information for authentication (risk signal)"),
    Method(
        "hwk",
        "proof-of-possession of a hardware-secured key",
        _P,
        phishing_resistant=True,
        hardware_bound=True,
    ),
    Method("iris", "biometric authentication using an iris scan", _I),
    Method("kba", "knowledge-based authentication", _K),
    Method("mca", "multiple-channel authentication (transport, not a factor)"),
    Method("mfa", "multiple-factor authentication (derived by assess, never recorded)"),
    Method("otp", "one-time password (RFC 4226 HOTP, RFC 6238 TOTP)", _P),
    Method("pin", "PIN or pattern used to unlock a key on the device", _K),
    Method("pwd", "password-based authentication", _K),
    Method("rba", "risk-based authentication (risk signal)"),
    Method("retina", "biometric authentication using a retina scan", _I),
    Method(
        "sc",
        "smart card",
        _P,
        phishing_resistant=True,
        hardware_bound=True,
    ),
    Method(
        "sms",
        "confirmation using an SMS text message to a registered number",
        _P,
        restricted=True,
    ),
    Method(
        "swk",
        "proof-of-possession of a software-secured key",
        _P,
        phishing_resistant=True,
    ),
    Method(
        "tel",
        "confirmation by telephone call to a registered number",
        _P,
        restricted=True,
    ),
    Method("user", "user presence test (not a factor)"),
    Method("vbm", "biometric authentication using a voiceprint", _I),
    Method("wia", "Windows integrated authentication (underlying factor unknown)"),
    Method(
        "pop",
        "proof-of-possession of a key, hardware or software unspecified",
        _P,
        phishing_resistant=True,
    ),
)

METHODS: Mapping[str, Method] = MappingProxyType({m.name: m for m in _REGISTRY})
"""The registry, keyed by ``amr`` value (case-sensitive, RFC 8176 §2)."""

KEY_PROOF_METHODS = frozenset({"hwk", "swk", "pop", "sc"})
"""Cryptographic proofs of possession of a key (the authenticator of a WebAuthn event)."""

ACTIVATION_METHODS = frozenset({"pin", "fpt", "face", "iris", "retina", "vbm"})
"""Methods that unlock a key; they count only when user verification was confirmed."""
