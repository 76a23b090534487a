"""The typed context the authorization steps fill in, one field per request parameter.

``AuthorizationContext`` carries the validated request (serialisable with
:meth:`AuthorizationContext.request_json` so an interaction can resume it) and the
runtime objects a step needs (the HTTP request, the provider state, the client).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from stepauth.provider.state import ProviderState

if TYPE_CHECKING:
    from stepauth.provider.config import ClientConfig

__all__ = ["AuthorizationContext"]

#: Fields that make up the validated request (what an interaction stores and resumes).
REQUEST_FIELDS = (
    "client_id",
    "redirect_uri",
    "response_mode",
    "state",
    "nonce",
    "scope",
    "code_challenge",
    "prompt",
    "max_age",
    "acr_values",
    "essential_acr",
    "claims",
    "authorization_details",
    "expected_sub",
    "login_hint",
    "ui_locales",
    "pushed",
    "resource",
    "dpop_jkt",
)


@dataclass
class AuthorizationContext:
    """One authorization request on its way through the steps."""

    http: Request | None
    provider: ProviderState
    params: dict[str, str] = field(default_factory=dict)
    client: ClientConfig | None = None
    # validated request
    client_id: str | None = None
    redirect_uri: str | None = None
    response_mode: str = "query"
    state: str | None = None
    nonce: str | None = None
    scope: str = ""
    code_challenge: str | None = None
    prompt: list[str] = field(default_factory=list)
    max_age: int | None = None
    acr_values: list[str] = field(default_factory=list)
    essential_acr: list[str] = field(default_factory=list)
    claims: dict[str, Any] | None = None
    authorization_details: list[dict[str, Any]] | None = None
    expected_sub: str | None = None
    login_hint: str | None = None
    ui_locales: list[str] = field(default_factory=list)
    pushed: bool = False
    resource: str | None = None
    dpop_jkt: str | None = None

    @property
    def redirect_verified(self) -> bool:
        """Set by the redirect_uri step only after an exact match with the client's list."""
        return self.redirect_uri is not None

    @property
    def prompt_login(self) -> bool:
        """``prompt=login``, or ``max_age=0`` which is equivalent (OIDC Core §3.1.2.1)."""
        return "login" in self.prompt or self.max_age == 0

    @property
    def acr_requested(self) -> bool:
        return bool(self.acr_values or self.essential_acr)

    def request_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in REQUEST_FIELDS}

    @classmethod
    def from_request_json(
        cls, data: dict[str, Any], *, http: Request | None, provider: ProviderState
    ) -> AuthorizationContext:
        ctx = cls(http=http, provider=provider)
        for name in REQUEST_FIELDS:
            if name in data:
                setattr(ctx, name, data[name])
        ctx.client = find_client(provider, ctx.client_id)
        return ctx


def find_client(provider: ProviderState, client_id: str | None) -> ClientConfig | None:
    if not client_id:
        return None
    return provider.config.client(client_id)
