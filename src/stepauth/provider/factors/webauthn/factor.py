"""The WebAuthn factor plug-in: passkeys and security keys in the interaction pages."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from stepauth.assurance import AuthEvent, Category, InvalidEvent
from stepauth.provider.factors.base import (
    Attempt,
    Capability,
    FactorRejected,
    FormField,
    FormView,
    Verified,
)
from stepauth.provider.factors.webauthn.assertion import record_update, verify_authentication
from stepauth.provider.factors.webauthn.ceremony import (
    CHALLENGE_KIND,
    TXN_RECORD_KIND,
    trust_for,
    txn_record,
)
from stepauth.provider.factors.webauthn.encoding import (
    as_mapping,
    b64url,
    credential_id_of,
    unb64url,
)
from stepauth.provider.factors.webauthn.errors import SignCountRegression, WebAuthnError
from stepauth.provider.factors.webauthn.records import StoredCredential
from stepauth.provider.i18n import N_
from stepauth.provider.records import WebAuthnChallenge
from stepauth.provider.throttle import GENERIC_FAILURE, guarded
from stepauth.rar import canonical_json

if TYPE_CHECKING:
    from stepauth.store import Factor, User

__all__ = ["WebAuthnFactor", "plugin"]


def _uv_authorized(attempt: Attempt, factor: Factor) -> bool:
    """Does the session being stepped up already hold a factor equivalent to user
    verification (knowledge or inherence) from another authenticator? Only then may a
    credential's ``uvInitialized`` go from false to true (§7.2 step 24)."""
    for data in attempt.session_events:
        try:
            event = AuthEvent.from_json(data)
        except InvalidEvent:
            continue
        if event.credential_id != factor.credential_id and event.categories & {
            Category.KNOWLEDGE,
            Category.INHERENCE,
        }:
            return True
    return False


class WebAuthnFactor:
    """Passkeys and security keys (WebAuthn L3 §7.2): phishing-resistant, multi-factor
    with UV; one click on **Use passkey**.

    The form carries no typed input: ``webauthn.js`` fetches the options from
    ``POST /interaction/{uid}/webauthn`` (csrf in the JSON body), calls
    ``navigator.credentials.get`` and posts the credential JSON in the hidden field
    ``credential``. Verification consumes the interaction's challenge first (one atomic
    statement: a replayed assertion finds it gone), finds the credential record by its
    ID, and refuses a credential of anyone but the known user (§7.2 step 6) with the
    generic message. Nothing about the record changes before the signature verified
    (§7.2 step 21): then a signCount that does not advance (store ``advance_counter``,
    §7.2 step 22) or a changed BE flag (§7.2 step 18) disables the credential (possible
    clone), and a success stores the counter, BS and ``uvInitialized`` (§7.2 step 24,
    :func:`~.assertion.record_update`).
    """

    kind: ClassVar[str] = "webauthn"
    title: ClassVar[str] = N_("Passkey")
    button: ClassVar[str] = N_("Use passkey")
    capability: ClassVar[Capability] = Capability(
        categories=frozenset({Category.POSSESSION, Category.KNOWLEDGE}),
        phishing_resistant=True,
        multi_factor=True,
    )
    identifies: ClassVar[bool] = True
    binds: ClassVar[bool] = True
    scripts: ClassVar[tuple[str, ...]] = ("/static/webauthn.js",)

    def is_enrolled(self, user: User, factors: Sequence[Factor]) -> bool:
        return any(f.kind == self.kind and not f.disabled and f.credential_id for f in factors)

    def capability_for(self, factors: Sequence[Factor]) -> Capability:
        """Hardware-bound only if one enabled key was registered with a trusted
        attestation and BE=0 (the trust store is checked again at use, FIDO MDS3 §3.1.4)."""
        bound = any(
            f.kind == self.kind
            and not f.disabled
            and bool(f.data.get("attestation_trusted"))
            and not bool(f.data.get("backup_eligible"))
            for f in factors
        )
        return replace(self.capability, hardware_bound=bound) if bound else self.capability

    def fields(self, view: FormView) -> Sequence[FormField]:
        return (FormField("credential", N_("Passkey response"), type="hidden", required=False),)

    async def verify(self, attempt: Attempt) -> Verified:
        """Under the lockout of the session's user, or for a first-factor passkey of the
        credential's owner: an unknown credential has no owner to count against (the
        page counts it against the address), a bad assertion of a known credential
        counts against its owner and a blocked owner is refused even when right."""
        owner = attempt.user if attempt.user is not None else await self._owner(attempt)
        try:
            if owner is None:
                raise FactorRejected(GENERIC_FAILURE)
            return await guarded(attempt, self.kind, lambda: self._check(attempt), user=owner)
        except FactorRejected:
            # A refused attempt (blocked, unknown credential) never leaves its challenge
            # usable (single use, §13.5.3); consuming twice is harmless.
            store = attempt.state.store
            await store.consume(CHALLENGE_KIND, attempt.interaction_id, now=attempt.now)
            raise

    async def _owner(self, attempt: Attempt) -> User | None:
        """The enabled owner of the submitted credential ID, if it is one of ours."""
        try:
            raw_id = credential_id_of(as_mapping(attempt.form.get("credential", "")))
        except WebAuthnError:
            return None
        store = attempt.state.store
        factor = await store.get_factor_by_credential_id(b64url(raw_id))
        if factor is None or factor.kind != self.kind:
            return None
        owner = await store.get_user(factor.user_id)
        return owner if owner is not None and not owner.disabled else None

    async def _check(self, attempt: Attempt) -> Verified | None:
        """``None`` for any failure: the page shows one generic message (RTS Art. 4(3)(a))."""
        state, store, user = attempt.state, attempt.state.store, attempt.user
        consumed = await store.consume(CHALLENGE_KIND, attempt.interaction_id, now=attempt.now)
        ceremony = WebAuthnChallenge.from_payload(consumed.payload) if consumed.ok else None
        if (
            ceremony is None
            or ceremony.purpose != "authenticate"
            or ceremony.interaction != attempt.interaction_id
            or ceremony.user_id != (user.id if user is not None else None)
        ):
            return None
        details = attempt.authorization_details or None
        approved = ceremony.authorization_details or None
        if (details is None) != (approved is None) or (
            details is not None
            and canonical_json([dict(d) for d in details]) != canonical_json(approved)
        ):
            return None  # the details changed since the challenge was made
        try:
            credential = as_mapping(attempt.form.get("credential", ""))
            raw_id = credential_id_of(credential)
        except WebAuthnError:
            return None
        factor = await store.get_factor_by_credential_id(b64url(raw_id))
        if factor is None or factor.kind != self.kind or factor.disabled:
            return None
        if user is not None and factor.user_id != user.id:
            return None  # another user's credential never steps up this session (§7.2 step 6)
        trust = trust_for(state)
        try:
            stored = StoredCredential.from_data(factor.data)
            if trust is None:
                # No trust anchors configured: nothing is hardware-bound (at most phr).
                stored = replace(stored, attestation_trusted=False)
            allow = [unb64url(c) for c in ceremony.allow]
            event = verify_authentication(
                credential=credential,
                expected_challenge=unb64url(ceremony.challenge),
                expected_rp_id=state.config.webauthn.rp_id,
                expected_origins=tuple(state.config.webauthn.origins),
                stored=stored,
                require_user_verification=True,
                expected_user_handle=stored.user_handle if user is not None else None,
                allowed_credential_ids=allow if user is not None else None,
                trust=trust,
                now=attempt.now,
            )
        except WebAuthnError as exc:
            if exc.flag_credential:
                await self._flag(attempt, factor, exc.error)
            return None
        # From here the assertion is verified (§7.2 step 21): only now may the record change.
        owner = user if user is not None else await store.get_user(factor.user_id)
        if owner is None or owner.disabled:
            return None
        # §7.2 step 22 again, atomically in the store: a concurrent assertion with the
        # same counter loses.
        sign_count = int(event.attrs.get("sign_count", 0))
        if sign_count and not await store.advance_counter(factor.id, "sign_count", sign_count):
            await self._flag(attempt, factor, SignCountRegression.error)
            return None
        await self._update_record(attempt, factor, stored, event)
        txn: str | None = None
        nonce = ceremony.nonce
        if details is not None and isinstance(nonce, str):
            txn = secrets.token_urlsafe(16)
            record = txn_record(
                txn=txn,
                user_id=owner.id,
                client_id=attempt.client_id,
                authorization_details=details,
                nonce=unb64url(nonce),
                rp_id=state.config.webauthn.rp_id,
                credential=credential,
                stored=stored,
                verified_at=attempt.now,
            )
            payload = record.to_payload()
            await store.put(TXN_RECORD_KIND, txn, payload, expires_at=None, user_id=owner.id)
        return Verified(user=owner, event=event, factor_id=factor.id, txn=txn)

    async def _update_record(
        self, attempt: Attempt, factor: Factor, stored: StoredCredential, event: AuthEvent
    ) -> None:
        """Store BS and ``uvInitialized`` of a verified assertion (§7.2 step 24); the
        record is read again so that only these two fields are written."""
        changes = record_update(stored, event, uv_authorized=_uv_authorized(attempt, factor))
        if not changes:
            return
        store = attempt.state.store
        current = await store.get_factor(factor.id)
        if current is not None:
            await store.update_factor(factor.id, data={**current.data, **changes})

    async def _flag(self, attempt: Attempt, factor: Factor, reason: str) -> None:
        """Disable a credential that may be cloned (§7.2 steps 18 and 22) and record why."""
        await attempt.state.store.update_factor(factor.id, disabled=True)
        await attempt.state.store.append_audit(
            {
                "event": "credential_flagged",
                "user_id": factor.user_id,
                "factor_id": factor.id,
                "factor": self.kind,
                "reason": reason,
            },
            now=attempt.now,
        )


plugin = WebAuthnFactor()
