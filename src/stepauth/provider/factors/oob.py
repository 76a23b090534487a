"""Out-of-band codes by SMS — a restricted factor, offered only after stronger ones.

NIST SP 800-63B-4 §3.1.3 (§3.1.3.3, §3.2.9; ASVS 5.0 6.6.1):

* at least 6 decimal digits from an approved RBG (``secrets``);
* valid for 10 minutes at most, and accepted once;
* generating a new code does **not** reset the failed-attempt count: this module never
  touches failure counters (the provider's lockout counts failures per user and
  factor type, and only a *successful* verification resets them);
* never phishing-resistant: SMS is the restricted ``sms`` method (§3.1.3.3): it may
  complete ``urn:stepauth:acr:2fa`` with a password, never ``phr``;
* **email is no authenticator at all**: "Email SHALL NOT be used for out-of-band
  authentication" (§3.1.3.1), since an inbox is reached with a password and does not
  prove possession of a device. No code is ever sent by email (:func:`send_code`
  refuses the channel), an OOB factor recorded with ``channel="email"`` is not enrolled
  (never offered, never verified), and a stored email code is refused. Email carries
  account notices only (:func:`notify`); :class:`stepauth.assurance.AuthEvent` gives an
  email-code event recorded by an older version no factor category either. stepauth
  has no recovery by email; one would have to end in a new enrolment, never in an
  authentication event.

Single use is one atomic ``Store.consume("oob_code", key)``. The key is
SHA-256(challenge id ‖ code): a wrong code looks up nothing (so a typo does not burn
the code; the provider's lockout bounds guessing), the right one is consumed exactly
once, a second use comes back ``replayed``.

Codes go out through the Provider's sender (``ProviderState.sender``, a
:class:`~stepauth.provider.notices.Sender`; by default the development outbox of
:mod:`stepauth.provider.notices`, read with ``stepauth outbox``), like the account notices.

The interaction plug-in (:data:`plugin`, label **One-time code**) is a restricted
factor listed after the passkey and the authenticator app (``FACTOR_MODULES`` order).
Submitting its form with an empty code is the "send code" action: a new code is sent
(at most :data:`SENDS_PER_WINDOW` per user every 10 minutes, none while the user's OOB
factor is blocked) and its challenge id kept
server-side for this interaction; submitting a code verifies it under the lockout of
:mod:`stepauth.provider.throttle` (factor type ``oob``), which a new code never resets.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

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
from stepauth.provider.i18n import N_, ngettext
from stepauth.provider.notices import Sender
from stepauth.provider.throttle import GENERIC_FAILURE, guarded, is_blocked

if TYPE_CHECKING:
    from stepauth.store import Factor, Store, User

__all__ = [
    "CODE_TTL",
    "KIND",
    "ExpiredOobCode",
    "InvalidOobCode",
    "OobChallenge",
    "OobError",
    "OobFactor",
    "ReplayedOobCode",
    "code_message",
    "generate_code",
    "plugin",
    "send_code",
    "verify_code",
]

#: NIST SP 800-63B-4 §3.1.3: "invalid unless completed within 10 minutes".
CODE_TTL = 600
KIND = "oob_code"
#: Channels a code may be sent on. Not email (NIST SP 800-63B-4 §3.1.3.1).
CHANNELS = frozenset({"sms"})
EMAIL_REFUSED = "email is not an out-of-band authenticator (NIST SP 800-63B-4 §3.1.3.1)"


class OobError(FactorError):
    error = "oob_error"


class InvalidOobCode(OobError):
    error = "invalid_code"


class ExpiredOobCode(OobError):
    error = "code_expired"


class ReplayedOobCode(OobError):
    error = "code_replayed"


@dataclass(frozen=True)
class OobChallenge:
    """What the provider keeps in the interaction: the challenge id, not the code."""

    challenge_id: str
    channel: str
    expires_at: float


def generate_code(digits: int = 6, *, randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """A uniformly random code of ``digits`` (≥ 6) decimal digits."""
    if digits < 6:
        raise OobError("OOB codes have at least 6 digits", error="invalid_config")
    return str(randbelow(10**digits)).zfill(digits)


async def send_code(
    store: Store,
    sender: Sender,
    *,
    user_id: str,
    channel: str,
    to: str,
    factor_id: str | None = None,
    digits: int = 6,
    ttl: int = CODE_TTL,
    issuer: str = "stepauth",
    now: float | None = None,
) -> OobChallenge:
    """Create a code, store its hash for ``ttl`` seconds and send it (by SMS only), in
    the request's language (:func:`code_message`)."""
    if channel == "email":
        raise OobError(EMAIL_REFUSED, error="invalid_request")
    if channel not in CHANNELS:
        raise OobError(f"unknown channel {channel!r}", error="invalid_request")
    if not 0 < ttl <= CODE_TTL:
        raise OobError("OOB codes live at most 10 minutes", error="invalid_config")
    now = time.time() if now is None else now
    challenge_id = secrets.token_urlsafe(16)
    code = generate_code(digits)
    payload = {"user_id": user_id, "factor_id": factor_id, "channel": channel}
    await store.put(KIND, _key(challenge_id, code), payload, expires_at=now + ttl, user_id=user_id)
    await sender.send(channel=channel, to=to, message=code_message(issuer, code, ttl))
    return OobChallenge(challenge_id=challenge_id, channel=channel, expires_at=now + ttl)


def code_message(issuer: str, code: str, ttl: int) -> str:
    """The text that carries ``code``, in the language of the request that asked for it
    (:mod:`stepauth.provider.notices`): the page the user types it into speaks the same."""
    minutes = max(ttl // 60, 1)
    return ngettext(
        "%(issuer)s code: %(code)s (valid %(num)d minute; never share it)",
        "%(issuer)s code: %(code)s (valid %(num)d minutes; never share it)",
        minutes,
    ) % {"issuer": issuer, "code": code, "num": minutes}


async def verify_code(
    store: Store,
    *,
    challenge_id: str,
    code: str,
    user_id: str,
    digits: int = 6,
    now: float | None = None,
) -> AuthEvent:
    """Consume the code atomically; raise a specific :class:`OobError` otherwise."""
    now = time.time() if now is None else now
    candidate = numeric_code(code, digits)
    if candidate is None:
        raise InvalidOobCode("code has the wrong format")
    result = await store.consume(KIND, _key(challenge_id, candidate), now=now)
    status = getattr(result, "status", None)
    if status == "replayed":
        raise ReplayedOobCode("this code was already used")
    if status == "expired":
        raise ExpiredOobCode("this code has expired")
    payload = getattr(result, "payload", None) or {}
    if status != "ok" or payload.get("user_id") != user_id:
        raise InvalidOobCode("code does not match")
    if payload.get("channel", "sms") not in CHANNELS:
        # a code an older version sent by email: consumed, and no authentication event
        raise InvalidOobCode(EMAIL_REFUSED)
    return AuthEvent(
        methods=("sms",),
        at=now,
        credential_id=payload.get("factor_id") or None,
        attrs={"factor": "oob", "channel": "sms"},
    )


def _key(challenge_id: str, code: str) -> str:
    return hashlib.sha256(f"{challenge_id}\x00{code}".encode()).hexdigest()


# --------------------------------------------------------------------------- plug-in
#: Codes a user may be sent per :data:`CODE_TTL` window
#: (SMS pumping, NIST SP 800-63B-4 §3.1.3.3, §3.2.9).
SENDS_PER_WINDOW = 5
PENDING_KIND = "oob_pending"
CODE_DIGITS = 6

CODE_SENT = N_("We sent a code. Enter it below; it is valid for 10 minutes.")


def _by_sms(factor: Factor) -> bool:
    return factor.data.get("channel", "sms") in CHANNELS


class OobFactor(RecordFactor):
    """A code sent by SMS: restricted, never phishing-resistant (NIST SP 800-63B-4 §3.1.3.3).

    Only SMS factors are enrolled: a factor recorded with ``channel="email"`` is never
    offered nor verified (NIST SP 800-63B-4 §3.1.3.1).
    """

    kind: ClassVar[str] = "oob"
    title: ClassVar[str] = N_("Code sent to your phone")

    def is_enrolled(self, user: User, factors: Sequence[Factor]) -> bool:
        return any(f.kind == self.kind and not f.disabled and _by_sms(f) for f in factors)

    def enrolled_factors(self, attempt: Attempt) -> list[Factor]:
        return [f for f in super().enrolled_factors(attempt) if _by_sms(f)]

    def fields(self, view: FormView) -> Sequence[FormField]:
        return (code_field("oob_code", required=False),)

    async def verify(self, attempt: Attempt) -> Verified:
        user, enrolled = attempt.user, self.enrolled_factors(attempt)
        if user is None or not enrolled:
            raise FactorRejected(GENERIC_FAILURE)
        factor = enrolled[0]
        code = "".join(attempt.form.get("oob_code", "").split())
        pending_key = f"{attempt.interaction_id}:{user.id}"
        store = attempt.state.store
        if not code:
            await self._send(attempt, user, factor, pending_key)
            raise FactorRejected(CODE_SENT)
        if numeric_code(code, CODE_DIGITS) is None:
            # malformed: not a guess at the code that was sent, so not counted
            raise FactorRejected(GENERIC_FAILURE)

        async def check() -> Verified | None:
            item = await store.get(PENDING_KIND, pending_key, now=attempt.now)
            if item is None:
                return None
            try:
                event = await verify_code(
                    store,
                    challenge_id=str(item.payload["challenge_id"]),
                    code=code,
                    user_id=user.id,
                    now=attempt.now,
                )
            except OobError:
                return None
            await store.delete(PENDING_KIND, pending_key)
            return Verified(user=user, event=event, factor_id=factor.id)

        return await guarded(attempt, self.kind, check)

    async def _send(self, attempt: Attempt, user: User, factor: Factor, pending_key: str) -> None:
        store = attempt.state.store
        if is_blocked(await store.failure_state(user.id, self.kind), attempt.now):
            # no code for a blocked factor (it could not be used; SMS pumping)
            raise FactorRejected(GENERIC_FAILURE, locked=True, user_id=user.id)
        window = f"send:{int(attempt.now // CODE_TTL)}"
        sent = await store.record_failure(f"oob:{user.id}"[:64], window, now=attempt.now)
        if sent > SENDS_PER_WINDOW:
            raise FactorRejected(GENERIC_FAILURE, locked=True, user_id=user.id)
        to = factor.data.get("to")
        if not isinstance(to, str) or not to:
            # no address: it did not open at rest (sealed for another row); send nothing
            raise FactorRejected(GENERIC_FAILURE)
        challenge = await send_code(
            store,
            attempt.state.sender,
            user_id=user.id,
            channel="sms",
            to=to,
            factor_id=factor.id,
            issuer=attempt.state.config.issuer,
            now=attempt.now,
        )
        await store.put(
            PENDING_KIND,
            pending_key,
            {"challenge_id": challenge.challenge_id},
            expires_at=challenge.expires_at,
            user_id=user.id,
        )


plugin = OobFactor()
