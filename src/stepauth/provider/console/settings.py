"""``/admin/clients`` (read-only) and ``/admin/keys`` (list, rotate).

* Clients: each configured client's settings with what each one means; never its
  ``client_secret`` (only whether it has one) nor its private keys (only the ``kid``
  values of its registered JWKS).
* Keys: the signing keys with their state (``next`` published in advance, ``active``
  signing, ``retired`` still published for tokens in flight) and times; never the
  private part. **Rotate** is a change (:func:`stepauth.provider.keys.KeyRing.rotate`):
  CSRF, an admin session and a fresh ``phr``/``phrh`` step-up, then an audit event with
  the active ``kid`` values before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stepauth.provider.config import ClientConfig
from stepauth.provider.console.access import (
    Admin,
    admin_of,
    audit_change,
    form_of,
    fresh_step_up,
    reauth_url,
)
from stepauth.provider.console.render import render_console, timestamp

__all__ = ["SETTINGS", "clients_page", "keys_page", "rotate_keys"]


def _kids(client: ClientConfig) -> str:
    return ", ".join(str(k.get("kid", "?")) for k in (client.jwks or {}).get("keys", []))


def _yes(value: bool) -> str:
    return "yes" if value else "no"


#: The settings the page explains: (name, what it means, its value for a client).
SETTINGS: tuple[tuple[str, str, Callable[[ClientConfig], str]], ...] = (
    (
        "client type",
        "public clients hold no secret and must use PKCE (RFC 9700 §2.1.1)",
        lambda c: "public" if c.public else "confidential",
    ),
    (
        "token_endpoint_auth_method",
        "how the client proves itself at the token endpoint (RFC 7591 §2)",
        lambda c: c.token_endpoint_auth_method,
    ),
    (
        "client secret",
        "a shared secret for client_secret_basic/post; never shown here",
        lambda c: "set (not shown)" if c.client_secret else "none",
    ),
    (
        "jwks",
        "the client's public keys (kid) for private_key_jwt and signed requests",
        lambda c: _kids(c) or "none",
    ),
    (
        "redirect_uris",
        "where codes may be sent; exact match only (RFC 9700 §4.1.3)",
        lambda c: ", ".join(c.redirect_uris) or "none",
    ),
    (
        "acr_values",
        "'required': every id_token names the acr the session met",
        lambda c: c.acr_values,
    ),
    (
        "profile",
        "'fapi2': held to the FAPI 2.0 Security Profile (PAR, PKCE, DPoP, private_key_jwt)",
        lambda c: c.profile or "none",
    ),
    (
        "DPoP-bound tokens",
        "access tokens are bound to the client's DPoP key (RFC 9449 §5)",
        lambda c: _yes(c.requires_dpop),
    ),
    (
        "rotates refresh tokens",
        "each refresh replaces the refresh token (RFC 9700 §4.14.2)",
        lambda c: _yes(c.rotates_refresh_tokens),
    ),
    (
        "PAR for authorization_details",
        "transaction details must be pushed first (RFC 9126, RFC 9396)",
        lambda c: _yes(c.require_par_for_authorization_details),
    ),
    (
        "resources",
        "the APIs (RFC 8707 resource indicators) the client may ask tokens for",
        lambda c: ", ".join(c.resources) or "any",
    ),
)


def _explained(client: ClientConfig) -> list[tuple[str, str, str]]:
    """(setting, value, what it means) rows of one client."""
    return [(name, value(client), meaning) for name, meaning, value in SETTINGS]


async def clients_page(request: Request) -> Response:
    admin = await admin_of(request)
    if not isinstance(admin, Admin):
        return admin
    clients: list[dict[str, Any]] = [
        {"id": c.client_id, "name": c.client_name or c.client_id, "rows": _explained(c)}
        for c in admin.state.config.clients
    ]
    return render_console(admin, "clients.html", clients=clients)


async def _keys(admin: Admin) -> list[dict[str, Any]]:
    return [
        {
            "kid": k.kid,
            "alg": k.alg,
            "state": k.state,
            "created": timestamp(k.created_at),
            "activated": timestamp(k.activated_at) if k.activated_at else "–",
            "retired": timestamp(k.retired_at) if k.retired_at else "–",
        }
        for k in sorted(
            await admin.state.store.list_keys(), key=lambda k: (k.alg, k.created_at, k.kid)
        )
    ]


async def keys_page(request: Request) -> Response:
    admin = await admin_of(request)
    if not isinstance(admin, Admin):
        return admin
    done = request.query_params.get("done") == "rotated"
    return render_console(
        admin,
        "keys.html",
        keys=await _keys(admin),
        fresh=fresh_step_up(admin.state, admin.session) is not None,
        done=done,
    )


async def rotate_keys(request: Request) -> Response:
    await form_of(request)
    admin = await admin_of(request)
    if not isinstance(admin, Admin):
        return admin
    stepup = fresh_step_up(admin.state, admin.session)
    if stepup is None or stepup.acr is None or stepup.auth_time is None:
        return RedirectResponse(reauth_url("/admin/keys", reason="rotate_keys"), status_code=303)

    def active() -> str:
        return ", ".join(sorted(r.kid for r in admin.state.keys.records if r.state == "active"))

    await admin.state.keys.refresh()
    before = active()
    await admin.state.keys.rotate()
    await audit_change(request, admin, stepup, None, "rotate_keys", before, active())
    return RedirectResponse("/admin/keys?done=rotated", status_code=303)
