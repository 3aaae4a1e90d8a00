"""Results as JSON-ready data: the shape shared by ``mikke search --json`` and the HTTP API.

>>> from mikke import SearchResult
>>> result_to_dict(SearchResult("gpu", 0, 1.5, ()))
{'query': 'gpu', 'total': 0, 'took_ms': 1.5, 'suggestion': None, 'expansions': [], 'hits': []}
"""

from __future__ import annotations

from typing import Any

from ._models import SearchResult
from ._snippets import to_html


def result_to_dict(result: SearchResult) -> dict[str, Any]:
    """The documented ``--json`` shape; ``snippet.html`` is escaped text with ``<mark>`` added after."""
    return {
        "query": result.query,
        "total": result.total,
        "took_ms": result.took_ms,
        "suggestion": result.suggestion,
        "expansions": [dict(expansion, terms=list(expansion["terms"])) for expansion in result.expansions],
        "hits": [
            {
                "rank": hit.rank,
                "score": hit.score,
                "post": {
                    "path": hit.path,
                    "title": hit.title,
                    "url": hit.url,
                    "date": hit.date,
                    "tags": list(hit.tags),
                    "categories": list(hit.categories),
                },
                "section": {"heading": hit.heading, "anchor": hit.anchor, "url": hit.section_url},
                "snippet": {
                    "text": hit.snippet.text,
                    "highlights": [list(span) for span in hit.snippet.highlights],
                    "html": to_html(hit.snippet),
                },
            }
            for hit in result.hits
        ],
    }
