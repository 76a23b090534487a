"""Screenshots of the Acme Bank demo's key screens, taken in a real browser.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Starts ``stepauth demo`` on free ports in a temporary directory, drives Debian Chromium
(Playwright, ``/usr/bin/chromium``, a DevTools virtual authenticator as the passkey) through
sign-in, the dashboard, adding a passkey at the Provider (after alice's TOTP code), the
personal-data and transfer step-ups, an exempt transfer and the admin console, and saves
one PNG per screen.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyotp  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, add_virtual_authenticator, free_port  # noqa: E402
from tests.demo.launch import start_demo  # noqa: E402

from stepauth.demo.launcher import TOTP_SECRET  # noqa: E402

PASSWORD = {"alice": "alice-loves-acme"}


@contextmanager
def running_demo(directory: Path) -> Iterator[tuple[str, str]]:
    """``stepauth demo`` in a subprocess; yields (bank URL, provider URL)."""
    provider_port, bank_port = free_port(), free_port()
    try:
        proc, _ = start_demo(directory, provider_port=provider_port, bank_port=bank_port)
    except AssertionError as exc:
        raise SystemExit(str(exc)) from None
    try:
        yield f"http://localhost:{bank_port}", f"http://localhost:{provider_port}"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def sign_in(page: Any, username: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD[username])
    page.locator("form[data-factor=password]").get_by_role("button", name="Continue").click()


def take(page: Any, out: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def use_passkey(page: Any, bank: str) -> None:
    page.get_by_role("button", name="Use passkey").click()
    page.wait_for_url(f"{bank}/**")


def journey(browser: Any, bank: str, provider: str, out: Path) -> None:
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    page = context.new_page()
    add_virtual_authenticator(context, page)
    page.goto(bank)
    take(page, out, "01-home")
    page.get_by_role("link", name="Sign in").click()
    page.wait_for_selector("form[data-factor=password]")
    take(page, out, "02-provider-sign-in")
    sign_in(page, "alice")
    page.wait_for_url(f"{bank}/dashboard")
    take(page, out, "03-dashboard")

    # The passkey the bank will ask for, added on the Provider's account page. Binding it
    # needs alice's strongest sign-in (password + TOTP): the Provider asks for the code.
    page.goto(f"{provider}/account")
    page.get_by_role("button", name="Add passkey").click()
    page.wait_for_url(f"{provider}/account/reauth**")
    page.get_by_label("One-time code").fill(pyotp.TOTP(TOTP_SECRET).now())
    page.locator("form[data-factor=totp]").get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{provider}/account")
    page.get_by_label("Name for the new passkey or key").fill("Laptop")
    page.get_by_role("button", name="Add passkey").click()
    page.wait_for_selector("[data-factor-id]:has-text('Laptop')")
    take(page, out, "04-provider-passkey-added")

    page.goto(f"{bank}/profile/full")
    page.wait_for_url(f"{provider}/**")
    take(page, out, "05-personal-data-step-up")
    use_passkey(page, bank)
    take(page, out, "06-personal-data")

    page.goto(f"{bank}/transfer")
    page.get_by_label("Amount (EUR)").fill("1250.00")
    page.get_by_label("Reference").fill("Invoice 2026-117")
    take(page, out, "07-transfer-form")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"{provider}/**")
    take(page, out, "08-transfer-step-up")
    use_passkey(page, bank)
    take(page, out, "09-transfer-confirm")
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()
    take(page, out, "10-transfer-done")

    page.goto(f"{bank}/transfer")
    page.get_by_label("Amount (EUR)").fill("20")
    page.get_by_label("Reference").fill("Coffee")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"{bank}/transfer")
    take(page, out, "11-transfer-exempt")

    page.goto(f"{bank}/admin")
    take(page, out, "12-admin-console")
    context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory() as tmp,
        running_demo(Path(tmp) / "demo") as (bank, provider),
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            journey(browser, bank, provider, args.out)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
