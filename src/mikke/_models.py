"""Frozen data passed between the layers: posts in, hits out.

A ``Post`` is split into ``Section``s at headings and each section into
``Passage``s; a search returns ``Hit``s, each with a ``Snippet`` that is plain
text plus highlight spans (rendering to HTML or a terminal happens elsewhere).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Passage:
    """A paragraph-sized piece of a section, in plain text.

    ``kind`` is ``"text"`` or ``"code"``; ``digest`` identifies its normalized text.
    """

    text: str
    digest: str
    kind: str = "text"


@dataclass(frozen=True)
class Section:
    """The text under one heading (``heading`` is empty before the first heading)."""

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

    @property
    def section_url(self) -> str:
        """The post URL with the section's anchor (the post URL itself before any heading)."""
        return f"{self.url}#{self.anchor}" if self.anchor else self.url


@dataclass(frozen=True)
class SearchResult:
    """What a search returns: the hits of one page plus the total count."""

    query: str
    total: int
    took_ms: float
    hits: tuple[Hit, ...]
    explain: dict[str, Any] = field(default_factory=dict)
    #: The query with a typo corrected (the hits are the corrected query's), or None.
    suggestion: str | None = None
    #: What the query's words also matched: ``{"word", "kind", "terms"}`` each
    #: (kind ``prefix``, ``reading``, ``synonym`` or ``typo``; ``terms`` the indexed words).
    expansions: tuple[dict[str, Any], ...] = ()
