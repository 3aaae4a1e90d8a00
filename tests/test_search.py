"""Searching the sample blog: ranking, normalization, compounds, duplicates, filters, highlights."""

from __future__ import annotations

import shutil
from urllib.parse import unquote

import pytest

from conftest import FUTURE_POST, IMPACT_POST, copy_sample
from mikke import Config, QueryError, Searcher, update_index


def highlighted(hit) -> list[str]:  # type: ignore[no-untyped-def]
    return [hit.snippet.text[a:b] for a, b in hit.snippet.highlights]


def test_liquid_cooling_finds_the_post_that_mentions_it(searcher: Searcher) -> None:
    result = searcher.search("液体冷却")
    assert result.hits and result.total == len(result.hits)
    for hit in result.hits:
        assert hit.path == FUTURE_POST
        assert "液体冷却" in "".join(highlighted(hit))
        assert unquote(hit.section_url) == unquote(f"{hit.url}#{hit.anchor or hit.fragment}")  # an id, else the text


@pytest.mark.parametrize("query", ["サーバ", "サーバー"])
def test_spelling_variants_find_the_same_passages(searcher: Searcher, query: str) -> None:
    hits = searcher.search(query).hits
    assert hits and all("サーバー" in "".join(highlighted(h)) for h in hits)


def test_width_and_case_variants_give_identical_results(searcher: Searcher) -> None:
    texts = {q: [h.snippet.text for h in searcher.search(q).hits] for q in ["ＧＰＵ", "GPU", "gpu"]}
    assert texts["ＧＰＵ"] and texts["ＧＰＵ"] == texts["GPU"] == texts["gpu"]


def test_part_of_a_compound_matches_inside_it(searcher: Searcher) -> None:
    hits = searcher.search("センター").hits
    assert hits
    first = hits[0]
    start, end = first.snippet.highlights[0]
    assert first.snippet.text[start:end] == "センター"
    assert first.snippet.text[start - 3 : end] == "データセンター"


def test_whole_compound_outranks_its_parts_apart(make_corpus) -> None:  # type: ignore[no-untyped-def]
    config: Config = make_corpus(
        {
            "_posts/2025-01-01-parts.md": "---\ntitle: 記録\n---\n\nこのデータは市民センターで集めた。\n",
            "_posts/2025-01-02-whole.md": "---\ntitle: 記録\n---\n\n新しいデータセンターが完成した。\n",
        }
    )
    update_index(config)
    hits = Searcher(config).search("データセンター").hits
    assert [h.path for h in hits] == ["_posts/2025-01-02-whole.md", "_posts/2025-01-01-parts.md"]


def test_title_and_heading_matches_outrank_body_only_matches(make_corpus) -> None:  # type: ignore[no-untyped-def]
    body = "液浸冷却の話は後で触れます。" + "電力と設備の一般的な説明が続きます。" * 3
    config: Config = make_corpus(
        {
            "_posts/2025-01-01-body.md": f"---\ntitle: 設備の話\n---\n\n{body}\n",
            "_posts/2025-01-02-title.md": "---\ntitle: 液浸冷却の基礎\n---\n\n電力と設備の一般的な解説です。\n",
            "_posts/2025-01-03-heading.md": (
                "---\ntitle: 設備の記録\n---\n\n## 液浸冷却とは\n\n電力と設備の基本的な説明です。\n"
            ),
        }
    )
    update_index(config)
    paths = [h.path for h in Searcher(config).search("液浸冷却").hits]
    assert paths == ["_posts/2025-01-02-title.md", "_posts/2025-01-03-heading.md", "_posts/2025-01-01-body.md"]


@pytest.mark.parametrize("query", ["AIインフラ", "データセンター", "GPU", "Nvidia", "投資"])
def test_no_two_hits_share_snippet_text(searcher: Searcher, query: str) -> None:
    snippets = [h.snippet.text for h in searcher.search(query, limit=100).hits]
    assert len(snippets) > 3 and len(snippets) == len(set(snippets))


def test_identical_passages_in_two_posts_collapse(make_corpus) -> None:  # type: ignore[no-untyped-def]
    shared = "量子コンピューターの冷却には希釈冷凍機が使われる。"
    config: Config = make_corpus(
        {
            "_posts/2025-01-01-a.md": f"---\ntitle: 一\n---\n\n{shared}\n",
            "_posts/2025-01-02-b.md": f"---\ntitle: 二\n---\n\n{shared}\n",
        }
    )
    update_index(config)
    result = Searcher(config).search("希釈冷凍機")
    assert len(result.hits) == 1 and result.total == 1


def test_per_post_keeps_the_best_passage_of_each_post(searcher: Searcher) -> None:
    hits = searcher.search("AIインフラ", per_post=True).hits
    assert sorted(h.path for h in hits) == sorted([FUTURE_POST, IMPACT_POST])


def test_phrase_exclusion_and_or(searcher: Searcher) -> None:
    phrase = searcher.search('"閉ループ 直接"').hits
    assert phrase and all("閉ループ直接" in h.snippet.text for h in phrase)
    excluded = searcher.search("データセンター -冷却", limit=100).hits
    assert excluded and all("冷却" not in h.snippet.text for h in excluded)
    either = searcher.search("液浸 OR 液体冷却", limit=100).hits
    texts = [h.snippet.text for h in either]
    assert any("液浸" in t for t in texts) and any("液体冷却" in t for t in texts)


def test_natural_question_finds_the_answering_passage(searcher: Searcher) -> None:
    hit = searcher.search("Nscaleに出資したノルウェーの会社はどこ？").hits[0]
    assert "Aker ASA" in hit.snippet.text


def test_paging_walks_through_distinct_hits(searcher: Searcher) -> None:
    everything = [h.snippet.text for h in searcher.search("AI", limit=20).hits]
    pages = [h.snippet.text for offset in (0, 5, 10, 15) for h in searcher.search("AI", limit=5, offset=offset).hits]
    assert pages == everything
    assert [h.rank for h in searcher.search("AI", limit=5, offset=5).hits] == [6, 7, 8, 9, 10]


def test_filters_by_tag_category_and_date(searcher: Searcher) -> None:
    assert searcher.search("GPU", tags=["チップ"]).hits
    assert searcher.search("GPU", categories=["投資分析"]).hits
    assert not searcher.search("GPU", tags=["料理"]).hits
    assert searcher.search("GPU", since="2025-09-26", until="2025-09-26").hits
    assert not searcher.search("GPU", since="2025-09-27").hits


@pytest.mark.parametrize(
    ("query", "options", "message"),
    [
        ("", {}, "empty query"),
        ("   ", {}, "empty query"),
        ("これは", {}, "only stopwords"),
        ("GPU", {"since": "2025-13-40"}, "must be a date"),
        ("GPU", {"limit": 0}, "limit must be"),
        ("x" * 501, {}, "too long"),
    ],
)
def test_bad_queries_raise_query_error(searcher: Searcher, query: str, options: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(QueryError, match=message):
        searcher.search(query, **options)


def test_unpublished_posts_are_not_found_until_published(make_corpus) -> None:  # type: ignore[no-untyped-def]
    draft = "---\ntitle: 下書き\npublished: {}\n---\n\n量子アニーリングの試作記事です。\n"
    config: Config = make_corpus({"_posts/2025-01-01-draft.md": draft.format("false")})
    update_index(config)
    assert Searcher(config).search("量子アニーリング").hits == ()
    (config.corpus / "_posts/2025-01-01-draft.md").write_text(draft.format("true"), encoding="utf-8")
    report = update_index(config)
    assert report.updated == 1
    assert [h.title for h in Searcher(config).search("量子アニーリング").hits] == ["下書き"]


def test_equal_scores_rank_alike_however_the_index_numbered_the_documents(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A copy of a post under another path scores exactly as its original; which comes first
    # must not depend on which was indexed first (a parallel build numbers documents in any order).
    original = (copy_sample(tmp_path / "sample") / FUTURE_POST).read_text(encoding="utf-8")
    copy = "_posts/2025-09-26-nscale-copy.md"
    results = []
    for first in ("originals", "copy"):
        corpus = tmp_path / f"{first}-first"
        config = Config(corpus=corpus, index=tmp_path / f"{first}-index")
        if first == "originals":
            copy_sample(corpus)
        else:
            (corpus / "_posts").mkdir(parents=True)
            (corpus / copy).write_text(original, encoding="utf-8")
        update_index(config)
        if first == "originals":
            (corpus / copy).write_text(original, encoding="utf-8")
        else:
            shutil.rmtree(corpus / "_posts")
            copy_sample(corpus)
            (corpus / copy).write_text(original, encoding="utf-8")
        update_index(config)
        searcher = Searcher(config)
        results.append(
            [
                [(h.path, h.anchor, h.score) for h in searcher.search(query, per_post=per_post, limit=20).hits]
                for query in ("液体冷却", "データセンター", "英国のAIインフラ企業はどこから資金を調達したか")
                for per_post in (False, True)
            ]
        )
        searcher.close()
    assert all(results[0]) and {path for path, _, _ in results[0][1]} >= {FUTURE_POST, copy}
    assert results[0] == results[1]
