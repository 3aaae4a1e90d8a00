"""run_query gives whoosh's own hits and matches, on the one-pass and the large-index path."""

from __future__ import annotations

import pytest
from whoosh import scoring

from mikke import Config, _matching
from mikke._indexing import open_index
from mikke._query import build_query, parse_query
from mikke._search import _filter

QUERIES = ["液体冷却", "データセンター", "GPU サーバ", "資金 OR 調達", "AI -冷却", '"液体 冷却"']


@pytest.mark.parametrize("one_pass_max_docs", [_matching.ONE_PASS_MAX_DOCS, 0])
def test_same_hits_and_matches_as_whoosh(sample_config: Config, one_pass_max_docs: int, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(_matching, "ONE_PASS_MAX_DOCS", one_pass_max_docs)
    with open_index(sample_config.index).searcher(weighting=scoring.BM25F()) as searcher:
        for text in QUERIES:
            for strict in (True, False):
                for filter_query in (None, _filter(["AI"], [], None, None)):
                    q = build_query(parse_query(text), sample_config.boosts, strict=strict)
                    expected = searcher.search(q, limit=1000, filter=filter_query)
                    got = _matching.run_query(searcher, q, 1000, filter_query)
                    # The same documents and scores (summed in another order: equal up to rounding).
                    assert {d: pytest.approx(s) for s, d in got.top_n} == {d: s for s, d in expected.top_n}
                    assert set(got.docs()) == set(expected.docs())
        assert all(len(searcher.search(build_query(parse_query(t), sample_config.boosts), limit=5)) for t in QUERIES)
