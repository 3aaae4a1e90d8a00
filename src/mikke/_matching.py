"""Run a whoosh query for the top hits and every matching document, cheaply.

Two changes over ``searcher.search(q, limit=n)`` followed by ``Results.docs()``
(which the total needs), each giving the same hits and total (measured in
docs/performance.md):

* Every ``Or`` matches through whoosh's tree of union matchers. Below 5,000
  documents whoosh otherwise pre-reads each ``Or`` into arrays of 2,048 slots,
  several times slower on the many small ``Or`` clauses of a mikke query (each
  word in every field).
* On an index of at most :data:`ONE_PASS_MAX_DOCS` documents, every match is
  scored in one pass that also keeps the document numbers. whoosh would rank with
  block-quality skipping and then run the query a second time for ``docs()``:
  cheaper on a large index, where skipping saves more than the second pass costs,
  about twice as slow on a small one.

>>> from whoosh import index, query
>>> from whoosh.fields import ID, Schema
>>> import tempfile
>>> ix = index.create_in(tempfile.mkdtemp(), Schema(tag=ID))
>>> with ix.writer() as writer:
...     for tag in ["a", "b", "a"]:
...         writer.add_document(tag=tag)
>>> with ix.searcher() as searcher:
...     results = run_query(searcher, query.Or([query.Term("tag", "a")]), limit=1)
...     [docnum for _, docnum in results.top_n], sorted(results.docs())
([0], [0, 2])
"""

from __future__ import annotations

from typing import Any

from whoosh import query as wq
from whoosh.collectors import FilterCollector, TopCollector

#: Largest index (documents, markers included) searched in one pass.
ONE_PASS_MAX_DOCS = 5_000


class _AllMatchesCollector(TopCollector):  # type: ignore[misc]
    """The top ``limit`` documents, and the set of every document scored on the way."""

    def __init__(self, limit: int) -> None:
        # No block skipping and no matcher replacement: every match is visited.
        super().__init__(limit=limit, usequality=False, replace=0)
        self.docset: set[int] = set()

    def prepare(self, top_searcher: Any, q: wq.Query, context: Any) -> None:
        super().prepare(top_searcher, q, context)
        self.docset = set()

    def _collect(self, global_docnum: int, score: float) -> Any:
        self.docset.add(global_docnum)
        return super()._collect(global_docnum, score)

    def all_ids(self) -> set[int]:
        return self.docset


def prefer_union_trees(q: wq.Query) -> wq.Query:
    """Make every ``Or`` in ``q`` use whoosh's union-matcher tree; returns ``q``."""
    if isinstance(q, wq.Or):
        q.matcher_type = wq.Or.DEFAULT_MATCHER
    for child in q.children():
        prefer_union_trees(child)
    return q


def run_query(searcher: Any, q: wq.Query, limit: int, filter_query: wq.Query | None = None) -> Any:
    """``searcher.search(q, limit=limit, filter=filter_query)``, faster (see above)."""
    prefer_union_trees(q)
    if searcher.doc_count_all() > ONE_PASS_MAX_DOCS:
        return searcher.search(q, limit=limit, filter=filter_query and prefer_union_trees(filter_query))
    collector: Any = _AllMatchesCollector(limit)
    if filter_query is not None:
        collector = FilterCollector(collector, allow=prefer_union_trees(filter_query))
    searcher.search_with_collector(q, collector)
    return collector.results()
