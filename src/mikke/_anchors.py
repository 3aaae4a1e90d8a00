"""Heading anchors as the blog's renderer makes them.

``kramdown`` is Jekyll's default (auto ids from the raw heading text, ASCII only,
``section`` when nothing is left); ``github`` keeps Japanese letters.

>>> anchors = Anchors("kramdown")
>>> [anchors.make(h) for h in ["**AIインフラ競争**", "日本の役割", "日本の未来", "AI"]]
['ai', 'section', 'section-1', 'ai-1']
>>> Anchors("github").make("AIインフラ競争の裏側：潜在的リスク")
'aiインフラ競争の裏側潜在的リスク'
"""

from __future__ import annotations

import re

_KRAMDOWN_LEADING = re.compile(r"^[^a-zA-Z]+")
_KRAMDOWN_DROP = re.compile(r"[^a-zA-Z0-9 -]")
_GITHUB_DROP = re.compile(r"[^\w\- ]")
_MARKUP = re.compile(r"[*_`~]")


def kramdown_id(raw: str) -> str:
    """kramdown's ``basic_generate_id`` (``section`` for an empty result)."""
    slug = _KRAMDOWN_DROP.sub("", _KRAMDOWN_LEADING.sub("", raw)).replace(" ", "-").lower()
    return slug or "section"


def github_id(raw: str) -> str:
    """GitHub's heading slug: lower case, punctuation dropped, spaces to hyphens."""
    text = _MARKUP.sub("", raw).strip().lower()
    return _GITHUB_DROP.sub("", text).replace(" ", "-") or "section"


class Anchors:
    """Makes unique anchors for the headings of one document, in order."""

    def __init__(self, scheme: str = "kramdown") -> None:
        self._slug = kramdown_id if scheme == "kramdown" else github_id
        self._used: dict[str, int] = {}

    def make(self, raw_heading: str) -> str:
        """The anchor for the next heading with this raw (Markdown) text."""
        return self.claim(self._slug(raw_heading))

    def claim(self, anchor: str) -> str:
        """Reserve ``anchor`` (an explicit id or a slug), suffixing ``-1``, ``-2`` on repeats."""
        if anchor in self._used:
            self._used[anchor] += 1
            return f"{anchor}-{self._used[anchor]}"
        self._used[anchor] = 0
        return anchor
