"""The framework quick starts' real path, followed literally: ``stepauth serve`` and the app.

The round trip is :func:`tests.docs.quickstart_apps.framework_round_trip`, here in the
development install; :mod:`tests.packaging.test_quickstart_installs` runs it in a venv
holding only what the page's install line installs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.quickstart_apps import FRAMEWORKS, framework_round_trip


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_the_quick_start_against_stepauth_serve(framework: str, tmp_path: Path) -> None:
    framework_round_trip(framework, tmp_path)
