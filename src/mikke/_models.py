"""Frozen data passed between the layers: posts in, hits out.

A ``Post`` is split into ``Section``s at headings and each section into
``Passage``s; a search returns ``Hit``s, each with a ``Snippet`` that is plain
text plus highlight spans (rendering to HTML or a terminal happens elsewhere).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

#: What a fragment keeps unencoded (the rest is percent-encoded, as browsers show it).
_FRAGMENT_SAFE = "!$&'()*+,;=:@/?-._~"


@dataclass(frozen=True)
class Passage:
    """A paragraph-sized piece of a section, in plain text.

    ``kind`` is ``"text"`` or ``"code"``; ``digest`` identifies its normalized text;
    ``fragment`` is the text fragment (``:~:text=…``) that lands on it when its section's
    heading has no id ("" when it has one, or when no fragment is unique in the page).
    """

    text: str
    digest: str
    kind: str = "text"
    fragment: str = ""


@dataclass(frozen=True)
class Section:
    """The text under one heading (``heading`` is empty before the first heading).

    ``anchor`` is the heading's id in the page ("" when it has none).
    """

    heading: str
    anchor: str
    passages: tuple[Passage, ...]


@dataclass(frozen=True)
class Post:
    """One Markdown file of the corpus, parsed."""

    path: str
    title: str
    url: str
    date: dt.date | None
    tags: tuple[str, ...]
    categories: tuple[str, ...]
    excerpt: str
    sections: tuple[Section, ...]
    content_hash: str

    def passages(self) -> list[tuple[Section, Passage]]:
        """Every passage with its section, in document order."""
        return [(section, passage) for section in self.sections for passage in section.passages]


@dataclass(frozen=True)
class Snippet:
    """Plain text with highlight spans as ``(start, end)`` offsets into ``text``."""

    text: str
    highlights: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Hit:
    """One ranked passage."""

    rank: int
    score: float
    path: str
    title: str
    url: str
    date: str
    tags: tuple[str, ...]
    categories: tuple[str, ...]
    heading: str
    anchor: str
    snippet: Snippet
    fragment: str = ""

    @property
    def section_url(self) -> str:
        """Where the passage is: the post URL with its heading's id (``anchor``, percent-encoded
        as a browser shows it), else with the passage's text fragment, else the post URL itself."""
        if self.anchor:
            return f"{self.url}#{quote(self.anchor, safe=_FRAGMENT_SAFE)}"
        return f"{self.url}#{self.fragment}" if self.fragment else self.url


@dataclass(frozen=True)
class SearchResult:
    """What a search returns: the hits of one page plus the total count."""

    query: str
    total: int
    took_ms: float
    hits: tuple[Hit, ...]
    explain: dict[str, Any] = field(default_factory=dict)
