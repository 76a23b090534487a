"""The API quick start's real path, followed literally against ``stepauth serve``.

``stepauth init`` into a scratch folder, the page's ``[[clients]]`` block appended to the
config as the page says, the user added with the CLI, ``stepauth serve`` in a child process
on a free port, then the page's own API (``api_from_env``, in process over ASGI) and client
(``sign_in``, ``step_up_with``, ``StepUpAuth``) complete the sign-in and the step-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from fastapi.testclient import TestClient

from stepauth.sdk import ProviderMetadata, RelyingParty, StepUpAuth
from tests.docs.samples import samples
from tests.docs.serve_path import PASSWORD, ROOT, TOTP_SECRET
from tests.docs.serve_path import served as serve_page

PAGE = ROOT / "docs" / "quickstart-api.md"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """The Provider as the page sets it up; yields its issuer and the page's client block."""
    with serve_page(PAGE, tmp_path) as provider:
        yield provider


def test_the_api_quick_start_against_stepauth_serve(
    served: tuple[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer, client = served
    # The page's API, client and (from its tested script) the user at the Provider.
    page: dict[str, Any] = {"__name__": "payments"}
    wanted = ("def create_api", "def step_up_with", "def sign_in", "def at_the_provider")
    for source in samples(PAGE):
        if any(name in source for name in wanted):
            page.update(PASSWORD=PASSWORD, TOTP_SECRET=TOTP_SECRET, pyotp=pyotp)
            exec(compile(source, PAGE.name, "exec"), page)  # the page's code, as written
    (callback,) = client["redirect_uris"]
    page["CALLBACK"] = callback
    monkeypatch.setenv("STEPAUTH_ISSUER", issuer)
    # uvicorn --factory payments_api:api_from_env, over ASGI; the transfer asks for two
    # factors here (a passkey needs a browser), the same SDK path as phr
    api = TestClient(page["api_from_env"]("urn:stepauth:acr:2fa"))
    with httpx.Client() as http:
        rp = RelyingParty(
            ProviderMetadata.discover(issuer, http),
            client_id=client["client_id"],
            client_secret=client["client_secret"],
            redirect_uri=callback,
        )
    asked: list[list[str]] = []

    def user_agent(url: str) -> str:
        back, factors = page["at_the_provider"](url)
        asked.append(factors)
        return str(back)

    token = page["sign_in"](rp, user_agent)
    assert asked == [["password"]]
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/balance", headers=bearer).json()["balance"] == "1250.00"
    refused = api.post("/transfers", headers=bearer)
    assert refused.status_code == 401
    assert 'acr_values="urn:stepauth:acr:2fa"' in refused.headers["www-authenticate"]
    done = api.post("/transfers", auth=StepUpAuth(token, page["step_up_with"](rp, user_agent)))
    assert done.status_code == 200, done.text
    assert done.json()["acr"] == "urn:stepauth:acr:2fa"
    assert asked == [["password"], ["totp"]]  # only the missing factor
    page["browser"].close()
