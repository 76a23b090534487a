"""Errors of :mod:`stepauth.policy`."""

from __future__ import annotations

from stepauth.errors import StepAuthError

__all__ = ["PolicyError"]


class PolicyError(StepAuthError):
    """A policy file, an action name or a decision context is wrong.

    ``key`` is the dotted path of the offending setting (``actions.transfer.acr``) and ``line``
    its 1-based line in the policy file when the error comes from a file.
    """

    error = "invalid_policy"

    def __init__(
        self,
        description: str,
        *,
        key: str | None = None,
        line: int | None = None,
        path: str | None = None,
    ) -> None:
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        elif line is not None:
            where = f"line {line}: "
        super().__init__(f"{where}{key + ': ' if key else ''}{description}")
        self.key = key
        self.line = line
        self.path = path
