"""WCAG 2.2 contrast between two sRGB colours (``#rrggbb``).

SC 1.4.3 (Contrast, Minimum, level AA): text needs 4.5:1 against what is behind it. The
ratio is ``(L1 + 0.05) / (L2 + 0.05)`` of the relative luminances (WCAG 2.2,
"relative luminance" and "contrast ratio" in the glossary).
"""

from __future__ import annotations

import re

__all__ = ["MIN_TEXT_CONTRAST", "contrast_ratio", "is_colour", "relative_luminance"]

#: WCAG 2.2 SC 1.4.3: normal-size text.
MIN_TEXT_CONTRAST = 4.5

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def is_colour(value: str) -> bool:
    return _COLOUR.match(value) is not None


def _linear(channel: int) -> float:
    # WCAG 2.2 glossary, "relative luminance": the sRGB transfer function undone
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def contrast_ratio(first: str, second: str) -> float:
    light, dark = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
