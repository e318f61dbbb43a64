"""Read the Segment tab's timeline strip back: its rows, ticks, bars and cursor, with their attributes."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class Marks(HTMLParser):
    """The strip's elements: each row's ticks and bars, and the cursor, with their attributes."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []  # (tag, attributes) in document order
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))

    def of_class(self, name: str) -> list[dict[str, str]]:
        return [attrs for _, attrs in self.elements if name in attrs.get("class", "").split()]

    def rows(self) -> dict[int, dict[str, list[dict[str, str]]]]:
        """Per object id, the ticks and bars of its row."""
        rows: dict[int, dict[str, list[dict[str, str]]]] = {}
        current = None
        for _, attrs in self.elements:
            classes = attrs.get("class", "").split()
            if "tl-row" in classes:
                current = rows.setdefault(
                    int(attrs["data-object"]), {"ticks": [], "bars": [], "row": [attrs]}
                )
            elif current is not None and "tl-tick" in classes:
                current["ticks"].append(attrs)
            elif current is not None and "tl-bar" in classes:
                current["bars"].append(attrs)
        return rows


def style_percent(attrs: dict[str, str], prop: str) -> float:
    """The `prop` of an element's inline style, in percent."""
    match = re.search(rf"(?:^|;)\s*{prop}:\s*([-\d.]+)%", attrs["style"])
    assert match, attrs["style"]
    return float(match.group(1))
