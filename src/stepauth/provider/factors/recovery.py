"""Recovery codes: ten single-use look-up secrets, shown once, stored hashed.

Each code is 16 characters from a 32-symbol alphabet (80 bits from ``secrets``),
grouped ``xxxx-xxxx-xxxx-xxxx``; input is case-insensitive and ignores dashes and
spaces.

**Hash: HMAC-SHA-256 with a server pepper, not argon2id.** A slow, salted hash exists
to protect *low*-entropy secrets from offline guessing; an 80-bit code is already out
of reach (2^80 HMACs), so argon2id would add cost and nothing else. More importantly a
salted hash cannot be looked up, which would force read-every-hash-then-delete; a keyed
deterministic hash lets the store consume a code in **one atomic statement**
(``Store.consume("recovery_code", key)``), so a code races to exactly one winner.
The pepper (the provider's secret key, never stored in the database) means a
database-only leak cannot even test codes. The user id is bound into the HMAC, so a
code works only for its own account.

**Assurance.** A redeemed code is an ``AuthEvent(("otp",), attrs={"factor":
"recovery", "restricted": True})``: a possession-category look-up secret (NIST
SP 800-63B §3.1.2, allowed with a password at AAL2), never phishing-resistant, so it
can never satisfy ``phr``/``phrh`` (``METHODS["otp"].phishing_resistant`` is False).
The provider alerts the user on every use.

The interaction plug-in (:data:`plugin`, label **Recovery code**) derives the pepper
with HKDF-SHA-256 from the provider's secret (``secrets.key_env``), with its own
``info`` label so it never equals the key-encryption key, and applies the same lockout
as the other factors (:func:`stepauth.provider.throttle.guarded`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from stepauth.assurance import AuthEvent
from stepauth.errors import FactorError
from stepauth.keying import derive_key, secret_from_env
from stepauth.provider.factors.base import (
    Attempt,
    FactorRejected,
    FormField,
    FormView,
    RecordFactor,
    Verified,
)
from stepauth.provider.i18n import N_
from stepauth.provider.throttle import GENERIC_FAILURE, guarded

if TYPE_CHECKING:
    from stepauth.store import Store

__all__ = [
    "ALPHABET",
    "CODE_COUNT",
    "KIND",
    "InvalidRecoveryCode",
    "RecoveryError",
    "RecoveryFactor",
    "ReplayedRecoveryCode",
    "code_key",
    "generate_codes",
    "issue_codes",
    "pepper_from_env",
    "plugin",
    "redeem_code",
    "revoke_codes",
]

CODE_COUNT = 10
#: Crockford-style base32 without I, L, O, U: nothing to confuse when read aloud.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_LENGTH = 16
#: Store kind for the hashed codes.
KIND = "recovery_code"
_LOOKALIKES = str.maketrans("ILO", "110")


class RecoveryError(FactorError):
    error = "recovery_error"


class InvalidRecoveryCode(RecoveryError):
    """Not a current code of this user."""

    error = "invalid_code"


class ReplayedRecoveryCode(RecoveryError):
    """The code was already used."""

    error = "code_replayed"


def generate_codes(
    count: int = CODE_COUNT, *, choice: Callable[[str], str] = secrets.choice
) -> list[str]:
    """``count`` fresh codes, formatted for display."""
    codes = []
    for _ in range(count):
        raw = "".join(choice(ALPHABET) for _ in range(_LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, _LENGTH, 4)))
    return codes


def code_key(code: str, *, user_id: str, pepper: bytes) -> str:
    """The stored form: HMAC-SHA-256(pepper, user_id || NUL || normalised code)."""
    if len(pepper) < 16:
        raise RecoveryError("the pepper must be at least 16 bytes", error="invalid_config")
    normal = _normalise(code)
    mac = hmac.new(pepper, user_id.encode() + b"\x00" + normal.encode(), hashlib.sha256)
    return mac.hexdigest()


async def issue_codes(
    store: Store,
    *,
    user_id: str,
    pepper: bytes,
    previous: Sequence[str] = (),
    count: int = CODE_COUNT,
) -> tuple[list[str], dict[str, Any]]:
    """Store a new set and return ``(codes to show once, factor data)``.

    ``previous`` are the keys of the set being replaced (``data["keys"]``); they are
    deleted so an old sheet stops working. Keep the returned data on the user's
    ``recovery`` factor; the codes themselves are never stored.
    """
    await revoke_codes(store, keys=previous)
    codes = generate_codes(count)
    keys = [code_key(c, user_id=user_id, pepper=pepper) for c in codes]
    for key in keys:
        await store.put(KIND, key, {"user_id": user_id}, expires_at=None, user_id=user_id)
    return codes, {"keys": keys, "count": len(keys)}


async def revoke_codes(store: Store, *, keys: Sequence[str]) -> None:
    for key in keys:
        await store.delete(KIND, key)


async def redeem_code(
    store: Store,
    *,
    code: str,
    user_id: str,
    pepper: bytes,
    credential_id: str | None = None,
    now: float | None = None,
) -> AuthEvent:
    """Consume ``code`` atomically; a second use raises :class:`ReplayedRecoveryCode`."""
    now = time.time() if now is None else now
    normal = _normalise(code)
    if not well_formed(normal):
        raise InvalidRecoveryCode("not a recovery code")
    result = await store.consume(KIND, code_key(normal, user_id=user_id, pepper=pepper), now=now)
    status = getattr(result, "status", None)
    if status == "replayed":
        raise ReplayedRecoveryCode("this recovery code was already used")
    payload = getattr(result, "payload", None) or {}
    if status != "ok" or payload.get("user_id") != user_id:
        raise InvalidRecoveryCode("not a current recovery code")
    return AuthEvent(
        methods=("otp",),
        at=now,
        credential_id=credential_id,
        attrs={"factor": "recovery", "restricted": True},
    )


def well_formed(code: str) -> bool:
    """True when ``code`` (normalised or not) has the shape of a recovery code."""
    normal = _normalise(code)
    return len(normal) == _LENGTH and all(c in ALPHABET for c in normal)


def _normalise(code: str) -> str:
    text = "".join(code.split()).replace("-", "").upper()
    # Crockford decoding of look-alikes, so a misread character still matches.
    return text.translate(_LOOKALIKES)


def pepper_from_env(key_env: str = "STEPAUTH_SECRET_KEY") -> bytes:
    """The recovery-code pepper: HKDF-SHA-256 of the provider secret (RFC 5869)."""
    return derive_key(secret_from_env(key_env), b"stepauth recovery codes", key_env=key_env)


class RecoveryFactor(RecordFactor):
    """Single-use recovery codes: a last resort, restricted, never phishing-resistant."""

    kind: ClassVar[str] = "recovery"
    title: ClassVar[str] = N_("Recovery code")

    def fields(self, view: FormView) -> Sequence[FormField]:
        return (FormField("recovery_code", N_("Recovery code"), autocomplete="off"),)

    async def verify(self, attempt: Attempt) -> Verified:
        if not well_formed(attempt.form.get("recovery_code", "")):
            # malformed: not a guess at a recovery code, so not counted
            raise FactorRejected(GENERIC_FAILURE)

        async def check() -> Verified | None:
            user, enrolled = attempt.user, self.enrolled_factors(attempt)
            if user is None or not enrolled:
                return None
            pepper = pepper_from_env(attempt.state.config.secrets.key_env)
            try:
                event = await redeem_code(
                    attempt.state.store,
                    code=attempt.form.get("recovery_code", ""),
                    user_id=user.id,
                    pepper=pepper,
                    credential_id=enrolled[0].id,
                    now=attempt.now,
                )
            except RecoveryError:
                return None
            return Verified(user=user, event=event, factor_id=enrolled[0].id)

        return await guarded(attempt, self.kind, check)


plugin = RecoveryFactor()
