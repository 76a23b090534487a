"""Credential records (WebAuthn L3 §7.1 step 27): the stored form and a verified
registration that becomes one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stepauth.provider.factors.webauthn.encoding import b64url, unb64url

__all__ = ["NO_AAGUID", "StoredCredential", "VerifiedCredential"]

#: The AAGUID of an authenticator that does not tell its model (§6.5.1).
NO_AAGUID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class StoredCredential:
    """The credential record of §7.1 step 27, as the provider stores it."""

    credential_id: bytes
    public_key: bytes
    sign_count: int
    user_handle: bytes
    backup_eligible: bool
    backup_state: bool = False
    attestation_trusted: bool = False
    aaguid: str = NO_AAGUID
    transports: tuple[str, ...] = ()
    uv_initialized: bool = False

    def to_data(self) -> dict[str, Any]:
        """JSON-safe form for ``Store.add_factor(..., data=...)``."""
        return {
            "credential_id": b64url(self.credential_id),
            "public_key": b64url(self.public_key),
            "sign_count": self.sign_count,
            "user_handle": b64url(self.user_handle),
            "backup_eligible": self.backup_eligible,
            "backup_state": self.backup_state,
            "attestation_trusted": self.attestation_trusted,
            "aaguid": self.aaguid,
            "transports": list(self.transports),
            "uv_initialized": self.uv_initialized,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> StoredCredential:
        return cls(
            credential_id=unb64url(str(data["credential_id"])),
            public_key=unb64url(str(data["public_key"])),
            sign_count=int(data.get("sign_count", 0)),
            user_handle=unb64url(str(data["user_handle"])),
            backup_eligible=bool(data["backup_eligible"]),
            backup_state=bool(data.get("backup_state", False)),
            attestation_trusted=bool(data.get("attestation_trusted", False)),
            aaguid=str(data.get("aaguid", NO_AAGUID)),
            transports=tuple(data.get("transports", ())),
            uv_initialized=bool(data.get("uv_initialized", False)),
        )


@dataclass(frozen=True)
class VerifiedCredential:
    """A verified registration; ``to_stored(user_handle)`` gives the record to keep."""

    credential_id: bytes
    public_key: bytes
    sign_count: int
    aaguid: str
    fmt: str
    user_verified: bool
    backup_eligible: bool
    backup_state: bool
    attestation_trusted: bool
    attestation_reason: str
    transports: tuple[str, ...] = ()
    statuses: frozenset[str] = field(default_factory=frozenset)

    def to_stored(self, user_handle: bytes) -> StoredCredential:
        return StoredCredential(
            credential_id=self.credential_id,
            public_key=self.public_key,
            sign_count=self.sign_count,
            user_handle=user_handle,
            backup_eligible=self.backup_eligible,
            backup_state=self.backup_state,
            attestation_trusted=self.attestation_trusted,
            aaguid=self.aaguid,
            transports=self.transports,
            uv_initialized=self.user_verified,
        )
