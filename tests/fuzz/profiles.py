"""Hypothesis profiles of the fuzzing suite, chosen with ``STEPAUTH_FUZZ``.

``ci`` (the default) keeps the whole suite to a minute or two; ``long`` (``make fuzz``)
runs thousands of requests per test. Applied to the fuzzing tests only, never loaded
globally, so the project's other property tests keep their own settings.
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings

_COMMON = {
    # one Provider per test, reused by every example: that is the point (state builds up)
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    "deadline": timedelta(seconds=5),
    "print_blob": True,
}

settings.register_profile("ci", max_examples=150, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("long", max_examples=3000, **_COMMON)  # type: ignore[arg-type]

FUZZ = settings.get_profile(os.environ.get("STEPAUTH_FUZZ", "ci"))
