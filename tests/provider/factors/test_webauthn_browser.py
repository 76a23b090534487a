"""The verifiers against real browser payloads: Chromium + DevTools virtual authenticator.

PEERS.md: Chromium's virtual authenticator produces real CTAP2 responses on
``http://localhost`` (a secure context, RP ID ``localhost``). The verifier layer has no
HTTP of its own, so a tiny static page hosts the ceremonies and the options/responses
pass through ``page.evaluate`` as WebAuthn JSON (``parse*OptionsFromJSON``/``toJSON``).

Each scenario runs in a worker thread with its own Playwright: the sync API keeps an
event loop running in its thread for as long as it lives, and the async tests that
follow in this session need the main thread's loop free.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from stepauth.provider.factors.webauthn import (
    UserNotVerified,
    authentication_options,
    registration_options,
    verify_authentication,
    verify_registration,
)
from tests.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    add_virtual_authenticator,
    free_port,
    require,
)

pytestmark = pytest.mark.browser

CREATE = """async (options) => {
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options);
  const credential = await navigator.credentials.create({publicKey});
  return credential.toJSON();
}"""
GET = """async (options) => {
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options);
  const credential = await navigator.credentials.get({publicKey});
  return credential.toJSON();
}"""


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>ceremony</title><p>ceremony</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def origin() -> Iterator[str]:
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{port}"
    finally:
        server.shutdown()
        server.server_close()


Scenario = Callable[[Any, Any], None]


@pytest.fixture
def in_browser(origin: str) -> Callable[[Scenario], None]:
    """Run ``scenario(context, page)`` on a fresh Chromium page at ``origin``."""
    require(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM} (apt-get install chromium)")

    def run(scenario: Scenario) -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context()
                page = context.new_page()
                page.goto(origin + "/")
                scenario(context, page)
            finally:
                browser.close()

    def in_thread(scenario: Scenario) -> None:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(run, scenario).result()

    return in_thread


def enrol(page: Any, origin: str, handle: bytes) -> Any:
    options = registration_options(
        rp_id="localhost", rp_name="stepauth", user_id=handle, user_name="alice"
    )
    response = page.evaluate(CREATE, options.public_key)
    return verify_registration(
        credential=response,
        expected_challenge=options.challenge,
        expected_rp_id="localhost",
        expected_origins=[origin],
    )


def step_up(page: Any, origin: str, stored: Any, **kw: Any) -> Any:
    options = authentication_options(
        rp_id="localhost",
        allow_credentials=[stored.credential_id],
        user_verification=kw.pop("user_verification", "required"),
    )
    response = page.evaluate(GET, options.public_key)
    return verify_authentication(
        credential=response,
        expected_challenge=options.challenge,
        expected_rp_id="localhost",
        expected_origins=[origin],
        stored=stored,
        expected_user_handle=stored.user_handle,
        **kw,
    )


def test_chromium_passkey_registers_and_steps_up(
    in_browser: Callable[[Scenario], None], origin: str
) -> None:
    """WebAuthn L3 §7.1 (registration) and §7.2 (assertion), signature counter included
    (§6.1.1), on real CTAP2 output: a device-bound passkey with UV -> pop user pin.
    """

    def scenario(context: Any, page: Any) -> None:
        add_virtual_authenticator(context, page)
        handle = os.urandom(16)
        cred = enrol(page, origin, handle)
        assert cred.user_verified is True
        assert cred.backup_eligible is False
        assert cred.attestation_trusted is False  # attestation "none"
        event = step_up(page, origin, cred.to_stored(handle))
        assert event.methods == ("pop", "user", "pin")
        assert event.attrs["uv"] is True
        assert event.attrs["be"] is False
        assert event.multi_factor

    in_browser(scenario)


def test_chromium_synced_passkey_reports_backup_flags(
    in_browser: Callable[[Scenario], None], origin: str
) -> None:
    """WebAuthn L3 §6.1.3: a synced passkey (BE=1, BS=1) verifies and says so in the event."""

    def scenario(context: Any, page: Any) -> None:
        add_virtual_authenticator(
            context, page, defaultBackupEligibility=True, defaultBackupState=True
        )
        handle = os.urandom(16)
        cred = enrol(page, origin, handle)
        assert (cred.backup_eligible, cred.backup_state) == (True, True)
        event = step_up(page, origin, cred.to_stored(handle))
        assert event.attrs["be"] is True
        assert event.attrs["bs"] is True
        assert not event.hardware_bound

    in_browser(scenario)


def test_chromium_assertion_without_user_verification_is_rejected(
    in_browser: Callable[[Scenario], None], origin: str
) -> None:
    """WebAuthn L3 §7.2 step 17: UV off in the authenticator -> required get() fails in the browser,
    and a "discouraged" assertion (UV=0) is refused by the verifier when step-up requires UV."""

    def scenario(context: Any, page: Any) -> None:
        cdp, authenticator_id = add_virtual_authenticator(context, page)
        handle = os.urandom(16)
        stored = enrol(page, origin, handle).to_stored(handle)
        cdp.send(
            "WebAuthn.setUserVerified",
            {"authenticatorId": authenticator_id, "isUserVerified": False},
        )
        options = authentication_options(
            rp_id="localhost", allow_credentials=[stored.credential_id]
        )
        with pytest.raises(Exception, match=r"NotAllowedError"):
            page.evaluate(GET, options.public_key)
        with pytest.raises(UserNotVerified):
            step_up(page, origin, stored, user_verification="discouraged")

    in_browser(scenario)
