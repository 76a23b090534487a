"""The policy's view of the assurance ladder: is a level known, which of two is higher."""

from __future__ import annotations

from stepauth.assurance import Ladder

__all__ = ["higher", "is_known"]


def is_known(ladder: Ladder, acr: str) -> bool:
    """True if ``acr`` is a level of ``ladder``."""
    return acr in ladder


def higher(ladder: Ladder, current: str, other: str) -> str:
    """The stronger of two levels; escalation never lowers (ties keep ``current``).

    The loader only admits known levels; an unknown one here is never chosen (fail closed:
    an unknown value cannot replace a known, enforceable one).
    """
    have, want = ladder.rank(current), ladder.rank(other)
    if want is not None and (have is None or want > have):
        return other
    return current
