"""Authentication events: one factor presented and verified.

An :class:`AuthEvent` records the RFC 8176 ``amr`` values of one verification, when it
happened and what the verifier learned (``attrs``). Recording choices:

* password: ``("pwd",)``, ``factor="password"``;
* TOTP: ``("otp",)``, ``factor="totp"``, ``time_step`` = the accepted RFC 6238 step;
* passkey / security key: ``("pop" | "swk" | "hwk", "user", "pin" | "fpt" | "face")`` with
  ``uv``, ``up``, ``be``, ``bs``, ``attestation_trusted``, ``aaguid``;
* SMS / phone call: ``("sms",)`` / ``("tel",)`` — restricted (NIST §3.1.3.3);
* a code sent by email (``channel="email"``) is **no factor**: "Email SHALL NOT be used
  for out-of-band authentication" (NIST SP 800-63B-4 §3.1.3.1). The Provider never
  records one; an event that says so (from an older version) proves no category, so
  it meets no level, not even ``1fa``;
* recovery code: ``("otp",)`` with ``factor="recovery"``. A look-up secret is a
  possession factor (NIST SP 800-63B §3.1.2) but the event is marked **restricted**:
  it is a last resort, never phishing-resistant, and ladders may exclude it.

Derived properties (computed once, at construction):

* ``categories`` — the union of the methods' categories (none for an email code),
  except that activation
  methods (``pin``, biometrics) of a key proof count only with ``uv=True``: a UV=0
  passkey is a single-factor cryptographic authenticator (NIST SP 800-63B-4 Appendix B). ``uv=True``
  on a key proof with no activation method named counts as knowledge.
* ``multi_factor`` — a key proof with ``uv=True`` (a multi-factor authenticator).
* ``phishing_resistant`` — a cryptographic key proof (``hwk``/``swk``/``pop``/``sc``).
* ``hardware_bound`` — a key proof other than ``swk`` with ``be=False`` (device-bound)
  **and** ``attestation_trusted=True``; a synced passkey (BE=1) never is
  (NIST SP 800-63B-4 Appendix B).
* ``restricted`` — ``sms``/``tel`` or a recovery code;
* ``cap`` — ``attrs["cap"]``, an ``acr`` value: the event came from a factor on hold
  (bound during account recovery or by a one-factor account, NIST SP 800-63B-4
  §6.1.2.1) and counts for no level ranked above it (see
  :func:`~stepauth.assurance.assess`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from stepauth.assurance.errors import InvalidEvent
from stepauth.assurance.methods import (
    ACTIVATION_METHODS,
    KEY_PROOF_METHODS,
    METHODS,
    Category,
)

__all__ = ["AuthEvent"]

_BOOL_ATTRS = frozenset({"uv", "up", "be", "bs", "attestation_trusted"})
_STR_ATTRS = frozenset({"aaguid", "factor", "cap", "channel"})
#: Delivery channels that are no authenticator (NIST SP 800-63B-4 §3.1.3.1).
_NOT_AUTHENTICATORS = frozenset({"email"})
_INT_ATTRS = frozenset({"time_step"})

# Bit per category: the hot paths of assess() count categories with int.bit_count().
CATEGORY_BITS: Mapping[Category, int] = MappingProxyType(
    {Category.KNOWLEDGE: 1, Category.POSSESSION: 2, Category.INHERENCE: 4}
)
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _is_number(value: object) -> bool:
    # bool is an int subclass; a JSON true is never a timestamp.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(attrs, Mapping):
        raise InvalidEvent("attrs must be a mapping")
    checked: dict[str, Any] = {}
    for key, value in attrs.items():
        if not isinstance(key, str) or not key:
            raise InvalidEvent("attrs keys must be non-empty strings")
        if key in _BOOL_ATTRS and not isinstance(value, bool):
            raise InvalidEvent(f"attrs.{key} must be a boolean")
        if key in _STR_ATTRS and (not isinstance(value, str) or not value):
            raise InvalidEvent(f"attrs.{key} must be a non-empty string")
        if key in _INT_ATTRS and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise InvalidEvent(f"attrs.{key} must be a non-negative integer")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise InvalidEvent(f"attrs.{key} must be a JSON scalar")
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidEvent(f"attrs.{key} must be finite")
        checked[key] = value
    return checked


@dataclass(frozen=True, slots=True)
class AuthEvent:
    """One verified factor: ``methods`` (RFC 8176 ``amr``), ``at`` (epoch seconds)."""

    methods: tuple[str, ...]
    at: float
    credential_id: str | None = None
    attrs: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, hash=False)
    categories: frozenset[Category] = field(init=False, repr=False, compare=False)
    category_bits: int = field(init=False, repr=False, compare=False)
    multi_factor: bool = field(init=False, repr=False, compare=False)
    phishing_resistant: bool = field(init=False, repr=False, compare=False)
    hardware_bound: bool = field(init=False, repr=False, compare=False)
    restricted: bool = field(init=False, repr=False, compare=False)
    cap: str | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        methods = self.methods
        if isinstance(methods, str) or not isinstance(methods, tuple | list):
            raise InvalidEvent("methods must be a sequence of amr values")
        if not methods or not all(isinstance(m, str) and m for m in methods):
            raise InvalidEvent("methods must hold at least one non-empty amr string")
        if not _is_number(self.at) or not math.isfinite(self.at) or self.at < 0:
            raise InvalidEvent("at must be a finite, non-negative number of epoch seconds")
        if self.credential_id is not None and (
            not isinstance(self.credential_id, str) or not self.credential_id
        ):
            raise InvalidEvent("credential_id must be a non-empty string or None")
        attrs = _check_attrs(self.attrs)
        setattr_ = object.__setattr__
        setattr_(self, "methods", tuple(methods))
        setattr_(self, "attrs", MappingProxyType(attrs))

        # an email code proves nothing, whatever methods it names
        counted = () if attrs.get("channel") in _NOT_AUTHENTICATORS else self.methods
        key_proof = any(m in KEY_PROOF_METHODS for m in counted)
        uv = attrs.get("uv") is True
        multi_factor = key_proof and uv
        categories: set[Category] = set()
        for name in counted:
            method = METHODS.get(name)
            if method is None:
                continue  # an unregistered value proves nothing (fail closed)
            if key_proof and name in ACTIVATION_METHODS and not uv:
                continue  # NIST App. B: UV=0 means single-factor
            categories |= method.categories
        if multi_factor and not categories & {Category.KNOWLEDGE, Category.INHERENCE}:
            categories.add(Category.KNOWLEDGE)
        setattr_(self, "categories", frozenset(categories))
        setattr_(self, "category_bits", sum(CATEGORY_BITS[c] for c in categories))
        setattr_(self, "multi_factor", multi_factor)
        setattr_(
            self,
            "phishing_resistant",
            any(m in METHODS and METHODS[m].phishing_resistant for m in counted),
        )
        setattr_(
            self,
            "hardware_bound",
            key_proof
            and "swk" not in methods
            and attrs.get("be") is False
            and attrs.get("attestation_trusted") is True,
        )
        setattr_(
            self,
            "restricted",
            attrs.get("factor") == "recovery"
            or any(m in METHODS and METHODS[m].restricted for m in methods),
        )
        setattr_(self, "cap", attrs.get("cap"))

    def to_json(self) -> dict[str, Any]:
        """The JSON form stored with a session (``from_json`` reads it back)."""
        return {
            "methods": list(self.methods),
            "at": self.at,
            "credential_id": self.credential_id,
            "attrs": dict(self.attrs),
        }

    @classmethod
    def from_json(cls, data: Any) -> AuthEvent:
        """Validate and read the JSON form; raise :class:`InvalidEvent` when malformed."""
        if not isinstance(data, Mapping):
            raise InvalidEvent("an event must be a JSON object")
        unknown = set(data) - {"methods", "at", "credential_id", "attrs"}
        if unknown:
            raise InvalidEvent(f"unknown event members: {sorted(map(str, unknown))}")
        if "methods" not in data or "at" not in data:
            raise InvalidEvent("an event needs methods and at")
        methods = data["methods"]
        if not isinstance(methods, list | tuple):
            raise InvalidEvent("methods must be an array of amr values")
        attrs = data.get("attrs")
        if attrs is None:
            attrs = {}
        return cls(
            methods=tuple(methods),
            at=data["at"],
            credential_id=data.get("credential_id"),
            attrs=attrs,
        )
