"""Each quick start's own install line, in a fresh venv, then the page's serve path there.

The quick starts are ``docs/quickstart-*.md`` and any other page whose ``sh`` blocks
``pip install`` stepauth. From each page the ``pip install`` lines are read out of its
``sh`` blocks (a page without one fails: it leaves a newcomer with nothing to run) and
installed, as written, into a fresh ``python -m venv``. The one change is where stepauth
comes from: a page installs the checkout (``pip install -e ".[provider,flask]"``), the test
installs the checkout's wheel, built once per run (``tests/packaging/conftest.py``), with
the page's extras and every other argument the page gives; the other packages come from the
machine's configured index, as in :mod:`tests.packaging.test_install`. Pages that write the
same line share one venv; the venvs are built concurrently, each test waiting for its own.

In that venv, and nothing of the checkout or the development venv on the path, the page's
serve path runs: ``stepauth init``, ``users add``, ``users add-totp`` and ``serve`` with
the venv's console script, then the page's app started with its own run command
(:func:`tests.docs.quickstart_apps.framework_round_trip`: sign-in, step-up to two factors,
confirmation, transfer), or for the API page its API under the page's ``uvicorn`` command
and its client ``python payments_client.py``, typed into as the page's reader would.

Outside CI a machine that cannot build a venv or reach its package index skips with the
reason; under ``CI=true`` it fails.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from email.parser import HeaderParser
from functools import partial
from pathlib import Path
from typing import IO
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from bench.importtime import make_venv

from tests.conftest import free_port, require
from tests.docs.quickstart_apps import FRAMEWORKS, framework_round_trip
from tests.docs.samples import samples
from tests.docs.serve_path import (
    ROOT,
    child_env,
    fenced,
    page_user,
    require_installed,
    running,
    served,
)

pytestmark = pytest.mark.timeout(900)

DOCS = ROOT / "docs"
#: The checkout (``.``, ``-e .``) or the project by name, with the extras asked for.
STEPAUTH = re.compile(r"(?:\.|stepauth)(\[[A-Za-z0-9_,.-]*\])?")
API_PAGE = DOCS / "quickstart-api.md"
RUN_API = "uvicorn --factory payments_api:api_from_env --port 8000"
RUN_CLIENT = "python payments_client.py"
ACR_2FA = "urn:stepauth:acr:2fa"


def pip_lines(page: Path) -> list[str]:
    """The ``pip install`` commands of the page's ``sh`` blocks that install stepauth."""
    lines = [line.strip() for block in fenced(page, "sh") for line in block.splitlines()]
    return [
        line
        for line in lines
        if line.startswith("pip install ")
        and any(STEPAUTH.fullmatch(arg) for arg in shlex.split(line, comments=True))
    ]


def install_line(page: Path) -> tuple[str, ...]:
    """The page's install, as ``pip install`` arguments; fails when the page has none."""
    lines = pip_lines(page)
    if not lines:
        pytest.fail(
            f"{page.name} has no install line: no ```sh block runs `pip install` of stepauth "
            '(such as `pip install -e ".[provider,fastapi]"`), so a newcomer cannot follow it',
            pytrace=False,
        )
    return tuple(arg for line in lines for arg in shlex.split(line, comments=True)[2:])


def from_wheel(args: tuple[str, ...], wheel: Path) -> list[str]:
    """The page's arguments with the checkout (``-e .``, ``stepauth``) read as its wheel."""
    requirements = []
    for arg in args:
        if arg in ("-e", "--editable"):
            continue  # an editable install of the checkout: the checkout's wheel here
        project = STEPAUTH.fullmatch(arg)
        requirements.append(f"{wheel}{project[1] or ''}" if project else arg)
    return requirements


def extras(args: tuple[str, ...]) -> set[str]:
    return {
        extra.strip()
        for arg in args
        if (project := STEPAUTH.fullmatch(arg)) and project[1]
        for extra in project[1].strip("[]").split(",")
    }


def provided_extras(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = HeaderParser().parsestr(archive.read(name).decode())
    return set(metadata.get_all("Provides-Extra") or [])


QUICK_STARTS = sorted(
    {*DOCS.glob("quickstart-*.md"), *(p for p in DOCS.glob("*.md") if pip_lines(p))}
)


@pytest.fixture(scope="session")
def venvs(
    wheel: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[tuple[str, ...], Future[Path]]]:
    """One venv per distinct install line of the quick starts, building concurrently."""
    lines = {tuple(from_wheel(install_line(p), wheel)) for p in QUICK_STARTS if pip_lines(p)}
    root = tmp_path_factory.mktemp("quickstart-venvs")
    with ThreadPoolExecutor(max_workers=len(lines) or 1) as pool:
        yield {
            line: pool.submit(make_venv, root / f"venv{index}", *line)
            for index, line in enumerate(sorted(lines))
        }


def _venv(future: Future[Path], line: list[str]) -> Path:
    try:
        python = future.result()
    except subprocess.CalledProcessError as exc:
        require(
            False, f"a venv with pip install {' '.join(line)} ({(exc.stderr or '').strip()[-600:]})"
        )
        raise
    return python.parent.parent


def _readline(stream: IO[str], transcript: list[str]) -> str:
    line = stream.readline()
    assert line, "the client exited early:\n" + "".join(transcript)
    transcript.append(line)
    return line


def _next_url(stream: IO[str], transcript: list[str]) -> str:
    """The next URL the page's client asks its user to open."""
    while "Open this URL and sign in:" not in _readline(stream, transcript):
        pass
    return _readline(stream, transcript).strip()


def api_round_trip(tmp_path: Path, *, venv: Path) -> None:
    """The page's API (``payments_api.py``) and client (``payments_client.py``), as run.

    The changes to what the page says: the ports (``stepauth init --port``, the API's, and
    the two addresses the client's ``main`` names), and the transfer asking for two factors
    (``api_from_env("urn:stepauth:acr:2fa")`` through a module beside the page's, since
    ``uvicorn --factory`` passes no argument)."""
    shell = "\n".join(fenced(API_PAGE, "sh"))
    assert RUN_API in shell
    assert RUN_CLIENT in shell
    blocks = samples(API_PAGE)
    (api_source,) = [s for s in blocks if "def api_from_env" in s]
    client_source = "\n\n".join(s for s in blocks if "def step_up_with" in s or "def main" in s)
    assert client_source.count("http://localhost:8080") == 1, client_source
    assert client_source.count("http://localhost:8000/") == 2, client_source
    port = free_port()
    api = f"http://localhost:{port}"
    with served(API_PAGE, tmp_path, venv=venv) as (issuer, _), httpx.Client() as browser:
        client_file = client_source.replace("http://localhost:8080", issuer)
        client_file = client_file.replace("http://localhost:8000/", f"{api}/")
        (tmp_path / "payments_api.py").write_text(api_source, encoding="utf-8")
        (tmp_path / "payments_client.py").write_text(client_file, encoding="utf-8")
        (tmp_path / "two_factor_api.py").write_text(
            "from payments_api import api_from_env as page_api\n\n\n"
            f"def api_from_env():\n    return page_api({ACR_2FA!r})\n",
            encoding="utf-8",
        )
        env = child_env(tmp_path, venv=venv, STEPAUTH_ISSUER=issuer, PYTHONUNBUFFERED="1")
        run = RUN_API.replace("payments_api:", "two_factor_api:").replace("8000", str(port))
        require_installed(run, venv)
        require_installed(RUN_CLIENT, venv)
        at_the_provider = page_user(API_PAGE, browser)["at_the_provider"]
        with running(run, cwd=tmp_path, env=env, ready=f"{api}/balance"):
            client = subprocess.Popen(
                RUN_CLIENT,
                shell=True,
                cwd=tmp_path,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            assert client.stdin is not None
            assert client.stdout is not None
            transcript: list[str] = []
            try:
                # Sign in: the client's first token needs one factor, the password.
                back, asked = at_the_provider(_next_url(client.stdout, transcript))
                assert asked == ["password"]
                client.stdin.write(back + "\n")
                client.stdin.flush()
                # The transfer answers 401 with the RFC 9470 challenge; StepUpAuth sends the
                # user back for exactly what it says (RFC 9470 §4: acr_values, max_age).
                url = _next_url(client.stdout, transcript)
                assert "'balance': '1250.00'" in "".join(transcript), transcript
                step_up = parse_qs(urlsplit(url).query)
                assert step_up["acr_values"] == [ACR_2FA], step_up
                assert step_up["max_age"] == ["300"], step_up
                back, asked = at_the_provider(url)
                assert asked == ["totp"]  # only the missing factor
                rest, _ = client.communicate(back + "\n", timeout=120)
            finally:
                if client.poll() is None:
                    client.kill()
                    client.wait()
    output = "".join(transcript) + rest
    assert client.returncode == 0, output
    assert f"'status': 'sent', 'acr': '{ACR_2FA}'" in rest, output


SERVE_PATHS: dict[str, Callable[..., None]] = {
    API_PAGE.name: api_round_trip,
    **{f"quickstart-{name}.md": partial(framework_round_trip, name) for name in FRAMEWORKS},
}


def test_a_page_without_an_install_line_fails(tmp_path: Path) -> None:
    page = tmp_path / "quickstart-nothing.md"
    page.write_text("# Quick start\n\n```sh\nstepauth init op\n```\n", encoding="utf-8")
    with pytest.raises(pytest.fail.Exception, match=r"quickstart-nothing\.md has no install line"):
        install_line(page)


@pytest.mark.parametrize("page", QUICK_STARTS, ids=lambda p: p.name)
def test_the_quick_start_steps_up_with_its_own_install_only(
    page: Path, wheel: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    args = install_line(page)
    unknown = extras(args) - provided_extras(wheel)
    assert not unknown, f"{page.name} installs extras stepauth does not provide: {unknown}"
    assert page.name in SERVE_PATHS, f"no serve path is known for {page.name}"
    line = from_wheel(args, wheel)
    venvs: dict[tuple[str, ...], Future[Path]] = request.getfixturevalue("venvs")
    venv = _venv(venvs[tuple(line)], line)
    # The venv's stepauth is the wheel's, not the checkout's.
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import stepauth; print(stepauth.__file__)"],
        cwd=tmp_path,
        env=child_env(venv=venv),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(venv)), where
    SERVE_PATHS[page.name](tmp_path, venv=venv)


def test_the_readme_quick_start_is_one_the_pages_run() -> None:
    """The README's quick start installs a line one of the pages installs (and so is run above
    in a fresh venv), and its commands are the serve path those pages run."""
    readme = ROOT / "README.md"
    args = install_line(readme)
    tested = {install_line(page): page.name for page in QUICK_STARTS}
    assert args in tested, f"README.md installs {args}; the quick starts install {set(tested)}"
    shell = "\n".join(fenced(readme, "sh"))
    for command in ("stepauth init op", "stepauth users add alice --config op/stepauth.toml"):
        assert command in shell, f"README.md's quick start lacks {command!r}"
    assert "stepauth serve --config op/stepauth.toml" in shell
