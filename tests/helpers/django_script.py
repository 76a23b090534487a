"""A small Django project run in a fresh interpreter.

Django's settings are process-wide, so a test that needs its own settings runs a script:
:data:`DJANGO_SETUP` (the job read from stdin as ``job``, settings with signed-cookie
sessions, ``django.setup()`` and the usual imports) followed by the test's views, URLs and
requests, which print one JSON line. :func:`run_django` runs it and returns that line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DJANGO_SETUP = r"""
import json, sys

import django
from django.conf import settings

job = json.load(sys.stdin)
settings.configure(
    DEBUG=False, SECRET_KEY="stepauth-test-" + "k" * 40, ALLOWED_HOSTS=["testserver"],
    ROOT_URLCONF="__main__", INSTALLED_APPS=["django.contrib.sessions"],
    MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
    SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
)
django.setup()

from django.http import JsonResponse
from django.test import Client
from django.urls import path
"""

REPOSITORY = Path(__file__).parents[2]


def run_django(script: str, job: Mapping[str, Any]) -> Any:
    """Run ``script`` with ``job`` as JSON on stdin (from the repository root, so ``tests``
    imports); the JSON of the last line it printed."""
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPOSITORY,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
