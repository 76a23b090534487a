"""Last step: issue the authorization code and send it to the client.

The code is 256 bits from ``secrets``; the store keeps only its SHA-256 (a leaked
database never yields usable codes). The code's record
(:class:`~stepauth.provider.records.AuthorizationCode`) is the contract with the token
endpoint (see :mod:`stepauth.provider.state`).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from stepauth.assurance import Assessment
from stepauth.provider.authorize.bound_prompt import remember_approval
from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.authorize.response_mode import authorization_response
from stepauth.provider.compare import sha256hex
from stepauth.provider.profiles.fapi2 import code_lifetime
from stepauth.provider.records import AuthorizationCode
from stepauth.provider.sessions import sid_for
from stepauth.provider.state import ProviderState

if TYPE_CHECKING:
    from stepauth.store import Session

__all__ = ["code_payload", "issue_code"]


def code_payload(
    ctx: AuthorizationContext,
    assessment: Assessment,
    *,
    sub: str,
    sid: str,
    grant_id: str,
    txn: str | None = None,
) -> AuthorizationCode:
    """The code's record; ``txn`` names the stored approval of ``authorization_details``
    (a ``txn_record``) and becomes the tokens' ``txn`` claim."""
    return AuthorizationCode(
        client_id=ctx.client_id,
        redirect_uri=ctx.redirect_uri,
        code_challenge=ctx.code_challenge,
        code_challenge_method="S256",
        scope=ctx.scope,
        nonce=ctx.nonce,
        sub=sub,
        sid=sid,
        acr=assessment.acr,
        amr=list(assessment.amr),
        auth_time=int(assessment.auth_time) if assessment.auth_time is not None else None,
        claims=ctx.claims,
        authorization_details=ctx.authorization_details,
        max_age_requested=ctx.max_age is not None,
        acr_requested=ctx.acr_requested,
        grant_id=grant_id,
        resource=ctx.resource,
        txn=txn if txn is not None and ctx.authorization_details else None,
        dpop_jkt=ctx.dpop_jkt,
    )


async def issue_code(
    provider: ProviderState,
    ctx: AuthorizationContext,
    assessment: Assessment,
    session: Session,
    *,
    request: Any,
    txn: str | None = None,
) -> Response:
    """Store a fresh code for this grant of ``session``'s user and answer the client with it.

    The code, and every token issued from it, is tagged with the session's ``sid``
    (``Session.sid``; sessions from before it existed fall back to a digest of their id),
    so ending the session revokes them all.
    """
    assert ctx.redirect_uri is not None
    now = provider.clock()
    code = secrets.token_urlsafe(32)
    grant_id = secrets.token_urlsafe(16)
    sub = session.user_id
    sid = session.sid or sid_for(session.id)
    record = code_payload(ctx, assessment, sub=sub, sid=sid, grant_id=grant_id, txn=txn)
    await provider.store.put(
        AuthorizationCode.KIND,
        sha256hex(code),
        record.to_payload(),
        expires_at=now + code_lifetime(provider.config, ctx.client),
        grant_id=grant_id,
        user_id=sub,
        sid=sid,
    )
    if txn is not None and ctx.authorization_details:
        # an identical request within the window reuses this approval
        await remember_approval(provider, ctx, sub=sub, sid=sid, txn=txn, code_key=sha256hex(code))
    params = {"code": code}
    if ctx.state is not None:
        params["state"] = ctx.state
    return authorization_response(
        request,
        ctx.redirect_uri,
        params,
        response_mode=ctx.response_mode,
        issuer=provider.config.issuer,
    )
