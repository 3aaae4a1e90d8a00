"""Searching the sample blog: ranking, normalization, compounds, duplicates, filters, highlights."""

from __future__ import annotations

import dataclasses
import math
import shutil
from urllib.parse import unquote

import pytest

from conftest import FUTURE_POST, IMPACT_POST, copy_sample
from mikke import (
    Config,
    EmptyQueryError,
    Explanation,
    QueryError,
    QueryTooLongError,
    Searcher,
    SearchRequest,
    _ranking,
    _search,
    update_index,
)
from mikke import _snippets as snippets
from mikke._query import parse_query


def highlighted(hit) -> list[str]:  # type: ignore[no-untyped-def]
    return [hit.snippet.text[a:b] for a, b in hit.snippet.highlights]


def test_liquid_cooling_finds_the_post_that_mentions_it(searcher: Searcher) -> None:
    result = searcher.search("液体冷却")
    # Passages holding only 冷却 match too, after every passage holding both words.
    holding = [hit for hit in result.hits if "液体冷却" in "".join(highlighted(hit))]
    assert holding and result.hits[: len(holding)] == tuple(holding) and result.total > len(holding)
    for hit in holding:
        assert hit.path == FUTURE_POST
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


# --- one request type ------------------------------------------------------------------


def test_a_request_and_its_keywords_give_the_same_search(searcher: Searcher) -> None:
    by_keywords = searcher.search("GPU", limit=3, offset=1, tags=["AI"])
    by_request = searcher.search(SearchRequest("GPU", limit=3, offset=1, tags=("AI",)))
    assert [h.snippet for h in by_keywords.hits] == [h.snippet for h in by_request.hits]
    assert by_keywords.hits and by_keywords.total == by_request.total


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"offset": 5000}, "offset must be a whole number from 0 to 1000, not '5000'"),
        ({"offset": -1}, "offset must be a whole number from 0 to 1000, not '-1'"),
        ({"limit": 101}, "limit must be a whole number from 1 to 100, not '101'"),
        ({"group": "posts"}, "group must be one of passage, post, not 'posts'"),
        ({"tags": [""]}, "each tag must be 1 to 100 characters"),
        ({"since": "2025-10-01", "until": "2025-09-01"}, "since 2025-10-01 is after until 2025-09-01"),
    ],
)
def test_a_request_checks_its_bounds_on_creation(options: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(QueryError) as raised:
        SearchRequest("GPU", **options)
    assert str(raised.value) == message and raised.value.code == "bad_parameter"


@pytest.mark.parametrize(
    ("query", "error", "code"),
    [
        ("", EmptyQueryError, "empty_query"),
        ("の", EmptyQueryError, "empty_query"),
        ("x" * 501, QueryTooLongError, "query_too_long"),
    ],
)
def test_query_errors_carry_their_code(searcher: Searcher, query: str, error: type, code: str) -> None:
    with pytest.raises(error) as raised:
        searcher.search(query)
    assert raised.value.code == code


# --- grouped by post -------------------------------------------------------------------


@pytest.mark.parametrize("query", ["データセンター", "AI", "液体冷却", "Nscaleに出資したノルウェーの会社はどこ？"])
def test_grouped_results_list_each_post_once_with_its_best_sections(searcher: Searcher, query: str) -> None:
    grouped = searcher.search(query, group="post", limit=20)
    flat = searcher.search(query, limit=100)
    per_post = searcher.search(query, per_post=True, limit=20)
    assert grouped.group == "post" and grouped.hits
    assert grouped.total == len({h.path for h in flat.hits}) == per_post.total  # total counts posts
    assert [h.path for h in grouped.hits] == [h.path for h in per_post.hits]
    assert [h.rank for h in grouped.hits] == list(range(1, len(grouped.hits) + 1))
    for hit in grouped.hits:
        assert 1 <= len(hit.sections) <= 3
        assert hit.sections[0].snippet == hit.snippet and hit.sections[0].score == hit.score
        assert all(s.path == hit.path for s in hit.sections)
        places = [(s.heading, s.anchor) for s in hit.sections]
        assert len(set(places)) == len(places)  # distinct sections
        assert [s.score for s in hit.sections] == sorted((s.score for s in hit.sections), reverse=True)
        # The sections are the post's best passages of distinct sections, in the flat ranking's order.
        mine = [h for h in flat.hits if h.path == hit.path]
        firsts = sorted({(h.heading, h.anchor): h for h in reversed(mine)}.values(), key=lambda h: h.rank)
        assert [s.section_url for s in hit.sections] == [h.section_url for h in firsts][:3]


def test_a_post_with_many_matching_sections_shows_three(searcher: Searcher) -> None:
    hits = searcher.search("AI", group="post").hits
    assert max(len(h.sections) for h in hits) == 3


# --- matched all / some -----------------------------------------------------------------


def test_a_word_found_only_through_a_part_is_missing(searcher: Searcher) -> None:
    # ブロックチェーン is ブロック + チェーン; the sample blog has only サプライチェーン.
    result = searcher.search("ブロックチェーン")
    assert result.hits and result.matched == "some"
    assert result.missing_words == ("ブロックチェーン",) and result.matched_words == ("チェーン",)
    assert all("サプライチェーン" in h.snippet.text for h in result.hits)


def test_a_missing_word_beside_a_matched_one(searcher: Searcher) -> None:
    result = searcher.search("冷却 ブロックチェーン")
    assert result.hits and result.matched == "some"
    assert result.matched_words == ("冷却", "チェーン") and result.missing_words == ("ブロックチェーン",)
    # A longer query (more than STRICT_MAX_WORDS words) ranks by coverage and is not labelled.
    assert searcher.search("液体冷却 ブロックチェーン").matched == "all"


@pytest.mark.parametrize(
    "query", ["液体冷却", "データセンター 冷却", "サプライチェーン", "Nscaleに出資したノルウェーの会社はどこ？"]
)
def test_a_query_whose_hits_hold_every_word_matched_all(searcher: Searcher, query: str) -> None:
    result = searcher.search(query)
    assert result.hits and result.matched == "all" and result.missing_words == ()


# --- what a hit carries ----------------------------------------------------------------


def test_a_heading_match_is_highlighted_in_the_heading(searcher: Searcher, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_analysis(text: str) -> None:
        raise AssertionError(f"a search analysed a heading: {text[:20]!r}")

    monkeypatch.setattr(snippets, "_term_offsets", no_analysis)  # the index holds the headings' offsets
    hits = searcher.search("スキル").hits
    with_heading = [h for h in hits if "スキル" in h.heading]
    assert with_heading
    for hit in with_heading:
        assert "スキル" in [hit.heading[a:b] for a, b in hit.heading_highlights]
    assert all(h.heading_highlights == () for h in hits if "スキル" not in h.heading)


def test_each_hit_carries_its_passage_kind(make_corpus) -> None:  # type: ignore[no-untyped-def]
    post = (
        "---\ntitle: 設定\n---\n\n## 手順\n\n設定ファイルを書きます。\n\n```toml\n[server]\nport = 8080 # 設定\n```\n"
    )
    config: Config = make_corpus({"_posts/2025-01-01-setup.md": post})
    update_index(config)
    kinds = {h.snippet.text: h.kind for h in Searcher(config).search("設定").hits}
    assert kinds == {"設定ファイルを書きます。": "text", "[server] port = 8080 # 設定": "code"}


# --- explain ---------------------------------------------------------------------------


def sums_up(node: Explanation) -> None:
    """Every node's value is the sum or product of its details', as it says."""
    if node.description.endswith("sum of:"):
        assert node.value == pytest.approx(sum(d.value for d in node.details), rel=1e-9)
    elif node.description.endswith("product of:"):
        assert node.value == pytest.approx(math.prod(d.value for d in node.details), rel=1e-9)
    else:
        assert not node.details
    for detail in node.details:
        sums_up(detail)


@pytest.mark.parametrize(
    "query",
    [
        "液体冷却",
        "データセンター",
        "ブロックチェーン",
        "Nscaleに出資したノルウェーの会社はどこ？",
        '"閉ループ 直接" OR 液浸',
    ],
)
def test_the_explanation_of_a_hit_multiplies_to_its_score(searcher: Searcher, query: str) -> None:
    for group in ("passage", "post"):
        result = searcher.search(query, explain=True, limit=10, group=group)
        assert result.hits
        for hit in [s for h in result.hits for s in (h, *h.sections)]:
            tree = hit.explanation
            assert tree is not None and round(tree.value, 4) == pytest.approx(hit.score, abs=1e-4)
            sums_up(tree)
            bm25f, coverage, trigrams, sentences, pairs = tree.details
            assert bm25f.description.startswith("BM25F") and bm25f.value > 0
            assert coverage.description.startswith("coverage")
            assert trigrams.description.startswith("trigram") and sentences.description.startswith("sentence")
            assert pairs.description.startswith("pairs")


def test_the_explanation_names_fields_and_compound_parts(searcher: Searcher) -> None:
    hit = searcher.search("データセンター", explain=True).hits[0]
    lines = "\n".join(hit.explanation.lines()) if hit.explanation else ""
    assert "body:データセンター" in lines and "body:データ (part)" in lines and "body:センター (part)" in lines
    relaxed = searcher.search("ブロックチェーン", explain=True).hits[0].explanation
    assert relaxed is not None and relaxed.details[0].description.startswith("BM25F")
    assert relaxed.details[1].description.startswith("coverage") and relaxed.details[1].value < 1  # a partial match


def test_the_explanation_says_which_hits_a_stage_read_even_where_it_changed_nothing(searcher: Searcher) -> None:
    # One query word has no neighbour: the pairs stage reads the best 10 and multiplies each by 1.
    hits = searcher.search("冷却", explain=True, limit=30).hits
    pairs = [hit.explanation.details[4] for hit in hits if hit.explanation]
    assert len(pairs) > 10 and all(node.value == 1 for node in pairs)
    read = [node.description.endswith("over the best 10)") for node in pairs]
    assert read == [True] * 10 + [False] * (len(pairs) - 10)
    assert all(node.description.endswith(": not among them)") for node in pairs[10:])


def test_no_explanation_unless_asked(searcher: Searcher) -> None:
    assert all(h.explanation is None for h in searcher.search("液体冷却").hits)


@pytest.mark.parametrize("question", ["データセンターの液体冷却", "AIインフラ企業の資金調達", "gpu"])
def test_the_best_among_those_ranked_above_the_rest_are_the_best_of_every_match(
    searcher: Searcher, question: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stages = [
        dataclasses.replace(stage, depth=depth) for stage, depth in zip(_ranking.STAGES, (None, 16, 3, 3), strict=True)
    ]
    monkeypatch.setattr(_ranking, "STAGES", tuple(stages))
    arrays = searcher.current()
    query, candidates, scores = searcher._matches(arrays, parse_query(question), None)
    (above,) = query.above
    assert above.size == 16 < candidates.size
    for keys in (arrays.passage_of, arrays.post_of):
        for need in (1, 3, 4, 10):  # 12 to 30 fetched: among those above, or past them (every match)
            expected = _search._best(arrays, candidates, scores, keys, need)
            assert _search._best(arrays, candidates, scores, keys, need, above) == expected
