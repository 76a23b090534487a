"""The JSON form of a ``PublicKeyCredential`` (WebAuthn L3 §5.1.8 ``toJSON()``).

Binary members travel as unpadded base64url. The credential is read through
:mod:`stepauth.provider.jsonlimits` (bounded size and nesting, RFC 8259 §9); every
malformed member is an :class:`~.errors.InvalidResponse`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stepauth.encoding import b64url_decode
from stepauth.encoding import b64url_encode as b64url
from stepauth.provider import jsonlimits
from stepauth.provider.factors.webauthn.errors import InvalidResponse

__all__ = [
    "as_mapping",
    "b64url",
    "credential_id_of",
    "field_bytes",
    "member",
    "optional_bytes",
    "unb64url",
]


def unb64url(text: str) -> bytes:
    """Unpadded base64url (as WebAuthn JSON uses), strictly decoded."""
    try:
        return b64url_decode(text)
    except (ValueError, TypeError) as exc:
        raise InvalidResponse("value is not base64url") from exc


def as_mapping(credential: Mapping[str, Any] | str) -> Mapping[str, Any]:
    """The credential as an object, parsed within the JSON limits if it is text."""
    if isinstance(credential, str):
        try:
            credential = jsonlimits.loads(credential)
        except ValueError as exc:
            raise InvalidResponse("credential is not JSON") from exc
    if not isinstance(credential, Mapping):
        raise InvalidResponse("credential is not an object")
    return credential


def credential_id_of(credential: Mapping[str, Any] | str) -> bytes:
    """The credential's ``rawId`` (checked against ``id``) — the key to look it up by."""
    cred = as_mapping(credential)
    if cred.get("type") != "public-key":
        raise InvalidResponse("credential type is not public-key")
    raw_id, id_ = cred.get("rawId"), cred.get("id")
    if not isinstance(raw_id, str) or not isinstance(id_, str):
        raise InvalidResponse("credential id/rawId missing")
    raw = unb64url(raw_id)
    if raw != unb64url(id_) or not raw:
        raise InvalidResponse("credential id and rawId differ")
    return raw


def member(value: Any, name: str) -> Mapping[str, Any]:
    """A member that must be an object (``response``)."""
    if not isinstance(value, Mapping):
        raise InvalidResponse(f"{name} is missing")
    return value


def field_bytes(response: Mapping[str, Any], name: str) -> bytes:
    """A required base64url member of ``response``."""
    value = response.get(name)
    if not isinstance(value, str):
        raise InvalidResponse(f"{name} is missing")
    return unb64url(value)


def optional_bytes(response: Mapping[str, Any], name: str) -> bytes | None:
    """An optional base64url member of ``response``; absent, ``null`` or empty is ``None``."""
    value = response.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidResponse(f"{name} is not base64url")
    return unb64url(value)
