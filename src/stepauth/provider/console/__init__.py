"""The operator console ``/admin`` (docs/console.md).

Admins — users with the ``admin`` role (``stepauth users grant-admin NAME``) — see users,
their factors and sessions, the friction report, the audit log, clients, signing keys
and a policy simulator; every change (lock, unlock, sign-out, ending a factor's hold,
key rotation) needs a fresh passkey or security-key step-up (``phr``/``phrh``) and
is audited with the admin and that step-up (:mod:`stepauth.provider.console.access`).
:data:`routes` is mounted by :func:`stepauth.provider.app.create_app`.

* ``GET /admin`` → ``/admin/users``; ``GET /admin/users``, ``/admin/users/{id}`` and the
  changes of :mod:`stepauth.provider.console.users`;
* ``GET /admin/friction`` (:mod:`stepauth.provider.console.friction`);
* ``GET /admin/audit`` (:mod:`stepauth.provider.console.audit_log`);
* ``GET /admin/clients``, ``GET /admin/keys``, ``POST /admin/keys/rotate``
  (:mod:`stepauth.provider.console.settings`);
* ``GET /admin/policy``: the policy simulator (:mod:`stepauth.provider.console.simulator`);
* ``GET|POST /admin/reauth``, ``POST /admin/reauth/webauthn``: sign in and step up
  (:mod:`stepauth.provider.console.stepup`);
* ``/admin/static/console.css``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from stepauth.provider.console import audit_log, friction, settings, simulator, stepup, users
from stepauth.provider.console.render import HERE

__all__ = ["routes"]


async def _home(request: Request) -> Response:
    return RedirectResponse("/admin/users", status_code=303)


routes: list[BaseRoute] = [
    Route("/admin", _home, methods=["GET"]),
    Route("/admin/users", users.users_page, methods=["GET"]),
    Route("/admin/users/{user_id}", users.user_page, methods=["GET"]),
    Route("/admin/users/{user_id}/lock", users.lock, methods=["POST"]),
    Route("/admin/users/{user_id}/unlock", users.unlock, methods=["POST"]),
    Route("/admin/users/{user_id}/sessions/end", users.end_sessions, methods=["POST"]),
    Route("/admin/users/{user_id}/sessions/{sid}/end", users.end_session, methods=["POST"]),
    Route(
        "/admin/users/{user_id}/factors/{factor_id}/confirm",
        users.confirm_hold,
        methods=["POST"],
    ),
    Route("/admin/friction", friction.friction_page, methods=["GET"]),
    Route("/admin/audit", audit_log.audit_page, methods=["GET"]),
    Route("/admin/clients", settings.clients_page, methods=["GET"]),
    Route("/admin/keys", settings.keys_page, methods=["GET"]),
    Route("/admin/keys/rotate", settings.rotate_keys, methods=["POST"]),
    Route("/admin/policy", simulator.policy_page, methods=["GET"]),
    Route("/admin/reauth", stepup.reauth_page, methods=["GET"]),
    Route("/admin/reauth", stepup.reauth_submit, methods=["POST"]),
    Route("/admin/reauth/webauthn", stepup.reauth_webauthn, methods=["POST"]),
    Mount("/admin/static", app=StaticFiles(directory=HERE / "static"), name="console-static"),
]
