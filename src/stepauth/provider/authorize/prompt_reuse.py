"""Step 14 for a bound request: reuse the one prompt of an identical request.

Identical bound requests don't stack prompts. A bound request of a signed-in user that the
session cannot answer is keyed by :func:`~stepauth.provider.authorize.bound_prompt.transaction_key`
— SHA-256 of the canonical JSON (RFC 8785) of client, user and details — in a
``bound_prompt`` item (:mod:`stepauth.provider.authorize.bound_prompt`) that lives
``REUSE_WINDOW`` seconds and belongs to one session (its ``sid``):

- while the first interaction is pending, an identical request (a double-clicked
  "Transfer", a browser retry) is handed that same interaction — with the parameters of
  the newest request and the interaction's own browser cookie (kept in the item for the
  window only, sealed with AES-GCM under the Provider's secret and bound to the key, so
  reading the database does not open the prompt) — so there is one prompt, one approval;
- once approved, an identical request is answered with a new code that carries the SAME
  ``txn``, without a prompt, only if the code of the approval has not been redeemed:
  that code is consumed first (one atomic statement), so exactly one code ever carries
  the approval to the client and the SDK's atomic ledger executes the ``txn`` once. If the
  first code was redeemed, the request is a new transaction and is asked again.

Every other check still runs on the identical request (``acr_values``, ``max_age``,
``prompt=login`` need the session's own events), and a request from another session or
after the window is always asked afresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from stepauth.provider.authorize.bound_prompt import PROMPT_KIND, REUSE_WINDOW, transaction_key
from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.authorize.interaction_start import (
    INTERACTION_COOKIE,
    INTERACTION_TTL,
    interaction_redirect,
    start_interaction,
)
from stepauth.provider.authorize.issue_code import issue_code
from stepauth.provider.authorize.login_decision import decide_login
from stepauth.provider.compare import constant_time_equal, sha256hex
from stepauth.provider.login_policy import LoginDecision
from stepauth.provider.records import Interaction
from stepauth.provider.sessions import sid_for
from stepauth.store import Session, User

__all__ = ["bound_interaction"]


def _sid(session: Session) -> str:
    return session.sid or sid_for(session.id)


async def _answer_again(
    ctx: AuthorizationContext, request: Request, loaded: tuple[Session, User], txn: str, code: str
) -> Response | None:
    """The unredeemed approval answers this identical request; its old code is spent."""
    provider = ctx.provider
    decision = await decide_login(ctx, loaded, before=None, approved=True)
    if not decision.satisfied or decision.assessment is None:
        return None
    superseded = await provider.store.consume("code", code, now=provider.clock())
    if not superseded.ok:
        return None  # redeemed (or expired): the approval has been delivered once already
    return await issue_code(
        provider,
        ctx,
        decision.assessment,
        loaded[0],
        request=request,
        txn=txn,
    )


def _browser_token(response: Response) -> str | None:
    """The interaction cookie value that ``response`` sets."""
    for name, value in response.raw_headers:
        if name.lower() == b"set-cookie":
            cookie = value.decode("latin-1")
            if cookie.startswith(f"{INTERACTION_COOKIE}="):
                return cookie.split(";", 1)[0].split("=", 1)[1]
    return None


async def _rebind(
    ctx: AuthorizationContext,
    request: Request,
    uid: str,
    interaction: Interaction,
    browser: str,
) -> Response | None:
    """Hand the pending interaction ``uid`` to this request (its state, nonce, PKCE).

    The browser gets the interaction's own cookie again, so whichever of two racing
    responses it keeps, the one prompt opens.
    """
    if not constant_time_equal(interaction.browser, sha256hex(browser)):
        return None
    provider = ctx.provider
    interaction = interaction.with_request(ctx.request_json())
    expires_at = interaction.created_at + INTERACTION_TTL
    await provider.store.put(Interaction.KIND, uid, interaction.to_payload(), expires_at=expires_at)
    max_age = max(1, int(expires_at - provider.clock()))
    return interaction_redirect(provider, request, uid, browser, max_age=max_age)


async def _reuse(
    ctx: AuthorizationContext,
    request: Request,
    loaded: tuple[Session, User],
    record: Mapping[str, Any],
    *,
    key: str,
    now: float,
) -> Response | None:
    if record.get("sid") != _sid(loaded[0]):
        return None  # another session's prompt is never handed over
    txn, code = record.get("txn"), record.get("code")
    if isinstance(txn, str) and isinstance(code, str):
        return await _answer_again(ctx, request, loaded, txn, code)
    uid, sealed = record.get("interaction"), record.get("browser")
    if not isinstance(uid, str) or not isinstance(sealed, str):
        return None
    browser = ctx.provider.keys.unseal(sealed, context=f"{PROMPT_KIND}|{key}")
    if browser is not None:
        item = await ctx.provider.store.get(Interaction.KIND, uid, now=now)
        if item is not None:
            interaction = Interaction.from_payload(item.payload)
            return await _rebind(ctx, request, uid, interaction, browser)
    return None


async def bound_interaction(
    ctx: AuthorizationContext,
    request: Request,
    loaded: tuple[Session, User],
    decision: LoginDecision,
) -> Response:
    """A signed-in user's bound request that the session does not answer: reuse the one
    prompt of an identical request within :data:`REUSE_WINDOW`, or open it."""
    provider, store = ctx.provider, ctx.provider.store
    session, user = loaded
    if not ctx.authorization_details or {"no_session", "id_token_hint_mismatch"} & set(
        decision.reasons
    ):
        return await start_interaction(ctx, request, session)
    key = transaction_key(ctx.client_id, user.id, ctx.authorization_details)
    now = provider.clock()
    existing = await store.get(PROMPT_KIND, key, now=now)
    if existing is not None:
        reused = await _reuse(ctx, request, loaded, existing.payload, key=key, now=now)
        if reused is not None:
            return reused
    response = await start_interaction(ctx, request, session)
    uid = response.headers["location"].rstrip("/").rsplit("/", 1)[-1]
    browser = _browser_token(response)
    if browser is None:
        return response
    sealed = provider.keys.seal(browser, context=f"{PROMPT_KIND}|{key}")
    record = {"sid": _sid(session), "interaction": uid, "browser": sealed}
    expires_at = now + REUSE_WINDOW
    if await store.add(PROMPT_KIND, key, expires_at=expires_at, now=now, data=record):
        return response
    # Another identical request got there first (one atomic insert decides): one prompt.
    raced = await store.get(PROMPT_KIND, key, now=now)
    if raced is not None and raced.payload.get("interaction") not in (None, uid):
        reused = await _reuse(ctx, request, loaded, raced.payload, key=key, now=now)
        if reused is not None:
            await store.delete(Interaction.KIND, uid)
            return reused
    await store.put(PROMPT_KIND, key, record, expires_at=expires_at)
    return response
