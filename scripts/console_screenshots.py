"""Screenshots of the operator console ``/admin``, taken in a real browser.

    .venv/bin/python scripts/console_screenshots.py [--out docs/screenshots]

Serves a Provider on a free port in a temporary directory (an admin ``ada`` and two users),
scripts a few step-ups so the friction report has numbers (three completed, one still open),
stores one valid transaction approval, then drives Debian Chromium (Playwright,
``/usr/bin/chromium``, a DevTools virtual authenticator as the admin's passkey) through the
console and saves ``console-*.png``: users, a user, the passkey asked for before a lock,
the locked user, friction, the audit log with a verified approval, clients, keys, policy.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, add_virtual_authenticator  # noqa: E402
from tests.helpers.approvals import ORIGIN, RP_ID  # noqa: E402
from tests.helpers.approvals import approval as make_approval  # noqa: E402
from tests.helpers.frontchannel import (  # noqa: E402
    open_interaction,
    query,
    rp_params,
    sign_in,
    submit,
)
from tests.helpers.harness import ACR_2FA, PASSWORD  # noqa: E402
from tests.helpers.seeded_provider import serve_provider, stored  # noqa: E402
from tests.helpers.soft_authenticator import SoftAuthenticator  # noqa: E402

from stepauth.provider.factors import totp  # noqa: E402
from stepauth.provider.factors.webauthn.transaction_audit import RECORD_KIND  # noqa: E402

ADMIN, OTHER = "ada", "bob"
#: Users whose step-ups fill the friction report.
STEPPING = ("carol", "dave", "erin", "frank")


def take(page: Any, out: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    path = out / f"console-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def sign_in_page(page: Any, username: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("form[data-factor=password]").get_by_role("button", name="Continue").click()


def friction(issuer: str, url: str) -> None:
    """Scripted step-ups through /authorize (as tests/provider/test_friction.py): each of
    :data:`STEPPING` signs in, is asked for 2fa and answers with a TOTP code — all but the
    last, who leaves the prompt open."""

    secrets = {name: totp.TotpParams(secret=totp.generate_secret()) for name in STEPPING}

    async def enrol(store: Any) -> None:
        for name, params in secrets.items():
            user = await store.get_user_by_username(name)
            await store.add_factor(user.id, "totp", params.to_data(), label="phone", now=0.0)

    stored(url, enrol)

    async def script() -> None:
        for name, params in secrets.items():
            async with httpx.AsyncClient(base_url=issuer) as browser:
                await sign_in(browser, query(), username=name)
                shown = await open_interaction(browser, query(acr_values=ACR_2FA))
                if name == STEPPING[-1]:
                    continue  # the prompt stays open
                code = totp.totp(params, time.time())
                rp_params(await submit(browser, shown, "totp", code=code))

    asyncio.run(script())


def approval(url: str) -> str:

    record = make_approval(SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN))

    async def put(store: Any) -> None:
        await store.put(RECORD_KIND, record["txn"], record, expires_at=time.time() + 86400)

    stored(url, put)
    return str(record["txn"])


def journey(browser: Any, issuer: str, out: Path, other_id: str, txn: str) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    add_virtual_authenticator(context, page)
    page.goto(issuer + "/admin")
    page.wait_for_url("**/admin/reauth**")
    sign_in_page(page, ADMIN)
    page.wait_for_url(issuer + "/admin/users")
    page.goto(issuer + "/account")
    page.get_by_label("Name for the new passkey or key").fill("Admin passkey")
    page.get_by_role("button", name="Add passkey").click()
    page.get_by_text("Admin passkey").first.wait_for(timeout=30_000)
    page.goto(issuer + "/admin/users")
    take(page, out, "users")
    page.goto(f"{issuer}/admin/users/{other_id}")
    take(page, out, "user")
    page.get_by_role("button", name=f"Lock {OTHER}").click()
    page.wait_for_url("**/admin/reauth**")
    take(page, out, "step-up")
    page.get_by_role("button", name="Use passkey").click()
    page.wait_for_url(f"{issuer}/admin/users/{other_id}")
    page.get_by_role("button", name=f"Lock {OTHER}").click()
    page.wait_for_url("**done=locked")
    take(page, out, "locked")
    page.goto(issuer + "/admin/friction?days=7")
    take(page, out, "friction")
    page.goto(f"{issuer}/admin/audit?txn={txn}")
    take(page, out, "audit")
    page.goto(issuer + "/admin/clients")
    take(page, out, "clients")
    page.goto(issuer + "/admin/keys")
    take(page, out, "keys")
    page.goto(
        issuer + '/admin/policy?action=transfer&context={"amount": "500", "new_device": true}'
    )
    take(page, out, "policy")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("STEPAUTH_SECRET_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    os.environ["STEPAUTH_POLICY"] = str(ROOT / "examples" / "policy.toml")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["STEPAUTH_OUTBOX"] = str(Path(tmp) / "outbox.jsonl")
        users = [ADMIN, OTHER, *STEPPING]
        with serve_provider(
            Path(tmp), users=users, admins=[ADMIN], account={"binding_hold": 0}
        ) as (issuer, url):
            friction(issuer, url)
            txn = approval(url)
            other = stored(url, lambda store: store.get_user_by_username(OTHER))
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                try:
                    journey(browser, issuer, args.out, other.id, txn)
                finally:
                    browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
