"""Screenshots of every hosted page state, in English and German, phone and desktop wide.

    .venv/bin/python scripts/page_screenshots.py [--out docs/screenshots/pages]

For each language serves a fresh Provider on a free port in a temporary directory
(``tests/helpers/browser_provider.py``), opens a Debian Chromium context whose locale the
Provider negotiates from ``Accept-Language`` (Playwright, ``/usr/bin/chromium``, a DevTools
virtual authenticator as the passkey) and walks it through every page state the
accessibility test checks (``tests/helpers/page_states.py``: sign-in, one-time code,
account, enrolment, recovery codes, step-ups, payment approval, error, outage, lockout).
At each state it saves a full-page PNG at each width into
``<out>/<lang>/<width>/<NN-state>.png``, then writes ``<out>/README.md``, the index.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.helpers.browser_provider import serve_provider  # noqa: E402
from tests.helpers.page_shots import HEIGHT, LANGUAGES, OUT, WIDTHS, index, shot_path  # noqa: E402
from tests.helpers.page_states import STATES, walk  # noqa: E402


def shoot(browser: Any, lang: str, out: Path) -> list[Path]:
    """One language: a fresh Provider and browser context, every state at every width."""
    written: list[Path] = []
    desktop = {"width": max(WIDTHS), "height": HEIGHT}
    with tempfile.TemporaryDirectory() as tmp, serve_provider(Path(tmp)) as served:
        context = browser.new_context(locale=LANGUAGES[lang], viewport=desktop)
        page = context.new_page()

        def visit(state: str, page: Any) -> None:
            shown = page.evaluate("() => document.documentElement.lang")
            if shown != lang:
                raise SystemExit(f"{state}: the page is in {shown!r}, not {lang!r}")
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": HEIGHT})
                path = shot_path(out, lang, width, state)
                page.screenshot(path=str(path), full_page=True, animations="disabled")
                written.append(path)
                print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
            page.set_viewport_size(desktop)

        try:
            walk(served, page, visit)
        finally:
            context.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    out: Path = args.out.resolve()
    for lang in LANGUAGES:
        for width in WIDTHS:
            folder = out / lang / str(width)
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob("*.png"):
                old.unlink()  # a state renamed or dropped leaves no stale picture
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            written = [path for lang in LANGUAGES for path in shoot(browser, lang, out)]
        finally:
            browser.close()
    assert len(written) == len(STATES) * len(LANGUAGES) * len(WIDTHS), len(written)
    (out / "README.md").write_text(index(), encoding="utf-8")
    print(f"wrote {len(written)} screenshots and {out / 'README.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
