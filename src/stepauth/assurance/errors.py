"""Errors of the assurance core.

All of them derive from :class:`stepauth.errors.StepAuthError` and carry a machine
``error`` code::

    StepAuthError                      error="stepauth_error"
    └── AssuranceError                 error="assurance_error"
        ├── InvalidLadder              error="invalid_ladder"       (ladder data; names the field)
        ├── InvalidRequirement         error="invalid_requirement"  (Requirement arguments)
        ├── InvalidChallenge           error="invalid_challenge"    (RFC 9470 / RFC 9110 §11.6.1)
        └── InvalidEvent               error="invalid_event"        (AuthEvent values and JSON)
"""

from __future__ import annotations

from stepauth.errors import StepAuthError

__all__ = [
    "AssuranceError",
    "InvalidChallenge",
    "InvalidEvent",
    "InvalidLadder",
    "InvalidRequirement",
]


class AssuranceError(StepAuthError):
    """Root of the errors raised by :mod:`stepauth.assurance`."""

    error = "assurance_error"


class InvalidLadder(AssuranceError):
    """Ladder data is malformed; ``field`` is the dotted path of the offending value."""

    error = "invalid_ladder"

    def __init__(self, description: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {description}" if field else description)
        self.field = field


class InvalidRequirement(AssuranceError):
    """A :class:`~stepauth.assurance.Requirement` was built from invalid values."""

    error = "invalid_requirement"


class InvalidChallenge(AssuranceError):
    """A ``WWW-Authenticate`` value cannot be parsed or a challenge cannot be built."""

    error = "invalid_challenge"


class InvalidEvent(AssuranceError):
    """An :class:`~stepauth.assurance.AuthEvent` (or its JSON form) is malformed."""

    error = "invalid_event"
