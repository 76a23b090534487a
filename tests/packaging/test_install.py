"""What a user gets from ``pip install stepauth`` and ``pip install "stepauth[fastapi]"``.

The checkout is built into one wheel (``pip wheel --no-deps``) and installed into fresh
``python -m venv`` folders, pip resolving the dependencies from the machine's configured
index (offline on CI):

* the base install is the SDK alone: ``import stepauth.sdk`` loads no database driver, no
  Redis client, no web server or framework (``sys.modules``), the client of the API quick
  start (``examples/api_client.py``) steps up against a stepauth Provider and an API served
  next to it, and a Provider command names the extra it needs in one line instead of a
  traceback. The import time is measured by ``bench/importtime.py``, not asserted here;
* ``stepauth[fastapi]`` runs the FastAPI example app of the quick start (its tested
  variant: password sign-in, step-up to 2fa, confirmation page, the transfer) under uvicorn.

Outside CI a machine that cannot build a venv or reach its package index skips with the
reason; under ``CI=true`` it fails.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from bench.importtime import HEAVY, clean_env, import_profile, make_venv

from stepauth.assurance import Requirement
from tests.conftest import ROOT, free_port, require
from tests.helpers.stepauth_op import (
    ACR_2FA,
    API_RESOURCE,
    CLIENT_ID,
    CLIENT_SECRET,
    IBAN,
    LOCAL_CALLBACK,
    RP_CALLBACK,
    StepauthOP,
    drive_stepauth,
    example_browser_flow,
    rp_for,
)

pytestmark = pytest.mark.timeout(900)


def _installed(python: Path, requirement: str, tmp: Path) -> Path:
    try:
        return make_venv(tmp, requirement)
    except subprocess.CalledProcessError as exc:
        require(False, f"a venv with {requirement} ({(exc.stderr or '').strip()[-400:]})")
        raise


@pytest.fixture(scope="module")
def base_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding ``pip install stepauth`` (no extra)."""
    return _installed(Path(sys.executable), str(wheel), tmp_path_factory.mktemp("base") / "venv")


@pytest.fixture(scope="module")
def fastapi_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding ``pip install "stepauth[fastapi]"`` only."""
    venv = tmp_path_factory.mktemp("fastapi") / "venv"
    return _installed(Path(sys.executable), f"{wheel}[fastapi]", venv)


@pytest.fixture
def examples_dir(tmp_path: Path) -> Path:
    """A folder holding a copy of ``examples/`` and nothing of the checkout's sources."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path


def _has(python: Path, *modules: str) -> dict[str, bool]:
    code = (
        "import importlib.util, sys; "
        "print(' '.join(str(importlib.util.find_spec(m) is not None) for m in sys.argv[1:]))"
    )
    out = subprocess.run(
        [str(python), "-c", code, *modules],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(),
        cwd="/",
    ).stdout.split()
    return dict(zip(modules, (flag == "True" for flag in out), strict=True))


def test_the_base_install_is_the_sdk_alone(
    base_python: Path, record_property: Callable[[str, object], None]
) -> None:
    present = _has(base_python, "httpx", "cryptography", "sqlalchemy", "redis", "uvicorn")
    assert present == {
        "httpx": True,
        "cryptography": True,
        "sqlalchemy": False,
        "redis": False,
        "uvicorn": False,
    }
    profile = import_profile(base_python, "stepauth.sdk")
    assert "stepauth.sdk" in profile.modules
    assert [h for h in HEAVY if profile.loaded(h)] == []
    # Measured, not asserted: bench/importtime.py reports it in BENCHMARKS.md.
    record_property("import_stepauth_sdk_us", profile.cumulative_us)


@pytest.mark.parametrize(
    ("argv", "extra"),
    [(["serve"], "provider"), (["users", "list"], "provider"), (["demo"], "demo")],
)
def test_a_provider_command_in_the_base_install_names_its_extra(
    base_python: Path, tmp_path: Path, argv: list[str], extra: str
) -> None:
    proc = subprocess.run(
        [str(base_python.parent / "stepauth"), *argv],
        capture_output=True,
        text=True,
        check=False,
        env=clean_env(),
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("stepauth: error: "), proc.stderr
    assert proc.stderr.rstrip().endswith(f'install "stepauth[{extra}]"'), proc.stderr


def test_the_api_client_example_steps_up_in_the_base_install(
    base_python: Path,
    examples_dir: Path,
    stepauth_op: StepauthOP,
    ua: httpx.Client,
    serve: Callable[[Any], Any],
) -> None:
    """``python -m examples.api_client URL TOKEN``: 401 challenge, the user signs in at the
    Provider with the URL it prints, pastes the callback URL back, the retry passes."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from stepauth.sdk import JWKSCache, ResourceServer
    from stepauth.sdk.starlette import StepAuth
    from stepauth.sdk.starlette import require as route_requires

    rp = rp_for(stepauth_op, RP_CALLBACK, acr_mode="claims")
    first = rp.authorization_request(Requirement(("urn:stepauth:acr:1fa",)))
    weak = rp.finish(drive_stepauth(ua, rp.begin(first), RP_CALLBACK, stepauth_op), first)
    assert weak.access_token is not None

    async def balance(request: Request) -> JSONResponse:
        return JSONResponse({"acr": request.state.stepauth_claims["acr"], "balance": "1250.00"})

    api = Starlette(routes=[Route("/balance", route_requires(ACR_2FA, max_age=300)(balance))])
    api.state.stepauth = StepAuth(
        resource_server=ResourceServer(
            issuer=stepauth_op.issuer, audience=API_RESOURCE, jwks=JWKSCache(rp.metadata.jwks_uri)
        )
    )
    served = serve(api)
    env = clean_env(
        STEPAUTH_ISSUER=stepauth_op.issuer,
        STEPAUTH_CLIENT_ID=CLIENT_ID,
        STEPAUTH_CLIENT_SECRET=CLIENT_SECRET,
        STEPAUTH_REDIRECT_URI=RP_CALLBACK,
        PYTHONUNBUFFERED="1",
    )
    client = subprocess.Popen(
        [str(base_python), "-m", "examples.api_client", f"{served.url}/balance", weak.access_token],
        cwd=examples_dir,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert client.stdout is not None
        assert client.stdin is not None
        asked = client.stdout.readline()
        assert asked.startswith(f"Step-up needed ({ACR_2FA}). Open:"), asked
        url = client.stdout.readline().strip()
        params = drive_stepauth(ua, url, RP_CALLBACK, stepauth_op)  # the user, at the Provider
        out, err = client.communicate(f"{RP_CALLBACK}?{urlencode(params)}\n", timeout=60)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    assert client.returncode == 0, err[-3000:]
    assert out.strip().endswith(f'200 {{"acr":"{ACR_2FA}","balance":"1250.00"}}'), out


@pytest.fixture
def fastapi_example(
    fastapi_python: Path, examples_dir: Path, stepauth_op: StepauthOP
) -> Iterator[str]:
    """``examples/fastapi_app.py`` under uvicorn in the ``stepauth[fastapi]`` venv."""
    port = free_port()
    script = (
        "import os, uvicorn\n"
        "from examples._config import rp_from_env\n"
        "from examples.fastapi_app import create_app\n"
        "app = create_app(rp_from_env(), secret_key='s' * 40, transfer_acr=os.environ['ACR'])\n"
        "uvicorn.run(app, host='127.0.0.1', port=int(os.environ['PORT']), log_level='warning')\n"
    )
    env = clean_env(
        STEPAUTH_ISSUER=stepauth_op.issuer,
        STEPAUTH_CLIENT_ID=CLIENT_ID,
        STEPAUTH_CLIENT_SECRET=CLIENT_SECRET,
        STEPAUTH_REDIRECT_URI=LOCAL_CALLBACK,
        ACR=ACR_2FA,
        PORT=str(port),
    )
    app = subprocess.Popen(
        [str(fastapi_python), "-c", script],
        cwd=examples_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if app.poll() is not None:
                output = app.stdout.read() if app.stdout else ""
                raise AssertionError(f"the example app exited: {output[-3000:]}")
            try:
                if httpx.get(f"{url}/transfer", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the example app did not start"
            time.sleep(0.2)
        yield url
    finally:
        app.terminate()
        try:
            app.wait(timeout=10)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()


def test_the_fastapi_quick_start_runs_with_the_fastapi_extra_only(
    fastapi_python: Path, fastapi_example: str, stepauth_op: StepauthOP, ua: httpx.Client
) -> None:
    present = _has(fastapi_python, "fastapi", "itsdangerous", "multipart", "sqlalchemy", "redis")
    assert present == {
        "fastapi": True,
        "itsdangerous": True,
        "multipart": True,
        "sqlalchemy": False,
        "redis": False,
    }
    profile = import_profile(fastapi_python, "stepauth.sdk.starlette")
    assert not profile.loaded("sqlalchemy")
    assert not profile.loaded("redis")
    assert not profile.loaded("stepauth.provider")
    with httpx.Client(base_url=fastapi_example, follow_redirects=False) as app:
        status, text = example_browser_flow(
            stepauth_op,
            ua,
            lambda path, q: app.get(path, params=q),
            lambda path, d: app.post(path, data=d),
            LOCAL_CALLBACK,
        )
    assert status == 200
    assert f"Sent 250 EUR to {IBAN} ({ACR_2FA})" in text
