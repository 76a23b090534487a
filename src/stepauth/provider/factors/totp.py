"""TOTP (RFC 6238) on HOTP (RFC 4226), with replay protection.

* SHA-1 / SHA-256 / SHA-512, 6-8 digits, 30 s step, T0 = 0 (RFC 6238 §4, §4.2, §5.2).
* Accept the time steps T-1, T and T+1 only (§5.2 "at most one time step";
  RFC 6238 §5.2; ASVS 5.0 6.5.5: a 30 s step, one step of network delay either way, single use).
* Replay: pyotp does not remember anything, so every accepted step is claimed through
  an atomic "advance only if greater" (``Store.advance_counter(factor_id,
  "totp_step", step)``). The same code again, or an older code after a newer one, is
  refused (RFC 6238 §5.2 "MUST NOT accept the second attempt"; NIST SP 800-63B-4 §3.1.4, §3.1.5).
* Secrets are random, at least 160 bits (RFC 4226 §4 R6; NIST SP 800-63B-4 §3.1.4 asks for
  ≥ 112 bits), and by default as long as the HMAC output (RFC 6238 §5.1).

The verifier only tells a wrong code (:class:`InvalidTotpCode`) from a replayed one
(:class:`ReplayedTotpCode`). The interaction plug-in (:data:`plugin`, see
:mod:`stepauth.provider.factors.base`) adds the provider's lockout
(:func:`stepauth.provider.throttle.guarded`, PSD2 RTS Art. 4(3)(b): at most 5
consecutive failures per user and factor type, then a growing block during which even
the right code is refused) and one generic message (Art. 4(3)(a)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import pyotp
import segno

from stepauth.assurance import AuthEvent
from stepauth.errors import FactorError
from stepauth.provider.factors.base import (
    Attempt,
    FactorRejected,
    FormField,
    FormView,
    RecordFactor,
    Verified,
    code_field,
    numeric_code,
)
from stepauth.provider.i18n import N_, gettext
from stepauth.provider.throttle import GENERIC_FAILURE, guarded

__all__ = [
    "ALGORITHMS",
    "PERIOD",
    "InvalidTotpCode",
    "InvalidTotpParams",
    "ReplayedTotpCode",
    "TotpError",
    "TotpFactor",
    "TotpParams",
    "claim_step_in",
    "generate_secret",
    "hotp",
    "plugin",
    "provisioning_uri",
    "qr_svg",
    "time_step",
    "totp",
    "verify_totp",
]

#: RFC 6238 §1.2: HMAC-SHA-1 (RFC 4226), and MAY use HMAC-SHA-256 / -512.
ALGORITHMS: dict[str, Callable[..., Any]] = {
    "SHA1": hashlib.sha1,
    "SHA256": hashlib.sha256,
    "SHA512": hashlib.sha512,
}
#: RFC 6238 §5.2 recommended time step (seconds).
PERIOD = 30
#: Accept T-1..T+1 (RFC 6238 §5.2); never more without learned drift.
WINDOW = 1

#: The code lengths RFC 6238 §4 allows here.
DIGITS = (6, 7, 8)
_MIN_SECRET_BYTES = 20


class TotpError(FactorError):
    """A TOTP code or configuration was refused."""

    error = "totp_error"


class InvalidTotpParams(TotpError):
    error = "invalid_totp_params"


class InvalidTotpCode(TotpError):
    """The code is not the one for T-1, T or T+1."""

    error = "invalid_code"


class ReplayedTotpCode(TotpError):
    """The code is right but its time step (or a later one) was already used."""

    error = "code_replayed"


@dataclass(frozen=True)
class TotpParams:
    """A TOTP credential: base32 ``secret`` plus RFC 6238 parameters."""

    secret: str
    digits: int = 6
    algorithm: str = "SHA1"
    period: int = PERIOD

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise InvalidTotpParams(f"unsupported algorithm {self.algorithm!r}")
        if self.digits not in DIGITS:
            raise InvalidTotpParams("digits must be 6, 7 or 8")
        if (
            not 1 <= self.period <= 120
        ):  # NIST SP 800-63B-4 §3.1.4, §3.1.5: changed at least every two minutes
            raise InvalidTotpParams("period must be 1..120 seconds")
        try:
            key = _secret_bytes(self.secret)
        except ValueError as exc:
            raise InvalidTotpParams("secret is not base32") from exc
        if len(key) < 16:  # RFC 4226 §4 R6: MUST be at least 128 bits
            raise InvalidTotpParams("secret is shorter than 128 bits")

    def to_data(self) -> dict[str, Any]:
        return {
            "secret": self.secret,
            "digits": self.digits,
            "algorithm": self.algorithm,
            "period": self.period,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> TotpParams:
        """The parameters stored for a factor; a factor whose seed did not open at rest
        (:mod:`stepauth.store.at_rest`) has none and is refused."""
        secret = data.get("secret")
        if not isinstance(secret, str):
            raise InvalidTotpParams("the factor has no usable secret")
        return cls(
            secret=secret,
            digits=int(data.get("digits", 6)),
            algorithm=str(data.get("algorithm", "SHA1")),
            period=int(data.get("period", PERIOD)),
        )


class _CounterStore(Protocol):
    async def advance_counter(self, factor_id: str, field: str, value: int) -> bool: ...


def generate_secret(
    *, algorithm: str = "SHA1", rand: Callable[[int], bytes] = secrets.token_bytes
) -> str:
    """A random base32 secret as long as the HMAC output (≥ 160 bits, RFC 6238 §5.1)."""
    if algorithm not in ALGORITHMS:
        raise InvalidTotpParams(f"unsupported algorithm {algorithm!r}")
    size = max(_MIN_SECRET_BYTES, ALGORITHMS[algorithm]().digest_size)
    return base64.b32encode(rand(size)).decode("ascii").rstrip("=")


def hotp(key: bytes, counter: int, *, digits: int = 6, algorithm: str = "SHA1") -> str:
    """RFC 4226 §5.3 HOTP value (dynamic truncation) for a raw ``key``."""
    secret = base64.b32encode(key).decode("ascii")
    return str(pyotp.HOTP(secret, digits=digits, digest=ALGORITHMS[algorithm]).at(counter))


def time_step(now: float, period: int = PERIOD) -> int:
    """T = floor((now - T0) / X) with T0 = 0 (RFC 6238 §4.2)."""
    return int(now // period)


def totp(params: TotpParams, now: float) -> str:
    """The code for ``now`` (RFC 6238 §4.2)."""
    return _code_at(params, time_step(now, params.period))


def provisioning_uri(params: TotpParams, *, account_name: str, issuer: str) -> str:
    """The ``otpauth://totp/`` URI that authenticator apps scan."""
    return str(
        pyotp.TOTP(
            params.secret,
            digits=params.digits,
            digest=ALGORITHMS[params.algorithm],
            interval=params.period,
        ).provisioning_uri(name=account_name, issuer_name=issuer)
    )


def qr_svg(uri: str, *, scale: int = 4) -> str:
    """The URI as an inline SVG QR code (no external image, works under a strict CSP)."""
    return str(segno.make(uri, error="m").svg_inline(scale=scale, title=gettext("TOTP QR code")))


def claim_step_in(store: _CounterStore, factor_id: str) -> Callable[[int], Awaitable[bool]]:
    """``claim_step`` for :func:`verify_totp` backed by the store's atomic counter."""

    async def claim(step: int) -> bool:
        return await store.advance_counter(factor_id, "totp_step", step)

    return claim


async def verify_totp(
    *,
    code: str,
    params: TotpParams,
    claim_step: Callable[[int], Awaitable[bool]],
    credential_id: str | None = None,
    now: float | None = None,
) -> AuthEvent:
    """Check ``code`` against T-1..T+1, then claim its step atomically (single use).

    ``claim_step(step)`` must return True only if ``step`` is greater than every step
    accepted before for this credential, and record it in the same atomic operation.
    """
    now = time.time() if now is None else now
    candidate = numeric_code(code, params.digits)
    if candidate is None:
        raise InvalidTotpCode("code has the wrong format")
    current = time_step(now, params.period)
    matched: int | None = None
    # Compare against every window step so timing does not reveal which one matched.
    otp = _hotp(params)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(str(otp.at(step)), candidate) and matched is None:
            matched = step
    if matched is None:
        raise InvalidTotpCode("code does not match")
    if not await claim_step(matched):
        raise ReplayedTotpCode("this code, or a newer one, was already used")
    return AuthEvent(
        methods=("otp",),
        at=now,
        credential_id=credential_id,
        attrs={"factor": "totp", "time_step": matched},
    )


def _hotp(params: TotpParams) -> pyotp.HOTP:
    return pyotp.HOTP(params.secret, digits=params.digits, digest=ALGORITHMS[params.algorithm])


def _code_at(params: TotpParams, step: int) -> str:
    return str(_hotp(params).at(step))


def _secret_bytes(secret: str) -> bytes:
    text = secret.replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


# --------------------------------------------------------------------------- plug-in
class TotpFactor(RecordFactor):
    """An authenticator app (RFC 6238): a possession factor, not phishing-resistant."""

    kind: ClassVar[str] = "totp"
    title: ClassVar[str] = N_("Authenticator app")

    def fields(self, view: FormView) -> Sequence[FormField]:
        return (code_field(),)

    async def verify(self, attempt: Attempt) -> Verified:
        code = attempt.form.get("code", "")
        if not any(numeric_code(code, digits) for digits in DIGITS):
            # malformed (RFC 6238 §4: 6-8 ASCII digits): not a guess, so not counted
            raise FactorRejected(GENERIC_FAILURE)

        async def check() -> Verified | None:
            user = attempt.user
            if user is None:
                return None
            for factor in self.enrolled_factors(attempt):
                try:
                    event = await verify_totp(
                        code=code,
                        params=TotpParams.from_data(dict(factor.data)),
                        claim_step=claim_step_in(attempt.state.store, factor.id),
                        credential_id=factor.id,
                        now=attempt.now,
                    )
                except TotpError:
                    continue  # wrong, replayed or unusable: a failure like any other
                return Verified(user=user, event=event, factor_id=factor.id)
            return None

        return await guarded(attempt, self.kind, check)


plugin = TotpFactor()
