"""The WebAuthn L3 §16 test vectors as the verifiers take them: each vector's
PublicKeyCredential JSON (with members patched by hex), what the relying party expects, and
registering or authenticating with a vector
(tests/provider/factors/vectors/webauthn_l3_s16.json, the published hex). Registration
vectors carry no userHandle, so each stored record gets the test's own handle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stepauth.provider.factors.webauthn import b64url, verify_authentication, verify_registration

__all__ = [
    "DATA",
    "HANDLE",
    "NOW",
    "ORIGIN",
    "RP_ID",
    "TOP",
    "V",
    "auth_credential",
    "authenticate",
    "flip",
    "reg_credential",
    "register",
]

VECTORS = Path(__file__).parents[1] / "provider" / "factors" / "vectors" / "webauthn_l3_s16.json"
DATA = json.loads(VECTORS.read_text())
RP_ID, ORIGIN, TOP = DATA["rp_id"], DATA["origin"], DATA["top_origin"]
V = DATA["vectors"]
HANDLE = b"vector-user"
NOW = 1_790_000_000.0  # inside the 16.1 root's validity (2024..3024)


#: Per ceremony, each response member: (its JSON name, the vector's field, its patch name).
_MEMBERS = {
    "registration": (
        ("clientDataJSON", "client_data_json", "cdj"),
        ("attestationObject", "attestation_object", "att"),
    ),
    "authentication": (
        ("clientDataJSON", "client_data_json", "cdj"),
        ("authenticatorData", "authenticator_data", "ad"),
        ("signature", "signature", "sig"),
    ),
}


def _credential(vec: dict[str, Any], ceremony: str, patch: dict[str, str]) -> dict[str, Any]:
    """The vector's PublicKeyCredential JSON for ``ceremony``; ``patch`` replaces members
    (hex, by patch name)."""
    cid = b64url(bytes.fromhex(vec["credential_id"]))
    response = {
        name: b64url(bytes.fromhex(patch.get(short, vec[ceremony][field])))
        for name, field, short in _MEMBERS[ceremony]
    }
    return {
        "id": cid,
        "rawId": cid,
        "type": "public-key",
        "response": response,
        "clientExtensionResults": {},
    }


def reg_credential(vec: dict[str, Any], **patch: str) -> dict[str, Any]:
    return _credential(vec, "registration", patch)


def auth_credential(vec: dict[str, Any], **patch: str) -> dict[str, Any]:
    return _credential(vec, "authentication", patch)


def _expected(vec: dict[str, Any], ceremony: str) -> dict[str, Any]:
    """What the RP expects for the vector's ceremony; a test overrides any of it."""
    return {
        "expected_challenge": bytes.fromhex(vec[ceremony]["challenge"]),
        "expected_rp_id": RP_ID,
        "expected_origins": [ORIGIN],
        "now": NOW,
        "require_user_verification": False,
    }


def register(name: str, *, credential: dict[str, Any] | None = None, **kw: Any) -> Any:
    vec = V[name]
    return verify_registration(
        credential=credential or reg_credential(vec), **{**_expected(vec, "registration"), **kw}
    )


def authenticate(
    name: str, *, credential: dict[str, Any] | None = None, stored: Any = None, **kw: Any
) -> Any:
    vec = V[name]
    top = [TOP] if name in ("16.4", "16.5") else []
    if stored is None:
        stored = register(name, expected_top_origins=top).to_stored(HANDLE)
    return verify_authentication(
        credential=credential or auth_credential(vec),
        stored=stored,
        expected_user_handle=HANDLE,
        **{**_expected(vec, "authentication"), "expected_top_origins": top, **kw},
    )


def flip(hex_str: str, index: int) -> str:
    """``hex_str`` with one bit of byte ``index`` flipped."""
    raw = bytearray(bytes.fromhex(hex_str))
    raw[index] ^= 0x01
    return raw.hex()
