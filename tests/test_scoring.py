"""numpy scoring over whoosh's postings: whoosh's own BM25F numbers, deletions, trigram re-ranking."""

from __future__ import annotations

import numpy as np
import pytest
from whoosh import query as wq
from whoosh import scoring
from whoosh.matching import ListMatcher
from whoosh.searching import Searcher as WhooshSearcher

from mikke import Config, Searcher, update_index
from mikke._query import parse_query
from mikke._scoring import _read_matcher, by_trigrams, trigrams

TERMS = [("body", "冷却"), ("body", "gpu"), ("title", "nscale"), ("heading", "ai"), ("body", "データ"), ("tags", "ai")]


def whoosh_scores(whoosh_searcher, field: str, term: str) -> dict[int, float]:  # type: ignore[no-untyped-def]
    """docnum -> whoosh's own BM25F score for one term."""
    scorer = WhooshSearcher(whoosh_searcher.reader(), weighting=scoring.BM25F(), closereader=False)
    return {hit.docnum: hit.score for hit in scorer.search(wq.Term(field, term), limit=None)}


@pytest.mark.parametrize(("field", "term"), TERMS)
def test_term_scores_are_whooshs_bm25f(searcher: Searcher, field: str, term: str) -> None:
    arrays = searcher.current()
    ids, scores = arrays.term_scores(field, term)
    expected = whoosh_scores(arrays.searcher, field, term)
    assert len(expected) > 0
    assert dict(zip(ids.tolist(), scores.tolist(), strict=True)) == pytest.approx(expected, rel=1e-6)


def test_reindexed_post_shows_only_its_new_passages(make_corpus) -> None:  # type: ignore[no-untyped-def]
    post = "---\ntitle: 冷却\n---\n\n{}\n"
    config: Config = make_corpus(
        {"_posts/2025-01-01-a.md": post.format("液体冷却の試験です。"), "_posts/b.md": "無関係"}
    )
    update_index(config)
    (config.corpus / "_posts/2025-01-01-a.md").write_text(post.format("空冷の試験です。"), encoding="utf-8")
    update_index(config)
    arrays = Searcher(config).current()
    assert len(arrays._leaves) == 2 and not arrays.live.all()  # a deletion in the old segment
    ids, scores = arrays.term_scores("body", "試験")
    live = arrays.live[ids]
    assert live.sum() == 1 and len(ids) == 2  # the old passage is still in the postings, not live
    assert dict(zip(ids[live].tolist(), scores[live].tolist(), strict=True)) == pytest.approx(
        whoosh_scores(arrays.searcher, "body", "試験")
    )
    assert [h.snippet.text for h in Searcher(config).search("試験").hits] == ["空冷の試験です。"]


def test_matchers_without_blocks_are_read_one_posting_at_a_time() -> None:
    ids, frequencies = _read_matcher(ListMatcher([3, 8], [2.0, 1.0]))
    assert ids.tolist() == [3, 8] and frequencies.tolist() == [2.0, 1.0]


def test_trigrams_favour_the_passage_holding_the_question_as_written(make_corpus) -> None:  # type: ignore[no-untyped-def]
    config: Config = make_corpus(
        {
            "_posts/2025-01-01-a.md": "---\ntitle: 雨\n---\n\n梅雨は長く続く。期間は地方で異なる。\n",
            "_posts/2025-01-02-b.md": "---\ntitle: 雨\n---\n\n梅雨の期間は一か月ほど続く。\n",
        }
    )
    update_index(config)
    searcher = Searcher(config)
    arrays = searcher.current()
    _, _, matched = searcher.matches(parse_query("梅雨の期間はどのくらい"))
    assert matched.sum() == 2
    scores = np.ones(arrays.size)
    reranked = by_trigrams(arrays, ["梅雨の期間はどのくらい"], scores, matched)
    best = int(np.argmax(reranked))
    assert "梅雨の期間は" in arrays.shown_text(best)
    assert (reranked >= scores).all()
    assert searcher.search("梅雨の期間はどのくらい").hits[0].path.endswith("b.md")


def test_trigrams_of_short_runs_are_kept_whole() -> None:
    assert trigrams(["ai", "液体冷却"]) == {"ai", "液体冷", "体冷却"}


def test_an_index_of_an_empty_corpus_finds_nothing(make_corpus) -> None:  # type: ignore[no-untyped-def]
    config: Config = make_corpus({})
    update_index(config)
    searcher = Searcher(config)
    for query in ["液体冷却", '"液体 冷却" -GPU', "梅雨の期間はどのくらいですか"]:
        result = searcher.search(query, per_post=True)
        assert (result.total, result.hits) == (0, ())
