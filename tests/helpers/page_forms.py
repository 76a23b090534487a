"""An HTML reader for the Provider's pages: forms with their inputs, labels and buttons."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any


class PageForms(HTMLParser):
    """Collect forms, their inputs and the text of their labels."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._label_for: str | None = None
        self._label_text: list[str] = []
        self.labels: dict[str, str] = {}
        self.buttons: list[str] = []
        self._in_button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(
                {"action": a.get("action", ""), "method": a.get("method", "get"), "inputs": []}
            )
        elif tag == "input" and self.forms:
            self.forms[-1]["inputs"].append(a)
        elif tag == "label":
            self._label_for = a.get("for")
            self._label_text = []
        elif tag == "button":
            self._in_button = True
            self._label_text = []

    def handle_data(self, data: str) -> None:
        if self._label_for is not None or self._in_button:
            self._label_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._label_for is not None:
            self.labels["".join(self._label_text).strip()] = self._label_for
            self._label_for = None
        elif tag == "button" and self._in_button:
            self.buttons.append("".join(self._label_text).strip())
            self._in_button = False
