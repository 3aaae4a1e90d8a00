"""Facets: the tags and categories of the posts a query matches, with counts.

A post counts once however many of its passages match. The posts are those a
search returns: every post holding any word of the query (液体冷却: 液体 or 冷却).

>>> import tempfile, pathlib
>>> from mikke import Config, Searcher, update_index
>>> config = Config(index=pathlib.Path(tempfile.mkdtemp()))
>>> _ = update_index(config)
>>> found = facets(Searcher(config), "液体冷却")
>>> found.posts, found.tags[0]
(2, ('AI', 2))
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._query import ParsedQuery, parse_query
from ._search import Searcher


@dataclass(frozen=True)
class Facets:
    """``tags`` and ``categories`` as ``(name, posts)`` pairs, most posts first."""

    query: str
    posts: int
    tags: tuple[tuple[str, int], ...]
    categories: tuple[tuple[str, int], ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``GET /api/facets``."""
        return {
            "query": self.query,
            "posts": self.posts,
            "tags": [{"name": name, "count": count} for name, count in self.tags],
            "categories": [{"name": name, "count": count} for name, count in self.categories],
        }


def _ranked(counter: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def facets(searcher: Searcher, query: str | ParsedQuery) -> Facets:
    """Count the tags and categories of the matching posts. Raises ``QueryError`` for bad input."""
    parsed = query if isinstance(query, ParsedQuery) else parse_query(query)
    parsed, _ = searcher.understand(parsed)
    arrays, docnums, _ = searcher.matches(parsed, rank=False)
    _, first = np.unique(arrays.post_of[docnums], return_index=True)
    tags: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    for docnum in docnums[first]:
        post = arrays.searcher.stored_fields(int(docnum))["post"]
        tags.update(set(post["tags"]))
        categories.update(set(post["categories"]))
    return Facets(parsed.text, len(first), _ranked(tags), _ranked(categories))
