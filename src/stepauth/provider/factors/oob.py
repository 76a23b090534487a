"""Out-of-band codes (SMS, email) — restricted factors, offered only after stronger ones.

NIST SP 800-63B-4 §3.1.3 (STANDARDS.md NIST-18/19, G-09):

* at least 6 decimal digits from an approved RBG (``secrets``);
* valid for 10 minutes at most, and accepted once;
* generating a new code does **not** reset the failed-attempt count: this module never
  touches failure counters (the provider's lockout counts failures per user and
  factor type, and only a *successful* verification resets them);
* never phishing-resistant: SMS is the restricted ``sms`` method; an email code is an
  ``otp`` event with ``channel="email"`` (email is not an OOB authenticator for NIST,
  so deployments should not rely on it above ``urn:stepauth:acr:1fa``).

Single use is one atomic ``Store.consume("oob_code", key)``. The key is
SHA-256(challenge id ‖ code): a wrong code looks up nothing (so a typo does not burn
the code; the provider's lockout bounds guessing), the right one is consumed exactly
once, a second use comes back ``replayed``.

Senders are pluggable (:class:`Sender`); :class:`OutboxSender` is the development
sender: it appends one JSON line per message to a local outbox file that the operator
reads with ``stepauth outbox``.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from stepauth.assurance import AuthEvent
from stepauth.errors import FactorError

__all__ = [
    "CODE_TTL",
    "DEFAULT_OUTBOX",
    "KIND",
    "ExpiredOobCode",
    "InvalidOobCode",
    "OobChallenge",
    "OobError",
    "OutboxSender",
    "ReplayedOobCode",
    "Sender",
    "generate_code",
    "read_outbox",
    "send_code",
    "verify_code",
]

#: NIST-18: "invalid unless completed within 10 minutes".
CODE_TTL = 600
KIND = "oob_code"
CHANNELS = frozenset({"sms", "email"})
#: The development outbox (override with ``STEPAUTH_OUTBOX``).
DEFAULT_OUTBOX = "stepauth-outbox.jsonl"


class OobError(FactorError):
    error = "oob_error"


class InvalidOobCode(OobError):
    error = "invalid_code"


class ExpiredOobCode(OobError):
    error = "code_expired"


class ReplayedOobCode(OobError):
    error = "code_replayed"


class Sender(Protocol):
    """Delivers a message on a channel (``"sms"`` or ``"email"``) to an address."""

    async def send(self, *, channel: str, to: str, message: str) -> None: ...


class _Store(Protocol):
    async def put(
        self,
        kind: str,
        key: str,
        payload: Mapping[str, Any],
        *,
        expires_at: float | None,
        grant_id: str | None = None,
        user_id: str | None = None,
    ) -> None: ...

    async def consume(self, kind: str, key: str, *, now: float) -> Any: ...


@dataclass(frozen=True)
class OobChallenge:
    """What the provider keeps in the interaction: the challenge id, not the code."""

    challenge_id: str
    channel: str
    expires_at: float


class OutboxSender:
    """Development sender: one JSON line per message in a local file (mode 0600)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path or os.environ.get("STEPAUTH_OUTBOX", DEFAULT_OUTBOX))

    async def send(self, *, channel: str, to: str, message: str) -> None:
        line = json.dumps({"at": time.time(), "channel": channel, "to": to, "message": message})
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(line + "\n")


def read_outbox(path: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """The outbox messages, oldest first (malformed lines are skipped)."""
    outbox = Path(path or os.environ.get("STEPAUTH_OUTBOX", DEFAULT_OUTBOX))
    if not outbox.exists():
        return []
    messages = []
    for line in outbox.read_text(encoding="utf-8").splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            messages.append(item)
    return messages


def generate_code(digits: int = 6, *, randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """A uniformly random code of ``digits`` (≥ 6) decimal digits."""
    if digits < 6:
        raise OobError("OOB codes have at least 6 digits", error="invalid_config")
    return str(randbelow(10**digits)).zfill(digits)


async def send_code(
    store: _Store,
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
    """Create a code, store its hash for ``ttl`` seconds and send it."""
    if channel not in CHANNELS:
        raise OobError(f"unknown channel {channel!r}", error="invalid_request")
    if not 0 < ttl <= CODE_TTL:
        raise OobError("OOB codes live at most 10 minutes", error="invalid_config")
    now = time.time() if now is None else now
    challenge_id = secrets.token_urlsafe(16)
    code = generate_code(digits)
    payload = {"user_id": user_id, "factor_id": factor_id, "channel": channel}
    await store.put(KIND, _key(challenge_id, code), payload, expires_at=now + ttl, user_id=user_id)
    await sender.send(
        channel=channel,
        to=to,
        message=f"{issuer} code: {code} (valid {ttl // 60} minutes; never share it)",
    )
    return OobChallenge(challenge_id=challenge_id, channel=channel, expires_at=now + ttl)


async def verify_code(
    store: _Store,
    *,
    challenge_id: str,
    code: str,
    user_id: str,
    digits: int = 6,
    now: float | None = None,
) -> AuthEvent:
    """Consume the code atomically; raise a specific :class:`OobError` otherwise."""
    now = time.time() if now is None else now
    candidate = "".join(code.split())
    if len(candidate) != digits or not candidate.isdigit():
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
    channel = str(payload.get("channel", "sms"))
    return AuthEvent(
        methods=("sms",) if channel == "sms" else ("otp",),
        at=now,
        credential_id=payload.get("factor_id") or None,
        attrs={"factor": "oob", "channel": channel},
    )


def _key(challenge_id: str, code: str) -> str:
    return hashlib.sha256(f"{challenge_id}\x00{code}".encode()).hexdigest()
