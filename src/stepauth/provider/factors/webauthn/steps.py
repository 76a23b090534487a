"""The verification steps registration (WebAuthn L3 §7.1) and assertion (§7.2) share:
the client data ``C`` and the authenticator data.

``authenticatorData`` is parsed by py_webauthn's ``parse_authenticator_data`` (flags,
signCount, attested credential data, extensions; trailing bytes refused). The client
data is parsed here, not by py_webauthn's ``parse_client_data_json``, for three
reasons the spec gives: §7.2 step 11 compares ``C.challenge`` with the base64url
*encoding* of the challenge, and that parser decodes it leniently instead;
§7.2 step 13 reads ``C.topOrigin``, which it drops, and ``C.crossOrigin`` must be the
JSON ``true``, which it coerces; and the text is bounded (RFC 8259 §9,
:mod:`stepauth.provider.jsonlimits`) where ``json.loads`` would recurse without limit.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from webauthn.helpers import parse_authenticator_data
from webauthn.helpers.structs import AuthenticatorData

from stepauth.provider import jsonlimits
from stepauth.provider.factors.webauthn.encoding import b64url
from stepauth.provider.factors.webauthn.errors import (
    ChallengeMismatch,
    CrossOriginNotAllowed,
    InvalidBackupFlags,
    InvalidResponse,
    OriginMismatch,
    RpIdHashMismatch,
    UserNotPresent,
    UserNotVerified,
    WrongCeremonyType,
)

__all__ = ["check_authenticator_data", "check_client_data", "read_authenticator_data"]

_BOM = b"\xef\xbb\xbf"


def check_client_data(
    data: bytes,
    *,
    ceremony: str,
    expected_challenge: bytes,
    expected_origins: Sequence[str],
    expected_top_origins: Sequence[str],
) -> None:
    """§7.1 steps 5-10 / §7.2 steps 8-13: decode and parse ``C``, then check its type,
    challenge, origin and embedding, in that order."""
    # §7.1 step 5 / §7.2 step 8: UTF-8 decode, which strips a leading BOM (§5.8.1.2).
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    # §7.1 step 6 / §7.2 step 9: parse C, tolerating members we do not know.
    try:
        client_data = jsonlimits.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidResponse("clientDataJSON is not UTF-8 JSON") from exc
    if not isinstance(client_data, dict):
        raise InvalidResponse("clientDataJSON is not an object")
    # §7.1 step 7 / §7.2 step 10: the type keeps a registration from passing as an
    # assertion and the other way round.
    if client_data.get("type") != ceremony:
        raise WrongCeremonyType(f"clientData type is not {ceremony}")
    # §7.1 step 8 / §7.2 step 11: C.challenge equals the base64url encoding of the
    # server-held challenge (compared as text, in constant time).
    challenge = client_data.get("challenge")
    if not isinstance(challenge, str) or not secrets.compare_digest(
        challenge.encode(), b64url(expected_challenge).encode()
    ):
        raise ChallengeMismatch("clientData challenge is not the expected challenge")
    # §7.1 step 9 / §7.2 step 12: an exact expected origin (§13.5.9) stops phishing.
    if client_data.get("origin") not in expected_origins:
        raise OriginMismatch("clientData origin is not expected")
    # §7.1 step 10 / §7.2 step 13: a ceremony in a cross-origin iframe only where one was
    # expected, and then only under an expected top-level origin.
    cross_origin = client_data.get("crossOrigin", False)
    top_origin = client_data.get("topOrigin")
    if cross_origin is True or top_origin is not None:
        if not expected_top_origins:
            raise CrossOriginNotAllowed("ceremony ran in a cross-origin iframe")
        if top_origin is not None and top_origin not in expected_top_origins:
            raise OriginMismatch("clientData topOrigin is not expected")


def read_authenticator_data(data: bytes) -> AuthenticatorData:
    """``authenticatorData`` (§6.1) as py_webauthn parses it; malformed is refused."""
    try:
        return parse_authenticator_data(data)
    except Exception as exc:  # py_webauthn's parser lets CBOR and index errors escape
        raise InvalidResponse("authenticatorData is malformed") from exc


def check_authenticator_data(
    auth_data: AuthenticatorData, *, expected_rp_id: str, require_user_verification: bool
) -> None:
    """§7.1 steps 13-16 / §7.2 steps 14-17: rpIdHash, UP, UV, then BE/BS."""
    # §7.1 step 13 / §7.2 step 14: the credential is scoped to this RP ID.
    rp_id_hash = hashlib.sha256(expected_rp_id.encode()).digest()
    if not secrets.compare_digest(auth_data.rp_id_hash, rp_id_hash):
        raise RpIdHashMismatch("rpIdHash is not SHA-256 of the RP ID")
    # §7.1 step 14 / §7.2 step 15: the user was present.
    if not auth_data.flags.up:
        raise UserNotPresent("user presence flag not set")
    # §7.1 step 15 / §7.2 step 16: userVerification "required" (§5.8.6) fails the
    # ceremony without UV.
    if require_user_verification and not auth_data.flags.uv:
        raise UserNotVerified("user verification required but UV flag not set")
    # §7.1 step 16 / §7.2 step 17: BS=1 with BE=0 "is not allowed" (§6.1.3).
    if auth_data.flags.bs and not auth_data.flags.be:
        raise InvalidBackupFlags("BS set without BE")
