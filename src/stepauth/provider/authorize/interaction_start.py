"""Step 14, when the session does not answer: hand the request over to an interaction.

The interaction (``/interaction/{uid}``) is stored for :data:`INTERACTION_TTL` seconds with
the request, the session's events at the start and the SHA-256 of a browser token. The
token travels only in the :data:`INTERACTION_COOKIE` cookie, scoped to the interaction's
path, so the interaction is bound to the browser that started it.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.compare import sha256hex
from stepauth.provider.records import Interaction
from stepauth.provider.state import ProviderState
from stepauth.store import Session

__all__ = [
    "INTERACTION_COOKIE",
    "INTERACTION_TTL",
    "interaction_redirect",
    "start_interaction",
]

INTERACTION_TTL = 600
INTERACTION_COOKIE = "stepauth_interaction"


def interaction_redirect(
    provider: ProviderState, request: Request, uid: str, browser: str, *, max_age: int
) -> Response:
    """A 303 to interaction ``uid`` that gives this browser its token ``browser``.

    Binds the interaction to this browser: a login form posted from another site
    (login CSRF) lacks this SameSite cookie, and a leaked interaction URL is useless.
    """
    response = RedirectResponse(str(request.url_for("interaction", uid=uid)), status_code=303)
    response.set_cookie(
        INTERACTION_COOKIE,
        browser,
        max_age=max_age,
        path=f"/interaction/{uid}",
        httponly=True,
        secure=provider.config.issuer.startswith("https://"),
        samesite="lax",
    )
    return response


async def start_interaction(
    ctx: AuthorizationContext, request: Request, session: Session | None
) -> Response:
    provider = ctx.provider
    now = provider.clock()
    uid = secrets.token_urlsafe(24)
    browser = secrets.token_urlsafe(32)
    interaction = Interaction(
        request=ctx.request_json(),
        created_at=now,
        # the session's events now: prompt=login and bound requests need events beyond these
        before=list(session.events) if session is not None else [],
        csrf=secrets.token_urlsafe(32),
        browser=sha256hex(browser),
    )
    await provider.store.put(
        Interaction.KIND, uid, interaction.to_payload(), expires_at=now + INTERACTION_TTL
    )
    return interaction_redirect(provider, request, uid, browser, max_age=INTERACTION_TTL)
