"""Errors of :mod:`stepauth.rar`.

::

    StepAuthError
    └── RARError                     error="invalid_request"
        ├── InvalidAuthorizationDetails   error="invalid_authorization_details" (RFC 9396 §5)
        └── DetailsMismatch               error="authorization_details_mismatch"
"""

from __future__ import annotations

from stepauth.errors import StepAuthError

__all__ = ["DetailsMismatch", "InvalidAuthorizationDetails", "RARError"]


class RARError(StepAuthError):
    """Root of the Rich Authorization Requests errors."""

    error = "invalid_request"


class InvalidAuthorizationDetails(RARError):
    """``authorization_details`` failed validation (RFC 9396 §5).

    ``index`` is the entry's position in the array (``None`` when the array itself is wrong),
    ``path`` the dotted field path inside that entry (``""`` for the entry itself) and
    ``reason`` which §5 case it is: ``not_array``, ``missing_type``, ``unknown_type``,
    ``unknown_field``, ``wrong_type``, ``invalid_value`` or ``missing_field``.
    """

    error = "invalid_authorization_details"

    def __init__(
        self,
        description: str,
        *,
        index: int | None = None,
        path: str = "",
        reason: str = "invalid_value",
    ) -> None:
        super().__init__(description)
        self.index = index
        self.path = path
        self.reason = reason


class DetailsMismatch(RARError):
    """The details of an action differ from the granted ones (PSD2 RTS Art. 5(1)(c)-(d)).

    ``index`` and ``path`` name the first difference found.
    """

    error = "authorization_details_mismatch"

    def __init__(self, description: str, *, index: int | None = None, path: str = "") -> None:
        super().__init__(description)
        self.index = index
        self.path = path
