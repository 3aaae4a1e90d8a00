"""Results as JSON-ready data: the shape shared by ``mikke search --json`` and the HTTP API.

>>> from mikke import SearchResult
>>> result_to_dict(SearchResult("gpu", 0, 1.5, ()))  # doctest: +NORMALIZE_WHITESPACE
{'query': 'gpu', 'total': 0, 'took_ms': 1.5, 'group': 'passage', 'matched': 'all',
 'matched_words': [], 'missing_words': [], 'suggestion': None, 'expansions': [], 'hits': []}
"""

from __future__ import annotations

from typing import Any

from ._models import Hit, SearchResult, Snippet
from ._snippets import to_html


def result_to_dict(result: SearchResult) -> dict[str, Any]:
    """The documented ``--json`` shape; ``snippet.html`` and ``heading_html`` are escaped text
    with ``<mark>`` added after. Grouped by post, each hit is a post with its best ``sections``;
    else each hit is a passage with its ``section``. ``explain`` is there when it was asked for."""
    data: dict[str, Any] = {
        "query": result.query,
        "total": result.total,
        "took_ms": result.took_ms,
        "group": result.group,
        "matched": result.matched,
        "matched_words": list(result.matched_words),
        "missing_words": list(result.missing_words),
        "suggestion": result.suggestion,
        "expansions": [dict(expansion, terms=list(expansion["terms"])) for expansion in result.expansions],
        "hits": [_post_hit(hit) if result.group == "post" else _passage_hit(hit) for hit in result.hits],
    }
    if any(hit.explanation for hit in result.hits):
        data["explain"] = result.explain
    return data


def _post(hit: Hit) -> dict[str, Any]:
    return {
        "path": hit.path,
        "title": hit.title,
        "url": hit.url,
        "date": hit.date,
        "tags": list(hit.tags),
        "categories": list(hit.categories),
    }


def _snippet(snippet: Snippet) -> dict[str, Any]:
    return {
        "text": snippet.text,
        "highlights": [list(span) for span in snippet.highlights],
        "html": to_html(snippet),
    }


def _heading(hit: Hit) -> dict[str, Any]:
    return {
        "heading": hit.heading,
        "heading_html": to_html(Snippet(hit.heading, hit.heading_highlights)),
        "heading_highlights": [list(span) for span in hit.heading_highlights],
        "anchor": hit.anchor,
        "url": hit.section_url,
    }


def _explained(data: dict[str, Any], hit: Hit) -> dict[str, Any]:
    if hit.explanation is not None:
        data["explain"] = hit.explanation.to_dict()
    return data


def _passage_hit(hit: Hit) -> dict[str, Any]:
    data = {
        "rank": hit.rank,
        "score": hit.score,
        "kind": hit.kind,
        "post": _post(hit),
        "section": _heading(hit),
        "snippet": _snippet(hit.snippet),
    }
    return _explained(data, hit)


def _post_hit(hit: Hit) -> dict[str, Any]:
    sections = [
        _explained({**_heading(s), "kind": s.kind, "score": s.score, "snippet": _snippet(s.snippet)}, s)
        for s in hit.sections
    ]
    return _explained({"rank": hit.rank, "score": hit.score, "post": _post(hit), "sections": sections}, hit)
