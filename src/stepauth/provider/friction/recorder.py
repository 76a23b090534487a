"""Record the friction of each authorization request and interaction (audit events).

Called at four points, one line each: when ``/authorize`` answers (:func:`answered`: a
request the session answers is only counted, :mod:`.tally`) or
refuses with ``unmet_authentication_requirements`` (:func:`refusals`), when a factor
form of an interaction is verified or refused (:func:`factor_tried`), when an
interaction answers the request (:func:`completed`), and when it ends with
``unmet_authentication_requirements`` (:func:`ended`). Nothing about the user and no
submitted value reaches the record (:func:`stepauth.audit.friction_records.friction_record`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from stepauth.audit.friction_records import (
    COMPLETED,
    FACTOR,
    PROMPTED,
    REFUSED,
    REFUSED_UNMEETABLE,
    REQUEST,
    action_of,
    friction_record,
)
from stepauth.provider.authorize.interaction_start import INTERACTION_TTL
from stepauth.provider.authorize.login_decision import available_plugins, can_approve
from stepauth.provider.compare import sha256hex
from stepauth.provider.errors import UnmetAuthenticationRequirements
from stepauth.provider.factors.base import useful
from stepauth.provider.factors.hold import active_factors
from stepauth.provider.interaction.outcome import acr_of

if TYPE_CHECKING:
    from starlette.responses import Response

    from stepauth.provider.authorize.context import AuthorizationContext
    from stepauth.provider.interaction.outcome import Refusal
    from stepauth.provider.login_policy import LoginDecision
    from stepauth.provider.records import Interaction
    from stepauth.store import Session, User

__all__ = [
    "answered",
    "completed",
    "ended",
    "factor_result",
    "factor_tried",
    "interaction_key",
    "refusals",
]

_INTERACTION_PATH = "/interaction/"


def interaction_key(uid: str) -> str:
    """The ``ix`` of interaction ``uid`` in the records: never the id, which opens it."""
    return sha256hex(uid)[:32]


def factor_result(refusal: Refusal | None) -> str | None:
    """A ``factor`` record's ``result``: ``success`` (no ``refusal``), ``failure`` or
    ``locked``; ``None`` for a throttled address (429) or a code sent (200), which are no
    factor's failure."""
    if refusal is None:
        return "success"
    if refusal.status_code == 400:
        return "locked" if refusal.locked else "failure"
    return None


def _action(ctx: AuthorizationContext) -> str:
    return action_of(
        authorization_details=ctx.authorization_details,
        acr=ctx.essential_acr or ctx.acr_values,
    )


async def _write(ctx: AuthorizationContext, stage: str, **fields: Any) -> None:
    record = friction_record(stage, action=_action(ctx), client_id=ctx.client_id, **fields)
    await ctx.provider.store.append_audit(record, now=ctx.provider.clock())


def _started(response: Response) -> str | None:
    """The id of the interaction ``response`` sends the browser to, if it does."""
    if response.status_code not in (302, 303):
        return None
    location = response.headers.get("location", "")
    if _INTERACTION_PATH not in location:  # a code or an error for the client: no parse
        return None
    path = urlsplit(location).path
    if not path.startswith(_INTERACTION_PATH):
        return None
    return path.removeprefix(_INTERACTION_PATH).split("/", 1)[0] or None


async def _asked(
    ctx: AuthorizationContext, loaded: tuple[Session, User] | None, decision: LoginDecision
) -> list[str]:
    """The factor kinds the prompt can offer (the interaction page's choice, without
    the page's second step: after identification it narrows to what is missing)."""
    user = loaded[1] if loaded is not None else None
    if {"no_session", "id_token_hint_mismatch"} & set(decision.reasons):
        user = None
    plugins = await available_plugins(ctx, user)
    binding = user is not None and "binding_required" in decision.reasons
    if binding and await can_approve(ctx, user):  # only an approval over the details meets it
        return [p.kind for p in plugins if getattr(p, "binds", False)]
    if user is None or not decision.missing:
        return [p.kind for p in plugins]
    stored = await ctx.provider.store.list_factors(user.id)
    factors = active_factors(stored, ctx.provider.clock())
    return [p.kind for p in useful(plugins, factors, decision.missing) or plugins]


def _acr_before(ctx: AuthorizationContext, loaded: tuple[Session, User] | None) -> str | None:
    if loaded is None:
        return None
    return acr_of(ctx.provider, loaded[0].events, ctx.provider.clock())


def _requested(ctx: AuthorizationContext) -> str | None:
    return " ".join(ctx.essential_acr or ctx.acr_values) or None


async def answered(
    ctx: AuthorizationContext,
    loaded: tuple[Session, User] | None,
    decision: LoginDecision,
    response: Response,
) -> None:
    """``/authorize`` answered: from the session (a code: counted in memory, written in
    aggregate by :mod:`.tally`), or with a prompt (one record)."""
    uid = _started(response)
    if uid is None:
        state = ctx.provider
        if state.friction.count(action=_action(ctx), client_id=ctx.client_id, at=state.clock()):
            await state.friction.flush(state.store)
        return
    await _write(
        ctx,
        REQUEST,
        result=PROMPTED,
        acr_before=_acr_before(ctx, loaded),
        acr_requested=_requested(ctx),
        ix=interaction_key(uid),
        asked=await _asked(ctx, loaded, decision),
        expires_at=ctx.provider.clock() + INTERACTION_TTL,
    )


class _Refusals:
    """The context manager of :func:`refusals` (a class: no generator per request)."""

    __slots__ = ("ctx", "loaded")

    def __init__(self, ctx: AuthorizationContext, loaded: tuple[Session, User] | None) -> None:
        self.ctx = ctx
        self.loaded = loaded

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> bool:
        if kind is not None and issubclass(kind, UnmetAuthenticationRequirements):
            await _write(
                self.ctx,
                REQUEST,
                result=REFUSED_UNMEETABLE,
                acr_before=_acr_before(self.ctx, self.loaded),
                acr_requested=_requested(self.ctx),
            )
        return False  # the error goes on


def refusals(ctx: AuthorizationContext, loaded: tuple[Session, User] | None) -> _Refusals:
    """Record a request the login policy refuses as unmeetable, then let the error go on."""
    return _Refusals(ctx, loaded)


async def factor_tried(
    ctx: AuthorizationContext, uid: str, factor: str, refusal: Refusal | None
) -> None:
    """A factor form of interaction ``uid`` was verified (``refusal`` is ``None``) or
    refused (:func:`factor_result`)."""
    result = factor_result(refusal)
    if result is not None:
        await _write(ctx, FACTOR, ix=interaction_key(uid), factor=factor, result=result)


async def completed(
    ctx: AuthorizationContext, uid: str, interaction: Interaction, decision: LoginDecision
) -> None:
    """Interaction ``uid`` answered the request at ``decision``'s level."""
    acr = decision.assessment.acr if decision.assessment is not None else None
    seconds = max(0.0, ctx.provider.clock() - interaction.created_at)
    await _write(ctx, COMPLETED, ix=interaction_key(uid), acr_after=acr, seconds=seconds)


async def ended(ctx: AuthorizationContext, uid: str, exc: Exception) -> None:
    """Interaction ``uid`` ended with an error: recorded when it is unmeetable (any other
    ends as abandoned or failed once the interaction expires)."""
    if isinstance(exc, UnmetAuthenticationRequirements):
        await _write(ctx, REFUSED, ix=interaction_key(uid), result=REFUSED_UNMEETABLE)
