"""The token endpoint, ``POST /token`` (RFC 6749 §3.2, §4.1.3, §6; OIDC Core §3.1.3, §12).

``authorization_code``
    The code is consumed by ONE atomic store statement. A code seen a second time is an
    attack (RFC 6749 §4.1.2: "the authorization server ... SHOULD revoke (when possible) all
    tokens previously issued based on that authorization code"): the whole grant is revoked
    and the request fails with ``invalid_grant``. Then: the code belongs to the authenticated
    client, ``redirect_uri`` is identical, and the PKCE ``code_verifier`` (RFC 7636 §4.1:
    43–128 unreserved characters) hashes to the S256 ``code_challenge``.

``refresh_token``
    Rotated on every use; a refresh token presented twice revokes its grant (RFC 9700 §4.14.2).
    A ``fapi2`` client's refresh token is not rotated (unless it opts in, see
    :mod:`stepauth.provider.profiles.fapi2`): it is checked, not consumed, and handed back
    unchanged.
    The new ID Token repeats the original ``auth_time``, ``acr`` and ``amr`` with a new ``iat``
    and no ``nonce`` (OIDC Core §12.2): a refresh never upgrades assurance.

    Every refusal (another client's token, a wider ``scope``, a ``resource`` outside the
    grant) is found on the stored grant *before* the single atomic consume, so a refused
    request does not use the token up.

``authorization_details`` in a code exchange (RFC 9396 §6) narrows what the access token
carries: each requested entry must be one the user granted (compared as RFC 8785 canonical
JSON — stricter than a type-aware comparison, so it fails closed); anything else is
``invalid_authorization_details``. An approval is used once: only the access token of the
code exchange carries the details and their ``txn``; the refresh token, and every access
token refreshed from it, carry neither (a refresh asking for them is refused).

``resource`` (RFC 8707 §2.2) picks the access token's audience; see
:mod:`stepauth.provider.resource`.

Refresh tokens are issued when the granted scope contains ``offline_access`` (OIDC Core §11);
a grant without it ends with its access token. The response is never cached (``no-store``).

DPoP (RFC 9449): a ``DPoP`` header is verified (:func:`stepauth.provider.dpop.verify_proof`,
§4.3) before the client is authenticated or anything is consumed. A request with a valid
proof gets ``token_type: DPoP`` and an access token bound to the key (``cnf.jkt``, §5,
§6.1); a public client's refresh tokens are bound to it too, so a refresh with another key
or none is refused (§5); a confidential client's are not, but its refresh needs a proof
again to get a DPoP token. A client registered with ``dpop_bound_access_tokens`` or
``profile = "fapi2"`` must send a proof (§5.2). A code requested with ``dpop_jkt`` (§10)
is redeemed only with a proof by that key. With ``[dpop] require_nonce`` every response,
error or not, carries a fresh ``DPoP-Nonce`` (§8.2).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from stepauth.encoding import b64url_encode
from stepauth.provider import jsonlimits
from stepauth.provider.client_auth import AuthenticatedClient, authenticate_client, form_params
from stepauth.provider.compare import constant_time_equal, sha256hex
from stepauth.provider.dpop import (
    DPoPProof,
    endpoint_url,
    nonce_headers,
    proof_header,
    verify_proof,
)
from stepauth.provider.errors import (
    InvalidAuthorizationDetails,
    InvalidDPoPProof,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    ProviderError,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from stepauth.provider.grant_record import Grant
from stepauth.provider.grants import REVOKED_GRANT_KIND, revoke_grant
from stepauth.provider.ops.metrics import replay_detected
from stepauth.provider.records import AuthorizationCode
from stepauth.provider.resource import token_resource
from stepauth.provider.sessions import ENDED_SID_KIND, session_ended
from stepauth.provider.state import get_state
from stepauth.provider.token_minting import (
    issue_refresh_token,
    mint_access_token,
    mint_id_token,
)
from stepauth.rar import InvalidAuthorizationDetails as InvalidDetails
from stepauth.rar import canonical_json, default_registry

if TYPE_CHECKING:
    from stepauth.provider.state import ProviderState

__all__ = ["GRANT_TYPES", "routes", "token_endpoint", "verify_pkce"]

GRANT_TYPES = ("authorization_code", "refresh_token")
#: RFC 7636 §4.1: code_verifier = 43*128unreserved.
CODE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def verify_pkce(*, code_verifier: str | None, expected_challenge: str, method: str) -> None:
    """RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) == code_challenge; S256 only."""
    if method != "S256":
        raise InvalidGrant("code_challenge_method must be S256")
    if code_verifier is None:
        raise InvalidRequest("code_verifier is required (PKCE)")
    if not CODE_VERIFIER.fullmatch(code_verifier):
        raise InvalidGrant("code_verifier must be 43-128 unreserved characters")
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    computed = b64url_encode(digest)
    if not constant_time_equal(expected_challenge, computed):
        raise InvalidGrant("code_verifier does not match the code_challenge")


async def token_endpoint(request: Request) -> JSONResponse:
    state = get_state(request)
    try:
        params = await form_params(request)
        proof = await _token_proof(request, state)
        client = await authenticate_client(request, params, endpoint="/token")
        if proof is None and client.client.requires_dpop:
            raise InvalidDPoPProof("this client must send a DPoP proof (RFC 9449 §5.2)")
        grant_type = params.get("grant_type")
        if not grant_type:
            raise InvalidRequest("grant_type is required")
        if grant_type == "authorization_code":
            body = await _authorization_code(state, client, params, proof)
        elif grant_type == "refresh_token":
            body = await _refresh_token(state, client, params, proof)
        else:
            raise UnsupportedGrantType("grant_type must be authorization_code or refresh_token")
    except ProviderError as exc:
        # RFC 9449 §8.2: a fresh nonce on every response, errors included.
        exc.headers = {**nonce_headers(state), **exc.headers}
        raise
    return JSONResponse(body, headers={**NO_STORE, **nonce_headers(state)})


async def _token_proof(request: Request, state: ProviderState) -> DPoPProof | None:
    """The request's verified DPoP proof, or ``None`` without a ``DPoP`` header."""
    proof = proof_header(request)
    if proof is None:
        return None
    return await verify_proof(
        state,
        proof,
        expected_htm="POST",
        expected_htu=endpoint_url(state, "/token"),
        now=state.clock(),
    )


async def _use_once(
    state: ProviderState, kind: str, token: str, *, now: float, replayed: str, invalid: str
) -> dict[str, Any]:
    """Consume a single-use ``kind`` (stored by its SHA-256) in one atomic statement.

    A replay revokes the whole grant it belongs to before failing (RFC 6749 §4.1.2,
    RFC 9700 §4.14.2); anything but a first use is ``invalid_grant``.
    """
    consumed = await state.store.consume(kind, sha256hex(token), now=now)
    if consumed.status == "replayed":
        replay_detected(kind)
        grant_id = consumed.grant_id or (consumed.payload or {}).get("grant_id")
        if grant_id:
            await revoke_grant(state, str(grant_id))
        raise InvalidGrant(replayed)
    if consumed.status != "ok" or consumed.payload is None:
        raise InvalidGrant(invalid)
    return consumed.payload


async def _authorization_code(
    state: ProviderState,
    client: AuthenticatedClient,
    params: dict[str, str],
    proof: DPoPProof | None,
) -> dict[str, Any]:
    code = params.get("code")
    if not code:
        raise InvalidRequest("code is required")
    now = state.clock()
    # RFC 6749 §4.1.2 / §10.5: a code used twice means it leaked; end the grant.
    record = AuthorizationCode.from_payload(
        await _use_once(
            state,
            AuthorizationCode.KIND,
            code,
            now=now,
            replayed="authorization code was already used; its tokens are revoked",
            invalid="authorization code is invalid or expired",
        )
    )
    if record.client_id != client.client_id:
        raise InvalidGrant("authorization code was issued to another client")
    if params.get("redirect_uri") != record.redirect_uri:
        raise InvalidGrant("redirect_uri does not match the authorization request")
    verify_pkce(
        code_verifier=params.get("code_verifier"),
        expected_challenge=record.code_challenge or "",
        method=record.code_challenge_method,
    )
    if record.dpop_jkt is not None:
        # RFC 9449 §10: a code requested with dpop_jkt is redeemed by that key only.
        if proof is None:
            raise InvalidDPoPProof("this code is bound to a DPoP key; send a proof")
        if not constant_time_equal(proof.jkt, record.dpop_jkt):
            raise InvalidGrant("the DPoP proof key is not the one this code is bound to")
    txn = secrets.token_urlsafe(16) if record.authorization_details else None
    grant = Grant.from_code_record(record, txn=txn)
    if proof is not None and client.client.public:
        # RFC 9449 §5: a public client's refresh tokens are bound to its DPoP key.
        grant = grant.bound_to(proof.jkt)
    resource = token_resource(
        state.config, client.client, granted=grant.resource, requested=params.get("resource")
    )
    return await _issue(
        state,
        client,
        grant,
        now=now,
        nonce=record.nonce,
        resource=resource,
        jkt=proof.jkt if proof is not None else None,
        details=params.get("authorization_details"),
    )


async def _refresh_token(
    state: ProviderState,
    client: AuthenticatedClient,
    params: dict[str, str],
    proof: DPoPProof | None,
) -> dict[str, Any]:
    token = params.get("refresh_token")
    if not token:
        raise InvalidRequest("refresh_token is required")
    now = state.clock()
    # Everything that can refuse the request is checked on the stored grant first, and the
    # token is consumed only once the request is known to succeed: a refused refresh (a
    # wrong scope, another client's token, another DPoP key) leaves it usable by its owner.
    pending = await state.store.get("refresh_token", sha256hex(token), now=now)
    if pending is not None:
        _check_refresh(state, client, Grant.from_json(pending.payload), params, proof)
    rotate = client.client.rotates_refresh_tokens
    if rotate:
        # A rotated refresh token that comes back: one of two parties holds a stolen copy.
        payload = await _use_once(
            state,
            "refresh_token",
            token,
            now=now,
            replayed="refresh token was already used; the grant is revoked",
            invalid="refresh token is invalid, expired or revoked",
        )
    elif pending is None or pending.consumed_at is not None:
        raise InvalidGrant("refresh token is invalid, expired or revoked")
    else:
        payload = pending.payload
    grant = Grant.from_json(payload)
    resource = _check_refresh(state, client, grant, params, proof)
    # RFC 9396 §9.1: an approval of authorization_details is used once, by the access token
    # of the code exchange; a refreshed token never carries them (or their txn) again.
    grant = grant.without_details()
    # The ID Token below repeats grant.auth_time/acr/amr; no nonce (OIDC Core §12.2).
    return await _issue(
        state,
        client,
        grant,
        now=now,
        nonce=None,
        scope=params.get("scope"),
        resource=resource,
        jkt=proof.jkt if proof is not None else None,
        kept_refresh_token=None if rotate else token,
    )


def _check_refresh(
    state: ProviderState,
    client: AuthenticatedClient,
    grant: Grant,
    params: dict[str, str],
    proof: DPoPProof | None,
) -> str | None:
    """Every refusal of a refresh request (RFC 6749 §6); the access token's resource."""
    if grant.client_id != client.client_id:
        raise InvalidGrant("refresh token was issued to another client")
    if grant.jkt is not None:
        # RFC 9449 §5: a public client's refresh token is bound to its DPoP key.
        if proof is None:
            raise InvalidDPoPProof("this refresh token is bound to a DPoP key; send a proof")
        if not constant_time_equal(proof.jkt, grant.jkt):
            raise InvalidGrant("the DPoP proof key is not the one this refresh token is bound to")
    if "offline_access" not in grant.scopes:
        raise UnauthorizedClient("grant has no offline_access")
    requested = params.get("scope")
    if requested is not None:
        # RFC 6749 §6: the new scope must not include anything not originally granted.
        scopes = requested.split()
        if not scopes or not set(scopes) <= grant.scopes:
            raise InvalidScope("scope exceeds the original grant")
    if params.get("authorization_details") is not None:
        raise InvalidAuthorizationDetails(
            "authorization_details are approved once; a refresh cannot carry them"
        )
    return token_resource(
        state.config, client.client, granted=grant.resource, requested=params.get("resource")
    )


async def _issue(
    state: ProviderState,
    client: AuthenticatedClient,
    grant: Grant,
    *,
    now: float,
    nonce: str | None,
    resource: str | None,
    jkt: str | None = None,
    scope: str | None = None,
    details: str | None = None,
    kept_refresh_token: str | None = None,
) -> dict[str, Any]:
    """The token response; ``jkt`` binds the access token to a DPoP key (RFC 9449 §5);
    ``kept_refresh_token`` is handed back instead of a new one (no rotation)."""
    token_grant = grant.narrowed(scope) if scope is not None else grant
    if details is not None:
        token_grant = token_grant.with_details(narrow_details(grant, details))
    user = await state.store.get_user(grant.sub)
    if user is None or user.disabled:
        await revoke_grant(state, grant.grant_id)
        raise InvalidGrant("the user of this grant is no longer active")
    access = await mint_access_token(state, token_grant, now=now, audience=resource, jkt=jkt)
    body: dict[str, Any] = {
        "access_token": access.value,
        "token_type": "DPoP" if jkt is not None else "Bearer",
        "expires_in": access.expires_in,
        "scope": token_grant.scope,
    }
    if "openid" in token_grant.scopes:
        body["id_token"] = await mint_id_token(
            state, token_grant, client=client.client, now=now, nonce=nonce, user=user
        )
    if kept_refresh_token is not None:
        body["refresh_token"] = kept_refresh_token
    elif "offline_access" in grant.scopes:
        # The refresh token keeps the full original scope and resource, whatever this
        # response narrowed, but never the authorization_details: those are used once.
        body["refresh_token"] = await issue_refresh_token(state, grant.without_details(), now=now)
    # The session ended, or a replay of this grant's code or refresh token (or a
    # revocation) landed, while this request was in flight: what was just stored is revoked
    # with the grant and nothing is handed out (provider.sessions, provider.grants). Both
    # records are looked up in one store query; which one it was is read only on refusal.
    ended = [(REVOKED_GRANT_KIND, grant.grant_id)]
    if grant.sid:
        ended.append((ENDED_SID_KIND, grant.sid))
    if await state.store.any_live(ended, now=state.clock()):
        session_gone = await session_ended(state, grant.sid)
        await state.store.revoke_grant(grant.grant_id)
        if session_gone:
            raise InvalidGrant("the session of this grant has ended")
        raise InvalidGrant("the grant was revoked while this request was in flight")
    if token_grant.authorization_details:
        # RFC 9396 §7: the details as granted, assigned to this access token.
        body["authorization_details"] = [dict(d) for d in token_grant.authorization_details]
    return body


def narrow_details(grant: Grant, raw: str) -> tuple[dict[str, Any], ...]:
    """The requested subset of the granted ``authorization_details`` (RFC 9396 §6)."""
    try:
        requested = default_registry.validate(jsonlimits.loads(raw))
    except ValueError as exc:
        raise InvalidAuthorizationDetails("authorization_details is not valid JSON") from exc
    except InvalidDetails as exc:
        raise InvalidAuthorizationDetails.from_rar(exc) from exc
    granted = {canonical_json(dict(entry)) for entry in grant.authorization_details or ()}
    for index, entry in enumerate(requested):
        if canonical_json(entry) not in granted:
            raise InvalidAuthorizationDetails(
                f"authorization_details[{index}] was not granted for this grant"
            )
    return requested


routes: list[BaseRoute] = [Route("/token", token_endpoint, methods=["POST"])]
