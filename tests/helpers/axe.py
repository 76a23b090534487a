"""axe-core (peers/node_modules) run in a Playwright page against the WCAG 2.0, 2.1 and 2.2
A and AA success criteria; and moving through a page by keyboard only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.conftest import PEERS

__all__ = ["AXE", "WCAG_TAGS", "audit", "blocking", "focus_ring_contrast", "reflow", "tab_to"]

AXE = PEERS / "node_modules" / "axe-core" / "axe.min.js"
#: axe-core's tags for WCAG 2.0, 2.1 and 2.2 levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
#: The impacts that fail a test (axe-core's two highest).
BLOCKING = {"serious", "critical"}


def audit(page: Any, state: str, axe: Path = AXE) -> list[dict[str, Any]]:
    """Every WCAG A/AA violation axe-core finds on ``page`` now, one dict per element:
    ``state``, ``id``, ``impact``, ``target``, ``help``. The page's CSP allows no injected
    script: the browser context must be opened with ``bypass_csp=True``."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe))
    result = page.evaluate(
        "tags => axe.run(document,"
        " {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_TAGS,
    )
    return [
        {
            "state": state,
            "id": v["id"],
            "impact": v["impact"],
            "target": node["target"],
            "help": v["help"],
        }
        for v in result["violations"]
        for node in v["nodes"]
    ]


def reflow(page: Any, state: str, width: int = 320) -> list[dict[str, Any]]:
    """WCAG 2.2 SC 1.4.10 Reflow, which axe-core cannot judge: at ``width`` CSS pixels
    the page must not scroll sideways (a data table may scroll inside its own region).
    One serious violation when it does."""
    size = page.viewport_size
    page.set_viewport_size({"width": width, "height": 640})
    try:
        wide = page.evaluate("() => document.documentElement.scrollWidth")
    finally:
        page.set_viewport_size(size)
    if wide <= width:
        return []
    return [
        {
            "state": state,
            "id": "reflow",
            "impact": "serious",
            "target": [f"html (scrollWidth {wide} at {width}px)"],
            "help": "Content must reflow at 320 CSS pixels without scrolling sideways",
        }
    ]


def blocking(found: list[dict[str, Any]]) -> list[str]:
    """The serious and critical violations among ``found``, one line each."""
    return [
        f"{v['state']}: {v['id']} ({v['impact']}) {v['target']} — {v['help']}"
        for v in found
        if v["impact"] in BLOCKING
    ]


def tab_to(page: Any, selector: str, *, limit: int = 40) -> None:
    """Press Tab until the focused element matches ``selector`` (fails after ``limit``)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"Tab never reached {selector} in {limit} presses")


_RING = """() => {
  const el = document.activeElement;
  const s = getComputedStyle(el);
  let around = "rgb(255, 255, 255)";
  for (let p = el.parentElement; p; p = p.parentElement) {
    const b = getComputedStyle(p).backgroundColor;
    if (b !== "transparent" && !/, 0\\)$/.test(b)) { around = b; break; }
  }
  return {style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor, around};
}"""


def _luminance(css: str) -> float:
    """Relative luminance of an ``rgb(...)`` colour (WCAG 2.2, "relative luminance")."""
    r, g, b = (int(c) / 255 for c in re.findall(r"\d+(?:\.\d+)?", css)[:3])

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def focus_ring_contrast(page: Any) -> float:
    """Contrast ratio of the focused element's outline against the background around it
    (WCAG 2.2 SC 1.4.11 Non-text Contrast: at least 3:1); 0 when there is no outline."""
    ring = page.evaluate(_RING)
    if ring["style"] == "none" or ring["width"] < 1:
        return 0.0
    lighter, darker = sorted((_luminance(ring["color"]), _luminance(ring["around"])), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
