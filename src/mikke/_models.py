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
class Explanation:
    """A score broken into its parts, as a tree (like Lucene's ``Explanation``): ``value`` is
    the sum or the product of the ``details``' values, as ``description`` says.

    >>> tree = Explanation(6.0, "product of:", (Explanation(2.0, "a"), Explanation(3.0, "b")))
    >>> print(*tree.lines(), sep=chr(10))
    6.0000 = product of:
      2.0000 = a
      3.0000 = b
    """

    value: float
    description: str
    details: tuple[Explanation, ...] = ()

    def lines(self, depth: int = 0) -> list[str]:
        """The tree as text, one node a line, indented by depth."""
        own = [f"{'  ' * depth}{self.value:.4f} = {self.description}"]
        return own + [line for detail in self.details for line in detail.lines(depth + 1)]

    def to_dict(self) -> dict[str, Any]:
        """The tree as JSON-ready data (Elasticsearch's ``_explanation`` shape)."""
        return {
            "value": self.value,
            "description": self.description,
            "details": [detail.to_dict() for detail in self.details],
        }


@dataclass(frozen=True)
class Hit:
    """One ranked passage; ``kind`` is its passage's kind (text, code...), ``heading_highlights``
    the matched terms in its heading. In a result grouped by post, a hit is its post's best
    passage and ``sections`` its post's best passages of distinct sections (itself first)."""

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
    kind: str = "text"
    heading_highlights: tuple[tuple[int, int], ...] = ()
    sections: tuple[Hit, ...] = ()
    explanation: Explanation | None = None
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
    """What a search returns: the hits of one page plus the total count (of posts when
    ``group`` is ``"post"``, else of passages).

    ``matched`` is ``"some"`` when a short query found no passage holding all of its words and
    its hits hold only some (``matched_words``, as typed; a word cut in parts, only some of
    which matched, is missing, its matched parts are listed); else ``"all"``.
    """

    query: str
    total: int
    took_ms: float
    hits: tuple[Hit, ...]
    explain: dict[str, Any] = field(default_factory=dict)
    group: str = "passage"
    matched: str = "all"
    matched_words: tuple[str, ...] = ()
    missing_words: tuple[str, ...] = ()
    #: The query with a typo corrected (the hits are the corrected query's), or None.
    suggestion: str | None = None
    #: What the query's words also matched: ``{"word", "kind", "terms"}`` each
    #: (kind ``prefix``, ``reading``, ``synonym`` or ``typo``; ``terms`` the indexed words).
    expansions: tuple[dict[str, Any], ...] = ()
