"""A page's HTML as a tree, to ask where things are: what follows the heading, which
element holds an alert, how many notices a page has (the standard library's parser; no
browser)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["Node", "assert_one_notice", "main_of", "primary_buttons", "tree"]

_VOID = {"input", "meta", "link", "br", "img", "hr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def elements(self) -> list[Node]:
        return [c for c in self.children if isinstance(c, Node)]

    def walk(self) -> Iterator[Node]:
        for child in self.elements():
            yield child
            yield from child.walk()

    def find(self, tag: str = "", **attrs: str) -> list[Node]:
        """Descendants with ``tag`` (any when empty) whose attributes hold ``attrs``; a
        ``class_`` value is one class among the element's classes."""
        want_class = attrs.pop("class_", None)
        return [
            n
            for n in self.walk()
            if (not tag or n.tag == tag)
            and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
            and (want_class is None or want_class in n.classes)
        ]

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    @property
    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text for c in self.children]
        return re.sub(r"\s+", " ", " ".join(parts)).strip()


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#document", {})
        self.open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.open[-1].children.append(node)
        if tag not in _VOID:
            self.open.append(node)

    def handle_endtag(self, tag: str) -> None:
        while len(self.open) > 1 and self.open.pop().tag != tag:
            pass

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)


def tree(html: str) -> Node:
    parser = _Tree()
    parser.feed(html)
    return parser.root


def main_of(html: str) -> Node:
    (main,) = tree(html).find("main")
    return main


def primary_buttons(html: str) -> list[Node]:
    return tree(html).find("button", class_="primary")


def assert_one_notice(state: str, html: str) -> None:
    """At most one notice; every alert and every reason inside it, or an error under its
    field; no banner of the old kind (``.reason``) beside it."""
    doc = tree(html)
    notices = doc.find(class_="notice")
    assert len(notices) <= 1, (state, [n.text for n in notices])
    inside = {id(n) for notice in notices for n in [notice, *notice.walk()]}
    fields = {id(n) for f in doc.find(class_="field") for n in f.walk()}
    cards = {id(n) for c in doc.find("li", class_="factor-card") for n in c.walk()}
    for alert in doc.find(role="alert"):
        assert id(alert) in inside | fields, (state, alert.text)
    for reason in (n for n in doc.walk() if "data-reason" in n.attrs):
        # a factor's own hold is said on its card
        assert id(reason) in inside | cards, (state, reason.text)
    assert not doc.find(class_="reason"), state
