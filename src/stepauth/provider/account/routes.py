"""``/account``: the user's factors, and the forms that change them.

Every POST needs the account ``csrf`` token (403) and a step-up at the account's binding
level at most five minutes old (303 to ``/account/reauth`` otherwise; ASVS 5.0 7.5.1,
NIST SP 800-63B-4 §6.1.2.1, :mod:`stepauth.provider.account.binding`). The recovery path
(password + recovery code) may only *add* a factor (TOTP, passkey, security key), which
goes on hold like one added by a one-factor account
(:mod:`stepauth.provider.factors.hold`). Every change is audited with the account before
and after, and notified with a "this wasn't me" link
(:mod:`stepauth.provider.account.changes`, :mod:`stepauth.provider.account.not_me`).
That guard and the signed-in browser are :mod:`stepauth.provider.account.signed_in`.

* ``GET /account`` — factors with their kind, name, creation, last use and hold
  (:mod:`stepauth.provider.account.overview`);
* ``POST /account/totp`` — a new TOTP secret: QR code (inline SVG, segno) and the
  base32 secret; kept server-side for 10 minutes until
  ``POST /account/totp/confirm`` checks a first code (whose time step is then claimed,
  so the confirming code cannot be replayed);
* ``POST /account/recovery`` — ten new recovery codes, shown once (the old set stops
  working); only their keyed hashes are stored;
* ``POST /account/factors/{id}/rename`` and ``/remove``;
* ``POST /account/password`` — a new password (typed twice; length rules of
  :func:`stepauth.provider.factors.password.password_problem`);
* ``POST /account/sessions/end-others`` — **Sign out other sessions**, offered after a
  factor was added or removed (ASVS 5.0 7.4.3): every other session of the user ends,
  this one stays (:mod:`stepauth.provider.account.overview`);
* passkeys and security keys: :mod:`stepauth.provider.account.webauthn_routes` with the
  static ``/account/static/account.js`` (no inline script, CSP ``script-src 'self'``).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from stepauth.provider.account import webauthn_routes
from stepauth.provider.account.not_me import not_me_page, not_me_submit
from stepauth.provider.account.overview import account, account_page, sign_out_others
from stepauth.provider.account.reauth import reauth_page, reauth_submit, reauth_webauthn
from stepauth.provider.account.render import HERE
from stepauth.provider.account.signed_in import AccountPage, begin_change, done, record
from stepauth.provider.errors import InvalidRequest
from stepauth.provider.factors import recovery, totp
from stepauth.provider.factors.password import hash_password, password_problem
from stepauth.provider.i18n import N_, gettext

if TYPE_CHECKING:
    from stepauth.store import Factor

__all__ = ["routes"]

TOTP_PENDING = "totp_enrolment"
TOTP_PENDING_TTL = 600


def _change_kind(factor: Factor) -> str:
    """How a change of ``factor`` is named in notices (``passkey``, ``security-key``…)."""
    return str(factor.data.get("type", factor.kind))


async def totp_start(request: Request) -> Response:
    page, _ = await begin_change(request, adds=True)
    if not isinstance(page, AccountPage):
        return page
    params = totp.TotpParams(secret=totp.generate_secret())
    pending = secrets.token_urlsafe(16)
    now = page.state.clock()
    await page.state.store.put(
        TOTP_PENDING,
        pending,
        {"user_id": page.user.id, **params.to_data()},
        expires_at=now + TOTP_PENDING_TTL,
        user_id=page.user.id,
    )
    return _totp_page(page, params, pending)


def _totp_page(
    page: AccountPage, params: totp.TotpParams, pending: str, *, error: str | None = None
) -> Response:
    uri = totp.provisioning_uri(
        params, account_name=page.user.username, issuer=page.state.config.webauthn.rp_name
    )
    return page.render(
        "totp.html",
        status_code=400 if error else 200,
        qr=totp.qr_svg(uri),
        secret=" ".join(params.secret[i : i + 4] for i in range(0, len(params.secret), 4)),
        pending=pending,
        error=error,
    )


async def totp_confirm(request: Request) -> Response:
    page, form = await begin_change(request, adds=True)
    if not isinstance(page, AccountPage):
        return page
    store = page.state.store
    now = page.state.clock()
    consumed = await store.consume(TOTP_PENDING, form.get("pending", ""), now=now)
    payload = dict(consumed.payload or {})
    if consumed.status != "ok" or payload.get("user_id") != page.user.id:
        raise InvalidRequest(N_("this setup has expired; start again"))
    params = totp.TotpParams.from_data(payload)
    claimed: list[int] = []

    async def claim(step: int) -> bool:
        claimed.append(step)
        return True

    try:
        await totp.verify_totp(code=form.get("code", ""), params=params, claim_step=claim, now=now)
    except totp.TotpError:
        pending = secrets.token_urlsafe(16)
        await store.put(
            TOTP_PENDING, pending, payload, expires_at=now + TOTP_PENDING_TTL, user_id=page.user.id
        )
        return _totp_page(
            page, params, pending, error=N_("That code is not right; try the next one.")
        )
    label = form.get("label", "").strip()[:64] or gettext("Authenticator app")
    data = {**params.to_data(), **page.hold()}
    factor = await store.add_factor(page.user.id, "totp", data, label=label, now=now)
    await store.advance_counter(factor.id, "totp_step", claimed[-1])
    await record(page, request, "add", "totp", credential=factor.id)
    return done()


async def recovery_codes(request: Request) -> Response:
    page, _ = await begin_change(request)
    if not isinstance(page, AccountPage):
        return page
    store = page.state.store
    existing = [
        f for f in await store.list_factors(page.user.id) if f.kind == recovery.RecoveryFactor.kind
    ]
    previous = [str(k) for f in existing for k in f.data.get("keys", [])]
    codes, data = await recovery.issue_codes(
        store,
        user_id=page.user.id,
        pepper=recovery.pepper_from_env(page.state.config.secrets.key_env),
        previous=previous,
    )
    now = page.state.clock()
    # Recovery codes never make the binding level (a last resort): they need a step-up at
    # it and are never on hold.
    if existing:
        await store.update_factor(existing[0].id, data=data, disabled=False)
        factor_id = existing[0].id
        for extra in existing[1:]:
            await store.remove_factor(extra.id)
    else:
        factor_id = (
            await store.add_factor(
                page.user.id, "recovery", data, label=gettext("Recovery codes"), now=now
            )
        ).id
    await record(page, request, "add", "recovery", credential=factor_id)
    return page.render("recovery.html", codes=codes)


async def change_password(request: Request) -> Response:
    page, form = await begin_change(request)
    if not isinstance(page, AccountPage):
        return page
    new = form.get("new_password", "")
    problem = password_problem(new)
    if problem is None and new != form.get("confirm_password", ""):
        problem = N_("The two passwords are not the same.")
    if problem is not None:
        return await account_page(page, error=problem)
    hashed = await anyio.to_thread.run_sync(hash_password, new)
    await page.state.store.set_password_hash(page.user.id, hashed)
    await record(page, request, "change", "password")
    return done()


async def _own_factor(page: AccountPage, factor_id: str) -> Factor:
    factor = await page.state.store.get_factor(factor_id)
    if factor is None or factor.user_id != page.user.id:
        raise InvalidRequest(N_("no such sign-in method"))
    return factor


async def rename(request: Request) -> Response:
    page, form = await begin_change(request)
    if not isinstance(page, AccountPage):
        return page
    factor = await _own_factor(page, request.path_params["factor_id"])
    label = form.get("label", "").strip()
    if not label or len(label) > 64 or not label.isprintable():
        raise InvalidRequest(N_("a name is 1 to 64 printable characters"))
    await page.state.store.update_factor(factor.id, label=label)
    await record(page, request, "rename", _change_kind(factor), credential=factor.id)
    return done()


async def remove(request: Request) -> Response:
    page, _ = await begin_change(request)
    if not isinstance(page, AccountPage):
        return page
    factor = await _own_factor(page, request.path_params["factor_id"])
    if factor.kind == recovery.RecoveryFactor.kind:
        keys = [str(k) for k in factor.data.get("keys", [])]
        await recovery.revoke_codes(page.state.store, keys=keys)
    await page.state.store.remove_factor(factor.id)
    await record(page, request, "remove", _change_kind(factor), credential=factor.id)
    return done()


routes: list[BaseRoute] = [
    Route("/account", account, methods=["GET"], name="account"),
    Route("/account/reauth", reauth_page, methods=["GET"], name="account_reauth"),
    Route("/account/reauth", reauth_submit, methods=["POST"]),
    Route("/account/reauth/webauthn", reauth_webauthn, methods=["POST"]),
    Route("/account/totp", totp_start, methods=["POST"], name="account_totp"),
    Route("/account/totp/confirm", totp_confirm, methods=["POST"]),
    Route("/account/recovery", recovery_codes, methods=["POST"], name="account_recovery"),
    Route("/account/factors/{factor_id}/rename", rename, methods=["POST"]),
    Route("/account/factors/{factor_id}/remove", remove, methods=["POST"]),
    Route("/account/password", change_password, methods=["POST"], name="account_password"),
    Route("/account/sessions/end-others", sign_out_others, methods=["POST"]),
    Route("/account/not-me", not_me_page, methods=["GET"], name="account_not_me"),
    Route("/account/not-me", not_me_submit, methods=["POST"]),
    Route("/account/webauthn/options", webauthn_routes.options, methods=["POST"]),
    Route("/account/webauthn/register", webauthn_routes.register, methods=["POST"]),
    Mount("/account/static", app=StaticFiles(directory=HERE / "static"), name="account_static"),
]
