"""Bench only: the ``stepauth`` command with friction telemetry replaced by no-ops.

``python -m bench._friction_off serve --config …`` runs :func:`stepauth.cli.main` after
replacing the recorder's entry points (:mod:`stepauth.provider.friction.recorder`:
``answered``, ``refusals``, ``factor_tried``, ``completed``, ``ended``) with functions
that record nothing, in this process only. The Provider has no setting that turns the
records off (operators rely on the friction report); this lets the provider benchmark
(``bench/provider.py --friction-off``) run the same flows with and without them, side by
side, to show what the telemetry costs.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from stepauth.cli import main
from stepauth.provider.friction import recorder

__all__ = ["RECORDER_ENTRY_POINTS", "silence_recorder"]

#: The recorder's functions the Provider calls (each one line at its call site).
RECORDER_ENTRY_POINTS = ("answered", "refusals", "factor_tried", "completed", "ended")


async def _nothing(*_args: Any, **_kwargs: Any) -> None:
    return None


@asynccontextmanager
async def _no_refusals(*_args: Any, **_kwargs: Any) -> AsyncIterator[None]:
    yield


def silence_recorder() -> None:
    """Replace the recorder's entry points with no-ops (they are looked up on the module
    at each call: ``recorder.answered(…)``), so nothing is counted or written."""
    for name in RECORDER_ENTRY_POINTS:
        setattr(recorder, name, _no_refusals if name == "refusals" else _nothing)


if __name__ == "__main__":
    silence_recorder()
    sys.exit(main())
