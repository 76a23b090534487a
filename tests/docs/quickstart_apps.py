"""A framework quick start's round trip: ``stepauth serve``, the page's app, its user.

Each page's Provider commands run as :mod:`tests.docs.serve_path` runs them; the page's app
file is its ``python`` blocks up to the tested script ("save the code above as
``bank.py``"), started with the page's own run command in a child process. The only change
to what the page says is the app's port, in the client block and the run command alike
(the page's port may be taken where the test runs), given to the app as ``BANK_URL``, and
``BANK_TRANSFER_ACR`` asking the transfer for two factors: a one-time code is something a
script can type, a passkey needs a browser. An ``httpx`` client with one cookie jar is the
browser; the page's own ``at_the_provider`` fills the Provider's forms.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx

from tests.conftest import free_port
from tests.docs.serve_path import (
    ROOT,
    child_env,
    fenced,
    page_user,
    require_installed,
    running,
    served,
)

#: Each framework's page: the command that runs its app, and the port the page gives it.
FRAMEWORKS = {
    "fastapi": ("uvicorn --factory bank:app_from_env --port 8000", "8000"),
    "flask": ("flask --app bank:app_from_env run --port 5000", "5000"),
    "django": ("python -m django runserver 8000 --settings=bank_settings", "8000"),
}
HIDDEN = r'<input type="hidden" name="([^"]*)" value="([^"]*)">'
PAYMENT = {"amount": "250", "iban": "DE89370400440532013000"}


def page_of(framework: str) -> Path:
    return ROOT / "docs" / f"quickstart-{framework}.md"


def _app_file(page: Path) -> str:
    """The page's ``bank.py``: its code blocks before the one-script round trip."""
    before = page.read_text(encoding="utf-8").split("\n## 5.", 1)[0]
    return "\n\n".join(re.findall(r"^```python\n(.*?)^```", before, re.M | re.S))


def framework_round_trip(framework: str, tmp_path: Path, *, venv: Path | None = None) -> None:
    """Sign in with one factor, step up to two for the transfer, confirm it, see it sent."""
    page = page_of(framework)
    command, page_port = FRAMEWORKS[framework]
    shell = "\n".join(fenced(page, "sh"))
    assert command in shell, command
    (tmp_path / "bank.py").write_text(_app_file(page), encoding="utf-8")
    setup = [line for line in shell.splitlines() if line.startswith("printf ")]
    port = free_port()
    app = f"http://localhost:{port}"
    with served(page, tmp_path, app_port=port, venv=venv) as (issuer, client):
        (callback,) = client["redirect_uris"]
        assert callback == f"{app}/stepauth/callback"
        env = child_env(
            tmp_path,
            venv=venv,
            STEPAUTH_ISSUER=issuer,
            BANK_URL=app,
            BANK_TRANSFER_ACR="urn:stepauth:acr:2fa",
        )
        for line in setup:  # the settings module the page writes, as the page writes it
            subprocess.run(line, shell=True, cwd=tmp_path, env=env, check=True, timeout=30)
        run = command.replace(page_port, str(port))
        require_installed(run, venv)
        ready = f"{app}/stepauth/callback"
        with running(run, cwd=tmp_path, env=env, ready=ready), httpx.Client() as browser:
            at_the_provider = page_user(page, browser, APP=f"{app}/")["at_the_provider"]
            # Sign in: /login needs one factor, so the Provider asks for the password only.
            response = browser.get(f"{app}/login")
            assert response.is_redirect, response.text
            back, asked = at_the_provider(response.headers["location"])
            assert asked == ["password"]
            signed_in = browser.get(back, follow_redirects=True)
            assert signed_in.json()["signed_in"], signed_in.text
            # The transfer needs two factors: back to the Provider for the missing one ...
            response = browser.post(f"{app}/transfer", data=PAYMENT)
            assert response.is_redirect, response.text
            back, asked = at_the_provider(response.headers["location"])
            assert asked == ["totp"]
            # ... and the app asks to confirm the interrupted transfer before it runs it.
            confirm = browser.get(back, follow_redirects=True)
            assert "Confirm</button>" in confirm.text, confirm.text
            form = dict(re.findall(HIDDEN, confirm.text))
            done = browser.post(f"{app}/transfer", data=form)
            assert done.status_code == 200, done.text
            assert "Sent 250 EUR to DE89370400440532013000 (urn:stepauth:acr:2fa)" in done.text
