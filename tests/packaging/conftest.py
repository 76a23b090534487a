"""The packaging tests drive the stepauth Provider the way the SDK tests do, and install one
wheel of the checkout, built once per test run."""

import subprocess
from pathlib import Path

import pytest
from bench.importtime import build_wheel

from tests.conftest import require
from tests.helpers.served import serve
from tests.helpers.stepauth_op import stepauth_op, ua

__all__ = ["serve", "stepauth_op", "ua", "wheel"]


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout as one wheel (``pip wheel --no-deps``)."""
    try:
        return build_wheel(tmp_path_factory.mktemp("wheel"))
    except subprocess.CalledProcessError as exc:
        require(False, f"pip wheel of the checkout ({(exc.stderr or '').strip()[-400:]})")
        raise
