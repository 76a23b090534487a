"""WebAuthn (Level 3): passkeys and security keys as a factor.

One module per part of the spec; this package re-exports the public surface:

* :mod:`.options` — ceremony options (§5.4, §5.5);
* :mod:`.registration` — verifying a new credential (§7.1);
* :mod:`.assertion` — verifying an assertion (§7.2), the part the transaction audit
  (:mod:`stepauth.provider.factors.webauthn.transaction_audit`) re-runs;
* :mod:`.steps` — the client data and authenticator data steps both ceremonies share;
* :mod:`.attestation`, :mod:`.certpath`, :mod:`.mds` — attestation trust (§7.1 steps
  22-23, FIDO MDS3);
* :mod:`.ceremony` — the server-held challenge and the transaction approval record;
* :mod:`.factor` — the factor plug-in (:data:`plugin`);
* :mod:`.records`, :mod:`.encoding`, :mod:`.errors` — credential records, the JSON form
  of a credential, one error class per failed step.

Verification is pure (no HTTP, no store): the plug-in keeps the single-use challenge
and the credential records and changes a record only after its signature verified.
Cryptography (COSE keys, attestation statement formats, signatures) and the parsing of
authenticator data are py_webauthn's.
"""

from __future__ import annotations

from stepauth.provider.factors.webauthn.assertion import (
    record_update,
    verify_assertion,
    verify_authentication,
)
from stepauth.provider.factors.webauthn.ceremony import (
    CHALLENGE_KIND,
    CHALLENGE_TTL,
    TXN_RECORD_KIND,
    begin_authentication,
    trust_for,
    txn_record,
)
from stepauth.provider.factors.webauthn.encoding import b64url, credential_id_of
from stepauth.provider.factors.webauthn.errors import (
    BackupEligibilityChanged,
    ChallengeMismatch,
    CredentialIdTooLong,
    CrossOriginNotAllowed,
    DuplicateCredential,
    InvalidBackupFlags,
    InvalidResponse,
    InvalidSignature,
    OriginMismatch,
    RpIdHashMismatch,
    SignCountRegression,
    UnknownCredential,
    UserHandleMismatch,
    UserNotPresent,
    UserNotVerified,
    WebAuthnError,
    WrongCeremonyType,
)
from stepauth.provider.factors.webauthn.factor import WebAuthnFactor, plugin
from stepauth.provider.factors.webauthn.options import (
    DEFAULT_TIMEOUT_MS,
    SUPPORTED_ALGORITHMS,
    CeremonyOptions,
    authentication_options,
    registration_options,
)
from stepauth.provider.factors.webauthn.records import StoredCredential, VerifiedCredential
from stepauth.provider.factors.webauthn.registration import (
    MAX_CREDENTIAL_ID_LENGTH,
    ensure_new_credential_id,
    verify_registration,
)

__all__ = [
    "CHALLENGE_KIND",
    "CHALLENGE_TTL",
    "DEFAULT_TIMEOUT_MS",
    "MAX_CREDENTIAL_ID_LENGTH",
    "SUPPORTED_ALGORITHMS",
    "TXN_RECORD_KIND",
    "BackupEligibilityChanged",
    "CeremonyOptions",
    "ChallengeMismatch",
    "CredentialIdTooLong",
    "CrossOriginNotAllowed",
    "DuplicateCredential",
    "InvalidBackupFlags",
    "InvalidResponse",
    "InvalidSignature",
    "OriginMismatch",
    "RpIdHashMismatch",
    "SignCountRegression",
    "StoredCredential",
    "UnknownCredential",
    "UserHandleMismatch",
    "UserNotPresent",
    "UserNotVerified",
    "VerifiedCredential",
    "WebAuthnError",
    "WebAuthnFactor",
    "WrongCeremonyType",
    "authentication_options",
    "b64url",
    "begin_authentication",
    "credential_id_of",
    "ensure_new_credential_id",
    "plugin",
    "record_update",
    "registration_options",
    "trust_for",
    "txn_record",
    "verify_assertion",
    "verify_authentication",
    "verify_registration",
]
