"""numpy scoring over whoosh's postings: whoosh's own BM25F numbers, scores over the query's
documents against a whole-index reference (deletions, two segments), trigram re-ranking."""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from whoosh import query as wq
from whoosh import scoring
from whoosh.searching import Searcher as WhooshSearcher

from conftest import FUTURE_POST, copy_sample
from mikke import Config, Searcher, _indexing, _ranking, _scoring, update_index
from mikke._analysis import analyze, fold
from mikke._query import Clause, Concept, Expansion, parse_query
from mikke._ranking import (
    Query,
    answer_pattern,
    by_coverage,
    by_pairs,
    by_sentences,
    by_trigrams,
    pair_shares,
    rerank,
    sentence_grams,
    sentence_share,
    together,
    trigrams,
    word_forms,
    word_trigrams,
)
from mikke._schema import SEARCH_FIELDS
from mikke._scoring import COVERAGE_IDF_POWER, PARTS_WEIGHT, QueryScorer, best, held_in, word_weight
from mikke._snippets import SENTENCE_END, sentence_ends, term_offsets

TERMS = [("body", "冷却"), ("body", "gpu"), ("title", "nscale"), ("heading", "ai"), ("body", "データ"), ("tags", "ai")]


def whoosh_scores(whoosh_searcher, field: str, term: str) -> dict[int, float]:  # type: ignore[no-untyped-def]
    """docnum -> whoosh's own BM25F score for one term."""
    scorer = WhooshSearcher(
        whoosh_searcher.reader(), weighting=scoring.BM25F(B=_scoring.B, K1=_scoring.K1), closereader=False
    )
    return {hit.docnum: hit.score for hit in scorer.search(wq.Term(field, term), limit=None)}


@pytest.mark.parametrize(("field", "term"), TERMS)
def test_term_scores_are_whooshs_bm25f(searcher: Searcher, field: str, term: str) -> None:
    arrays = searcher.current()
    ids, scores = arrays.term_scores(field, term)
    expected = whoosh_scores(arrays.searcher, field, term)
    assert len(expected) > 0
    assert dict(zip(ids.tolist(), scores.tolist(), strict=True)) == pytest.approx(expected, rel=1e-6)


def test_the_terms_a_field_does_not_hold_score_nowhere_as_in_whoosh(searcher: Searcher) -> None:
    arrays = searcher.current()
    terms = [*list(arrays.vocabulary())[::97], "存在しない語", "冷却"]  # a term absent everywhere is not read
    for field in SEARCH_FIELDS:
        for term in terms:
            assert set(arrays.term_scores(field, term)[0].tolist()) == set(whoosh_scores(arrays.searcher, field, term))


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


def two_posts(make_corpus, title: str, first: str, second: str) -> Searcher:  # type: ignore[no-untyped-def]
    """A searcher over two indexed posts of one title, a.md holding ``first`` and b.md ``second``."""
    config: Config = make_corpus(
        {
            "_posts/2025-01-01-a.md": f"---\ntitle: {title}\n---\n\n{first}\n",
            "_posts/2025-01-02-b.md": f"---\ntitle: {title}\n---\n\n{second}\n",
        }
    )
    update_index(config)
    return Searcher(config)


def stage_input(searcher: Searcher, question: str, rank: bool = True) -> tuple[Query, np.ndarray]:
    """What a re-ranking stage reads for ``question``, and the matches' docnums."""
    arrays, parsed = searcher.current(), parse_query(question)
    _, docnums, _ = searcher.matches(parsed, rank=rank)
    return Query(arrays, parsed, QueryScorer(arrays, parsed, searcher.config.boosts)), docnums


def stage_winner(stage: Callable[..., np.ndarray], query: Query, docnums: np.ndarray) -> tuple[str, np.ndarray]:
    """A stage's scores for ``docnums`` (each from 1, weight 8) and the shown text of the passage it puts first."""
    reranked = stage(query, docnums, np.ones(docnums.size), 8.0)
    return query.arrays.shown_text(int(docnums[np.argmax(reranked)])), reranked


def test_trigrams_favour_the_passage_holding_the_question_as_written(make_corpus) -> None:  # type: ignore[no-untyped-def]
    searcher = two_posts(make_corpus, "雨", "梅雨は長く続く。期間は地方で異なる。", "梅雨の期間は一か月ほど続く。")
    query, docnums = stage_input(searcher, "梅雨の期間はどのくらい")
    assert docnums.size == 2
    scores = np.ones(2)
    reranked = by_trigrams(query, docnums, scores, 16.0)
    best = int(docnums[np.argmax(reranked)])
    assert "梅雨の期間は" in query.arrays.shown_text(best)
    assert (reranked >= scores).all()
    assert searcher.search("梅雨の期間はどのくらい").hits[0].path.endswith("b.md")


def test_trigrams_favour_the_passage_holding_them_in_one_sentence(make_corpus) -> None:  # type: ignore[no-untyped-def]
    scattered = "梅雨の時期は暑い。雨の期待と、その期間は長い。"
    searcher = two_posts(make_corpus, "雨", scattered, "梅雨の期間は一か月ほど続く。")
    query, docnums = stage_input(searcher, "梅雨の期間は", rank=False)
    texts = [query.arrays.shown_text(docnum) for docnum in docnums.tolist()]
    grams = trigrams(["梅雨の期間は"])
    found = sentence_grams(texts, grams)
    assert [set().union(*found[n]) for n in range(2)] == [grams, grams]  # both hold every trigram
    reranked = by_trigrams(query, docnums, np.ones(2), 8.0)
    assert "梅雨の期間は" in texts[int(np.argmax(reranked))]
    assert reranked.min() > 1  # the scattered one still counts its best sentence


def test_a_trigram_between_two_words_outweighs_one_ending_in_a_particle(make_corpus, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # 雨の期 runs from one query word into the next; 梅雨の only from a word into its particle.
    searcher = two_posts(make_corpus, "雨", "梅雨の季節。期間。", "小雨の期日。期間。")
    query, docnums = stage_input(searcher, "梅雨の期間", rank=False)
    first, reranked = stage_winner(by_trigrams, query, docnums)
    assert "小雨の期日" in first
    assert reranked.min() > 1
    monkeypatch.setattr(_ranking, "OUTER_TRIGRAM_WEIGHT", 1.0)
    assert by_trigrams(query, docnums, np.ones(2), 8.0).tolist() == [5.0, 5.0]  # each holds one of two


@pytest.mark.parametrize("depths", [(None, 8, 3, 2), (None, 8, 3, 3)])  # the last reads what the one before read
@pytest.mark.parametrize("question", ["データセンターの液体冷却", "AIインフラ企業の資金調達", "gpu"])
def test_rerank_finds_a_later_stages_best_among_those_the_last_one_read(
    searcher: Searcher, question: str, depths: tuple[int | None, ...]
) -> None:
    stages = [dataclasses.replace(stage, depth=depth) for stage, depth in zip(_ranking.STAGES, depths, strict=True)]
    arrays, parsed = searcher.current(), parse_query(question)
    _, docnums, scores = searcher.matches(parsed, rank=False)
    assert docnums.size > 8
    scorer = QueryScorer(arrays, parsed, searcher.config.boosts)
    factors = np.full((len(stages), docnums.size), np.nan)
    query = Query(arrays, parsed, scorer)
    reranked = rerank(query, docnums, scores, stages, factors)
    read = ~np.isnan(factors)
    assert read[0].all() and read[1:].sum(axis=1).tolist() == list(depths[1:])
    assert (factors[1:][read[1:]] >= 1).all()  # a stage with a depth never lowers a score
    assert reranked.tolist() == reranked_by_every_match(searcher, question, stages).tolist()
    (above,) = query.above  # those the first stage with a depth read: above every other match
    assert sorted(above.tolist()) == sorted(np.flatnonzero(read[1]).tolist())
    ranking = best(reranked, arrays.order, docnums.size, docnums)
    assert sorted(ranking[: above.size].tolist()) == sorted(above.tolist())


def reranked_by_every_match(searcher: Searcher, question: str, stages: list[_ranking.Stage]) -> np.ndarray:
    """The scores of ``question``'s matches after ``stages``, each stage's best found among every match."""
    arrays, parsed = searcher.current(), parse_query(question)
    _, docnums, expected = searcher.matches(parsed, rank=False)
    order = arrays.order[docnums]
    query = Query(arrays, parsed, QueryScorer(arrays, parsed, searcher.config.boosts))
    for stage in stages:
        top = np.arange(docnums.size) if stage.depth is None else best(expected, order, stage.depth)
        expected[top] = stage.fn(query, docnums[top], expected[top], stage.weight)
    return expected


@pytest.mark.parametrize("question", ["データセンターの液体冷却", "AIインフラ企業の資金調達", "gpu"])
def test_rerank_looks_among_every_match_after_a_stage_that_reads_them_all(searcher: Searcher, question: str) -> None:
    coverage, trigrams, sentences, pairs = _ranking.STAGES  # coverage, which lowers scores, after a stage with a depth
    stages = [dataclasses.replace(trigrams, depth=4), coverage, dataclasses.replace(sentences, depth=3), pairs]
    arrays, parsed = searcher.current(), parse_query(question)
    _, docnums, scores = searcher.matches(parsed, rank=False)
    query = Query(arrays, parsed, QueryScorer(arrays, parsed, searcher.config.boosts))
    reranked = rerank(query, docnums, scores, stages)
    assert reranked.tolist() == reranked_by_every_match(searcher, question, stages).tolist()
    (above,) = query.above  # the pairs' 10, read of every match (more than the sentences' 3)
    ranking = best(reranked, arrays.order, docnums.size, docnums)
    assert above.size == min(10, docnums.size) and sorted(ranking[: above.size].tolist()) == sorted(above.tolist())


def test_coverage_of_the_scorers_documents_is_their_coverage_picked_one_by_one(searcher: Searcher) -> None:
    query, _ = stage_input(searcher, "データセンターの液体冷却")
    every = query.scorer.docnums.copy()  # the matches as a search finds them, unfiltered: the scorer's documents
    covered = by_coverage(query, every, np.ones(every.size), 3.0)
    assert len(set(covered.tolist())) > 2
    some = every[::-3]  # filtered and out of order: picked by place
    assert by_coverage(query, some, np.ones(some.size), 3.0).tolist() == covered[::-3].tolist()
    assert by_coverage(query, every[::-1], np.ones(every.size), 3.0).tolist() == covered[::-1].tolist()


def test_word_trigrams_read_the_words_from_the_parsed_query() -> None:
    clause = parse_query("琵琶湖の面積を教えてください").clauses()[0]  # the request phrase is dropped first
    assert [clause.text[start:end] for start, end in clause.spans] == ["琵琶湖", "面積"]
    assert word_trigrams([clause]) == {"琵琶湖", "湖の面"}
    corrected = dataclasses.replace(clause, corrected="琵琶湖の面接")  # what a typo's correction brings counts whole
    assert word_trigrams([corrected]) == {"琵琶湖", "湖の面", "の面接"}


def test_a_sentence_holding_the_answer_asked_for_counts_it_as_a_word() -> None:
    question = "東京タワーはいつ完成した?"
    concepts, answer = parse_query(question).concepts(), answer_pattern(question)
    weights, above = [1.0] * len(concepts), [False] * len(concepts)
    texts = ("東京タワーは1958年に完成した。", "東京タワーは昭和三十三年に完成した。", "東京タワーは芝公園に完成した。")
    shares = [sentence_share(text, term_offsets(text), concepts, weights, above, answer) for text in texts]
    assert shares == [1.0, 1.0, 0.75]  # the date weighs as one more word
    text = "東京タワーは芝公園に完成した。1958年の冬のことである。"  # in another sentence
    assert sentence_share(text, term_offsets(text), concepts, weights, above, answer) == 0.75


def test_a_question_asking_a_number_of_a_counter_wants_that_counter() -> None:
    asks = {"党員になれるのは何歳以上?": ("18歳以上", "十八歳", "満18 歳"), "牛には何個胃がある?": ("4つの胃", "四個")}
    for question, answers in asks.items():
        pattern = answer_pattern(question)
        assert pattern is not None and all(pattern.search(text) for text in answers)
    assert not answer_pattern("党員になれるのは何歳以上?").search("創立から18年")  # type: ignore[union-attr]
    assert answer_pattern("日本共産党の委員長の名前は?") is None


def test_the_passage_saying_when_ranks_above_the_one_saying_only_where(make_corpus, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    searcher = two_posts(make_corpus, "塔", "東京タワーは芝公園に完成した。", "東京タワーは1958年に完成した。")
    query, docnums = stage_input(searcher, "東京タワーはいつ完成した?", rank=False)
    first, reranked = stage_winner(by_sentences, query, docnums)
    assert "1958年" in first
    assert reranked.min() > 1  # both hold every word of the question in one sentence
    assert searcher.search("東京タワーはいつ完成した?").hits[0].path.endswith("b.md")
    monkeypatch.setattr(_ranking, "ANSWER_TYPE_WEIGHT", 0.0)
    query, docnums = stage_input(searcher, "東京タワーはいつ完成した?", rank=False)
    assert by_sentences(query, docnums, np.ones(2), 8.0).tolist() == [9.0, 9.0]


def test_pairs_favour_the_passage_holding_neighbouring_words_close(make_corpus) -> None:  # type: ignore[no-untyped-def]
    searcher = two_posts(make_corpus, "湖", "琵琶湖は滋賀県の中央にある。面積は広い。", "面積で琵琶湖に勝る湖はない。")
    for question, favoured in (("琵琶湖の面積は", True), ("琵琶湖 面積", False)):  # words typed apart make no pair
        query, docnums = stage_input(searcher, question, rank=False)
        reranked = by_pairs(query, docnums, np.ones(2), 2.0)
        if favoured:
            assert "面積で琵琶湖" in query.arrays.shown_text(int(docnums[np.argmax(reranked)]))
            assert sorted(reranked.tolist()) == [1.0, 3.0]
        else:
            assert reranked.tolist() == [1.0, 1.0]


def test_a_run_of_three_words_counts_only_in_the_questions_order(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    concepts = parse_query("梅雨の時期に降る長い雨を何と呼ぶか").concepts()  # six words, one clause
    weights, together, above = [1.0] * 6, np.ones(5, dtype=bool), [False] * 6
    texts = ("梅雨の時期に降る長い雨を菜種梅雨と呼ぶ。", "呼ぶ雨は長い。降る時期は梅雨。")  # every pair near
    passages = [(term_offsets(text), above) for text in texts]  # 5 pairs, 4 runs of three: the second holds none
    assert pair_shares(passages, concepts, weights, together) == [1.0, 5 / 9]
    monkeypatch.setattr(_ranking, "RUN_WEIGHT", 0.0)
    assert pair_shares(passages, concepts, weights, together) == [1.0, 1.0]
    monkeypatch.setattr(_ranking, "RUN_WEIGHT", 1.0)
    short = parse_query("琵琶湖の面積は").concepts()  # fewer than RUN_MIN words: pairs only
    near = [(term_offsets("面積で琵琶湖に勝る"), [False, False])]
    assert pair_shares(near, short, [1.0, 1.0], np.array([True])) == [1.0]


@pytest.mark.parametrize("past_ffff", [False, True])  # read as UTF-16 code units, or as UTF-32
def test_sentence_grams_is_gram_in_sentence_on_every_passage(searcher: Searcher, past_ffff: bool) -> None:
    arrays = searcher.current()
    texts = [arrays.shown_text(docnum) for docnum in range(arrays.size)]
    texts = [text for text in texts if text.count("\n") >= 2]  # passages: title, heading, text
    if past_ffff:
        texts[len(texts) // 2] += "。🙂ai"
    edges = {gram for text in texts for gram in (text[:3], text[-2:]) if re.fullmatch(r"\w+", gram)}  # starts, ends
    grams = trigrams(["英国のAIインフラ企業", "液体冷却のデータセンター", "gpu"]) | {"ai", "冷", "🙂"} | edges
    found = sentence_grams(texts, grams)
    for n, text in enumerate(texts):  # the title and heading one sentence, counted in each of the text's
        title, heading, body = text.split("\n", 2)
        above = {gram for gram in grams if gram in f"{title}\n{heading}"}
        sentences = [{gram for gram in grams if gram in sentence} for sentence in SENTENCE_END.split(body)]
        expected = [above | held for held in sentences if held] + ([above] if above else [])
        assert sorted(map(sorted, found.get(n, []))) == sorted(map(sorted, expected))
    assert len(found) == len(texts) > 10  # each holds its first characters
    assert sum(1 for rows in found.values() if len({frozenset(grams) for grams in rows}) > 2) > 10  # sentences apart


def test_sentence_grams_keep_a_title_and_heading_whole() -> None:
    texts = ["梅雨？\n時期は。\n期間は。雨季", "a\x00b\n\n𠮟るai"]  # a title may hold a NUL (a YAML escape)
    found = sentence_grams(texts, ["梅雨", "時期", "期間", "雨季", "ai", "𠮟る"])  # 𠮟: past U+FFFF
    assert found == {0: [{"梅雨", "時期", "期間"}, {"梅雨", "時期", "雨季"}, {"梅雨", "時期"}], 1: [{"ai", "𠮟る"}]}


def test_sentence_grams_tell_apart_characters_alike_in_their_last_16_bits() -> None:
    assert ord("𠮟") & 0xFFFF == ord("ட")  # U+20B9F and U+0B9F: found by one table entry
    texts = ["t\nh\nடる。𠮟る", "t\nh\nடる"]
    assert sentence_grams(texts, ["𠮟る"]) == {0: [{"𠮟る"}]}
    assert sentence_grams(texts, ["டる"]) == {0: [{"டる"}], 1: [{"டる"}]}

    # A gram's first character may share its last 16 bits with NUL (U+20000): the texts' separators
    # and the room after them are then looked at, and a window never reaches past that room.
    assert ord("𠀀") & 0xFFFF == 0
    assert sentence_grams(["t\nh\n本文。𠀀液体", "t\nh\nc"], ["𠀀液体", "液体"]) == {0: [{"𠀀液体", "液体"}]}


def test_a_query_word_in_a_supplementary_plane_is_searched(searcher: Searcher) -> None:
    assert searcher.search("𠀀液体冷却").hits  # a trigram starting with U+20000: no error


@pytest.mark.parametrize("parallel", [False, True])
def test_shown_text_is_the_folded_title_heading_and_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: bool
) -> None:
    config = Config(corpus=copy_sample(tmp_path / "corpus"), index=tmp_path / "index")
    if parallel:
        monkeypatch.setattr(_indexing, "PARALLEL_MIN_POSTS", 1)
    update_index(config)
    post = config.corpus / FUTURE_POST
    post.write_text(post.read_text(encoding="utf-8") + "\n## 追記\n\n液体冷却の追記。\n", encoding="utf-8")
    update_index(config)  # a second segment, written by the incremental writer
    arrays = Searcher(config).current()
    assert len(arrays._leaves) == 2
    passages = [docnum for docnum in range(arrays.size) if "text" in arrays.stored_fields(docnum)]
    assert len(passages) > 10
    for docnum in passages:
        fields = arrays.stored_fields(docnum)
        shown = "\n".join((fields["post"]["title"], fields["section"]["heading"], fields["text"]))
        assert arrays.shown_text(docnum) == fold(shown)
    everything = [*range(arrays.size)][::-1]  # from both segments, in no order
    assert arrays.shown_texts(everything) == [arrays.shown_text(docnum) for docnum in everything]


def test_shown_texts_are_kept_and_those_not_kept_read_together(sample_config: Config) -> None:
    arrays = Searcher(sample_config).current()  # its own generation: nothing kept yet
    first = arrays.shown_texts([3, 1])
    read: list[list[int]] = []
    reader = arrays._shown
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(arrays, "_shown", lambda docnums: read.append(docnums) or reader(docnums))
        assert arrays.shown_texts([1, 0, 3, 2]) == [arrays.shown_text(docnum) for docnum in (1, 0, 3, 2)]
    assert first == [arrays.shown_text(3), arrays.shown_text(1)]
    assert read[0] == [0, 2]  # 1 and 3 were kept


def test_shown_texts_holding_a_nul_are_decoded_one_by_one(sample_config: Config) -> None:
    arrays = Searcher(sample_config).current()
    texts = ["a\x00b", "c", "d\x00"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(arrays, "_shown", lambda docnums: [texts[docnum].encode() for docnum in docnums])
        assert arrays.shown_texts([2, 0, 1]) == [texts[2], texts[0], texts[1]]
        assert arrays.shown_texts([1, 1]) == ["c", "c"]


def test_trigrams_of_short_runs_are_kept_whole() -> None:
    assert trigrams(["ai", "液体冷却"]) == {"ai", "液体冷", "体冷却"}


def test_an_index_of_an_empty_corpus_finds_nothing(make_corpus) -> None:  # type: ignore[no-untyped-def]
    config: Config = make_corpus({})
    update_index(config)
    searcher = Searcher(config)
    for query in ["液体冷却", '"液体 冷却" -GPU', "梅雨の期間はどのくらいですか"]:
        result = searcher.search(query, per_post=True)
        assert (result.total, result.hits) == (0, ())


QUERIES = [
    "液体冷却",
    "GPU -冷却",
    "データセンターの冷却技術はどう進んだのか",
    "AIインフラへの投資額はいくらか",
    "資金調達 英国",
]


def reference_scores(
    arrays, parsed, boosts, strict: bool
) -> tuple[dict[int, float], dict[int, float], dict[int, float]]:  # type: ignore[no-untyped-def]
    """docnum -> score of the matching documents, docnum -> passage coverage and docnum -> its post's
    coverage, the slow way: a dict of every document's score per word, over the whole index (plain-word
    queries only)."""

    def word(concept) -> dict[int, float]:  # type: ignore[no-untyped-def]
        scores: dict[int, float] = defaultdict(float)
        for field in SEARCH_FIELDS:
            boost = boosts.get(field, 0.0)
            ids, values = arrays.term_scores(field, concept.text)
            for docnum, value in zip(ids.tolist(), values.tolist(), strict=True):
                scores[docnum] += boost * value
            parts = [dict(zip(*(a.tolist() for a in arrays.term_scores(field, p)), strict=True)) for p in concept.parts]
            for part in parts:  # each part alone (PARTS_ALONE)
                for docnum, value in part.items():
                    scores[docnum] += boost * PARTS_WEIGHT / len(parts) * value
        return {docnum: score for docnum, score in scores.items() if score > 0}

    def holding(concept) -> set[int]:  # type: ignore[no-untyped-def]
        """Whole, or all its parts in one field: a part alone scores but does not match."""
        found: set[int] = set()
        for field in SEARCH_FIELDS:
            if boosts.get(field, 0.0) > 0:
                found |= set(arrays.term_scores(field, concept.text)[0].tolist())
                if concept.parts:
                    found |= set.intersection(*(set(arrays.term_scores(field, p)[0].tolist()) for p in concept.parts))
        return found

    everywhere = set().union(*(holding(c) for c in (*parsed.concepts(), *parsed.excluded)))
    words = [{d: v for d, v in word(c).items() if d in everywhere} for c in parsed.concepts()]
    excluded = set().union(*(holding(c) for c in parsed.excluded))
    matching = [holding(c) for c in parsed.concepts()]
    held = [set(w) for w in words]
    matches = set.intersection(*matching) if strict else set.union(*matching)
    matches = {d for d in matches if arrays.live[d] and d not in excluded}

    def weight(term: str) -> float:
        frequency = max(arrays._postings(field, term)[0].size for field in SEARCH_FIELDS)
        return float(np.log(1 + (arrays.size - frequency + 0.5) / (frequency + 0.5)) ** _scoring.COVERAGE_IDF_POWER)

    weights = [weight(concept.text) for concept in parsed.concepts()]

    def anywhere(term: str) -> set[int]:
        return {
            d
            for field in SEARCH_FIELDS
            if boosts.get(field, 0.0) > 0
            for d in arrays.term_scores(field, term)[0].tolist()
        }

    def share(concept, d: int) -> float:  # type: ignore[no-untyped-def]
        """A compound with only some of its parts held counts their IDF-weighted share."""
        parts = [d in anywhere(p) for p in concept.parts]
        if parts and 0 < sum(parts) < len(parts) and d not in anywhere(concept.text):
            return sum(weight(p) for p, h in zip(concept.parts, parts, strict=True) if h) / sum(
                map(weight, concept.parts)
            )
        return 1.0

    shares = [{d: share(c, d) for d in h} for c, h in zip(parsed.concepts(), held, strict=True)]
    coverage = {
        d: sum(w * s.get(d, 0.0) for w, s in zip(weights, shares, strict=True)) / sum(weights) for d in everywhere
    }
    posts: list[dict[int, float]] = []
    for s in shares:
        best: dict[int, float] = {}
        for d, value in s.items():
            best[int(arrays.post_of[d])] = max(value, best.get(int(arrays.post_of[d]), 0.0))
        posts.append(best)
    post_coverage = {
        d: sum(w * p.get(int(arrays.post_of[d]), 0.0) for w, p in zip(weights, posts, strict=True)) / sum(weights)
        for d in everywhere
    }
    post_coverage = {d: value for d, value in post_coverage.items() if coverage[d] > 0}
    coverage = {d: value for d, value in coverage.items() if value > 0}
    return {d: sum(w.get(d, 0.0) for w in words) for d in matches}, coverage, post_coverage


def assert_scores_as_reference(config: Config) -> None:
    arrays = Searcher(config).current()
    richer = False
    for query in QUERIES:
        parsed = parse_query(query)
        scorer = QueryScorer(arrays, parsed, config.boosts)
        for strict in (True, False):
            scores, matched = scorer.score(strict)
            expected, coverage, post_coverage = reference_scores(arrays, parsed, config.boosts, strict)
            found = dict(zip(scorer.docnums[matched].tolist(), scores[matched].tolist(), strict=True))
            assert found == pytest.approx(expected, rel=1e-9), (query, strict)
            assert expected or strict, query
        passage, post = scorer.coverage()
        held = passage > 0
        assert dict(zip(scorer.docnums[held].tolist(), passage[held].tolist(), strict=True)) == pytest.approx(coverage)
        assert dict(zip(scorer.docnums[held].tolist(), post[held].tolist(), strict=True)) == pytest.approx(
            post_coverage
        )
        richer |= bool((post[held] > passage[held]).any())
    assert richer  # some post holds more of the words than its passage


def test_scores_over_the_query_documents_equal_a_whole_index_reference(sample_config: Config) -> None:
    assert_scores_as_reference(sample_config)


def test_scores_equal_the_reference_on_two_segments_with_deletions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = Config(corpus=copy_sample(tmp_path / "corpus"), index=tmp_path / "index")
    update_index(config)
    post = config.corpus / FUTURE_POST
    post.write_text(
        post.read_text(encoding="utf-8") + "\n\n液体冷却とGPUの資金調達の話を追記した。\n", encoding="utf-8"
    )
    update_index(config)
    arrays = Searcher(config).current()
    assert len(arrays._leaves) == 2 and not arrays.live.all()
    assert_scores_as_reference(config)


def test_scores_equal_the_reference_when_the_caches_overflow(sample_config: Config, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(_scoring, "CACHE_POSTINGS", 50)  # every few words, the kept postings are dropped
    assert_scores_as_reference(sample_config)


def test_kept_word_scores_are_told_apart_by_the_boosts(searcher: Searcher) -> None:
    arrays, parsed = searcher.current(), parse_query("液体冷却")
    once = QueryScorer(arrays, parsed, {"body": 1.0}).score(strict=False)[0]
    twice = QueryScorer(arrays, parsed, {"body": 2.0}).score(strict=False)[0]
    assert once.any() and twice.tolist() == pytest.approx((2 * once).tolist())


def test_held_in_tells_which_titles_and_headings_hold_a_word(searcher: Searcher) -> None:
    # What the sentence re-ranking reads from the postings, against the analysis of the stored text.
    arrays = searcher.current()
    passages = [d for d in range(arrays.size) if "text" in arrays.stored_fields(d)]
    docnums = np.array(passages)
    shown = {"title": lambda f: f["post"]["title"], "heading": lambda f: f["section"]["heading"]}
    outcomes = set()
    for query in ["Nscale 資金調達", "データセンター", "英国のAIインフラ", "センター"]:
        for concept in parse_query(query).concepts():
            for field, value in shown.items():
                expected = []
                for docnum in passages:
                    terms = {t.text for t in analyze(value(arrays.stored_fields(docnum)))}
                    whole = concept.text in terms
                    expected.append(whole or (bool(concept.parts) and all(p in terms for p in concept.parts)))
                assert held_in(arrays, field, concept, docnums).tolist() == expected, (query, field)
                outcomes.update(expected)
    assert outcomes == {True, False}


POSTS = {
    "_posts/2025-01-01-whole.md": "---\ntitle: 記録\n---\n\n電話の発明者は誰か。\n",
    "_posts/2025-01-02-part.md": "---\ntitle: 記録\n---\n\n電話の発明は1876年。\n",
    "_posts/2025-01-03-alone.md": "---\ntitle: 記録\n---\n\n新しい発明の話。\n",
}


def scorer_for(searcher: Searcher, concepts: tuple[Concept, ...]) -> QueryScorer:
    parsed = parse_query("電話 発明者")
    parsed = dataclasses.replace(parsed, required=tuple(Clause((c,), text=c.text) for c in concepts))
    return QueryScorer(searcher.current(), parsed, searcher.config.boosts)


def by_post(scorer: QueryScorer, values: np.ndarray) -> dict[str, float]:  # type: ignore[type-arg]
    paths = [scorer.arrays.stored_fields(int(d))["path"] for d in scorer.docnums]
    return {Path(path).stem[11:]: float(value) for path, value in zip(paths, values, strict=True)}


def test_a_compound_part_alone_adds_to_a_match_and_is_no_match_alone(make_corpus) -> None:  # type: ignore[no-untyped-def]
    config = make_corpus(POSTS)
    update_index(config)
    searcher = Searcher(config)
    phone, inventor = parse_query("電話 発明者").concepts()
    assert inventor.parts == ("発明", "者")
    scorer = scorer_for(searcher, (phone, inventor))
    _, matched = scorer.score(strict=False)
    assert by_post(scorer, matched) == {"whole": 1.0, "part": 1.0}  # 発明 alone matches nothing
    words = by_post(scorer, scorer.concept(inventor))
    assert words["whole"] > words["part"] > 0  # 発明 adds to the match on 電話
    held = by_post(scorer, scorer.held(inventor))
    share = word_weight(scorer.arrays, Concept("発明", (), 0)) ** COVERAGE_IDF_POWER
    share /= share + word_weight(scorer.arrays, Concept("者", (), 0)) ** COVERAGE_IDF_POWER
    assert held == pytest.approx({"whole": 1.0, "part": share}) and 0 < share < 1
    # Held through what it expands to (as if 発明 were a synonym of 発明者): held whole.
    expanded = dataclasses.replace(inventor, expansions=(Expansion("synonym", "発明者", ("発明",), 0.5),))
    scorer = scorer_for(searcher, (phone, expanded))
    assert by_post(scorer, scorer.held(expanded)) == {"whole": 1.0, "part": 1.0, "alone": 1.0}


def test_a_sentence_holds_a_word_through_its_synonym_or_reading_not_a_prefix_guess() -> None:
    text = "人工知能の研究が進む。冷却は重要だ。"
    concepts = [
        Concept("ai", (), 0, (Expansion("synonym", "ai", ("人工知能",), 0.8),)),
        Concept("研究", (), 1),
    ]
    assert sentence_share(text, term_offsets(text), concepts, [1.0, 1.0], [False, False]) == 1.0
    guessed = [Concept("ai", (), 0, (Expansion("prefix", "ai", ("人工知能",), 0.5),)), concepts[1]]
    assert sentence_share(text, term_offsets(text), guessed, [1.0, 1.0], [False, False]) == 0.5


def test_a_word_with_synonyms_weighs_as_the_most_frequent_of_them(make_corpus) -> None:  # type: ignore[no-untyped-def]
    posts = {f"_posts/2025-01-0{n}-zoo.md": f"---\ntitle: 記録{n}\n---\n\n動物園で動物を見た。\n" for n in range(1, 5)}
    posts["_posts/2025-01-05-print.md"] = "---\ntitle: 服\n---\n\nアニマル柄の服を買った。\n"
    config = make_corpus(posts)
    update_index(config)
    arrays = Searcher(config).current()
    animal, zoo_animal = Concept("アニマル", (), 0), Concept("動物", (), 0)
    assert word_weight(arrays, animal) > word_weight(arrays, zoo_animal)  # rare as typed
    synonym = dataclasses.replace(animal, expansions=(Expansion("synonym", "アニマル", ("動物",), 0.8),))
    assert word_weight(arrays, synonym) == word_weight(arrays, zoo_animal)  # stands for 動物
    reverse = dataclasses.replace(zoo_animal, expansions=(Expansion("synonym", "動物", ("アニマル",), 0.8),))
    assert word_weight(arrays, reverse) == word_weight(arrays, zoo_animal)  # a rarer synonym changes nothing
    guess = dataclasses.replace(animal, expansions=(Expansion("prefix", "アニマル", ("動物",), 0.5),))
    assert word_weight(arrays, guess) == word_weight(arrays, animal)  # a prefix's completions are guesses


def test_holding_answers_as_isin_whether_it_looks_documents_up_or_reads_a_mask() -> None:
    rng = np.random.default_rng(7)
    for id_count, doc_count in [(0, 5), (5, 0), (400, 3), (3, 400), (50, 50), (2000, 20), (1000, 300), (100, 127)]:
        ids = np.unique(rng.integers(0, 3000, id_count)).astype(np.int64)
        docnums = rng.integers(0, 3200, doc_count).astype(np.int64)  # unsorted, some past every id
        assert _scoring._holding(ids, docnums).tolist() == np.isin(docnums, ids).tolist()


def test_unique_is_numpys() -> None:
    rng = np.random.default_rng(3)
    for size in (0, 1, 7, 1000, 20000):
        ids = rng.integers(0, max(1, size // 3), size).astype(np.int64)
        assert _scoring._unique(ids).tolist() == np.unique(ids).tolist()


def test_union_is_numpys_whether_it_sorts_the_documents_or_reads_a_mask() -> None:
    rng = np.random.default_rng(5)
    for counts, size in [((), 100), ((0, 0), 100), ((3, 5), 10_000), ((40, 60, 20), 1000), ((3, 300), 400)]:
        found = [np.unique(rng.integers(0, size, count)).astype(np.int64) for count in counts]
        expected = np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
        assert _scoring._union(found, size).tolist() == expected.tolist()


def test_summed_adds_each_documents_scores_in_the_postings_order_whether_it_sorts_or_reads_the_index() -> None:
    rng = np.random.default_rng(11)
    # (documents of each postings, drawn among so many, of an index of size): sorted, or summed over the index
    cases = [((), 100, 100), ((4,), 100, 100), ((0, 4), 100, 100), ((90,) * 4, 100, 10_000), ((90,) * 4, 100, 100)]
    for counts, drawn, size in cases:
        postings = [np.unique(rng.integers(0, drawn, count)).astype(np.int64) for count in counts]
        with_scores = [(ids, rng.random(ids.size) * 10) for ids in postings]
        expected: dict[int, float] = {}
        for ids, scores in with_scores:  # one by one, in order: the sums to the last bit
            for docnum, score in zip(ids.tolist(), scores.tolist(), strict=True):
                expected[docnum] = expected.get(docnum, 0.0) + score
        ids, summed = _scoring._summed(with_scores, size)
        assert ids.tolist() == sorted(expected)
        assert summed.tolist() == [expected[docnum] for docnum in sorted(expected)]


def test_common_places_are_intersect1ds() -> None:
    rng = np.random.default_rng(13)
    for count, other_count in [(0, 5), (5, 0), (50, 400), (400, 50), (300, 300)]:
        ids = np.unique(rng.integers(0, 1000, count)).astype(np.int64)
        other = np.unique(rng.integers(0, 1000, other_count)).astype(np.int64)
        _, here, there = np.intersect1d(ids, other, assume_unique=True, return_indices=True)
        assert [places.tolist() for places in _scoring._common(ids, other)] == [here.tolist(), there.tolist()]


def test_a_scorers_documents_are_those_holding_one_of_its_words(searcher: Searcher) -> None:
    arrays = searcher.current()
    for text in ("液体冷却", "データセンターの冷却技術"):  # few documents, and many
        scorer = QueryScorer(arrays, parse_query(text), searcher.config.boosts)
        holding = [scorer._words[c][2] for c in scorer.parsed.concepts()]
        assert scorer.docnums.tolist() == np.unique(np.concatenate(holding)).tolist()
        assert np.flatnonzero(scorer._inside).tolist() == scorer.docnums.tolist()


def test_a_compound_held_anywhere_is_held_in_some_field(searcher: Searcher) -> None:
    arrays = searcher.current()
    parsed = parse_query("液体冷却のデータセンター技術")
    scorer = QueryScorer(arrays, parsed, searcher.config.boosts)
    terms = {t for c in parsed.concepts() for t in (c.text, *c.parts)} | {"存在しない語"}
    for term in terms:
        expected = np.zeros(scorer.docnums.size, dtype=bool)
        for field in SEARCH_FIELDS:
            expected |= np.isin(scorer.docnums, arrays.term_scores(field, term)[0])
        assert scorer._anywhere(term).tolist() == expected.tolist()
    assert any(scorer._anywhere(term).any() for term in terms)


def test_a_terms_fields_are_those_whose_postings_hold_it(searcher: Searcher) -> None:
    """``fields_of`` decides which fields ``term_scores`` reads: each bit must say what the postings do."""
    arrays = searcher.current()
    terms = [*arrays.vocabulary(), "存在しない語"]
    held = 0
    for term in terms:
        mask = arrays.fields_of(term)
        for field in SEARCH_FIELDS:
            in_field = arrays._postings(field, term)[0].size > 0  # read, whatever the mask says
            assert bool(mask & _scoring._FIELD_BITS[field]) == in_field, (term, field)
            held += in_field
    assert held > len(terms)  # some terms are in several fields
    assert arrays.fields_of("存在しない語") == 0


def test_a_document_held_by_a_word_is_where_its_mask_says(searcher: Searcher) -> None:
    arrays = searcher.current()
    mixed = 0
    for text in ("液体冷却", "データセンターの冷却技術", "GPU -冷却"):
        scorer = QueryScorer(arrays, parse_query(text), searcher.config.boosts)
        for concept in (*scorer.parsed.concepts(), *scorer.parsed.excluded):
            mask = scorer.holds(concept)
            assert [scorer.held_by(concept, d) for d in scorer.docnums.tolist()] == mask.tolist()
            mixed += 0 < mask.sum() < mask.size
    assert mixed > 2  # words held by some of the documents only


def test_a_word_held_whole_scores_above_0_exactly_where_it_is_held(searcher: Searcher) -> None:
    arrays, checked = searcher.current(), 0
    for text in ("液体冷却", "データセンターの冷却技術", "GPU OR 冷却 -資金", "れいきゃく", "nvidia", "冷"):
        parsed, _ = searcher.understand(parse_query(text))
        scorer = QueryScorer(arrays, parsed, searcher.config.boosts)
        scorer.score(strict=False)
        for concept in parsed.concepts():
            if not concept.parts:  # (the coverage reads its places as where it scores)
                assert scorer._held_at(concept).tolist() == (scorer.concept(concept) > 0).nonzero()[0].tolist()
                checked += scorer._held_at(concept).size
    assert checked > 20


def _reference_pair_shares(
    passages: list[tuple[dict[str, list[int]], list[bool]]],
    concepts: list[Concept],
    weights: list[float],
    joined: Any,
) -> list[float]:
    """``pair_shares`` straightforwardly: every word's spans in every text, every pair looked at."""
    pairs = joined.nonzero()[0].tolist()
    runs = [i for i in pairs if i + 1 in pairs] if len(concepts) >= _ranking.RUN_MIN else []
    pair_weights = [min(weights[i], weights[i + 1]) for i in pairs]
    run_weights = [_ranking.RUN_WEIGHT * min(weights[i : i + 3]) for i in runs]
    total = sum(pair_weights + run_weights)
    shares = []
    for offsets, above in passages:
        spans = [_ranking._spans(offsets, concept) for concept in concepts]
        ahead = {i: _ranking._near(spans[i][1], spans[i + 1][0]) for i in pairs}
        held = 0.0
        for i, weight in zip(pairs, pair_weights, strict=True):
            if (above[i] and above[i + 1]) or ahead[i] or _ranking._near(spans[i + 1][1], spans[i][0]):
                held += weight
        for i, weight in zip(runs, run_weights, strict=True):
            if ahead[i] and ahead[i + 1]:
                held += weight
        shares.append(held / total if total else 0.0)
    return shares


def _reference_sentence_share(
    text: str, offsets: dict[str, list[int]], concepts: list[Concept], weights: list[float], above: list[bool]
) -> float:
    """``sentence_share`` straightforwardly (no answer pattern): each sentence's words summed."""
    ends = sentence_ends(text)

    def sentence(start: int) -> int:
        return sum(1 for end in ends if end <= start)

    held: dict[int, float] = {}
    for concept, weight, is_above in zip(concepts, weights, above, strict=True):
        if is_above:
            continue
        holding = {sentence(start) for start in offsets.get(concept.text, [])[::2]}
        holding |= {sentence(start) for start in together(offsets, concept)[0]}
        for terms in word_forms(concept):
            if all(term in offsets for term in terms):
                holding |= set.intersection(*({sentence(start) for start in offsets[term][::2]} for term in terms))
        for place in holding:
            held[place] = held.get(place, 0.0) + weight
    everywhere = sum(weight for weight, is_above in zip(weights, above, strict=True) if is_above)
    return (everywhere + max(held.values(), default=0.0)) / sum(weights)


def test_pair_and_sentence_shares_equal_a_straightforward_reading_on_real_passages(searcher: Searcher) -> None:
    arrays = searcher.current()
    texts = [arrays.stored_fields(docnum).get("text", "") for docnum in range(arrays.size)]
    texts = [text for text in texts if len(text) > 40]
    passages = [(term_offsets(text), [False] * 12) for text in texts]
    rich = 0
    for n, text in enumerate(texts[:12]):  # questions made of the passages' own words, and words typed apart
        for query in (text[:14], text[10:30], text[:8] + " " + text[20:28]):
            parsed, _ = searcher.understand(parse_query(query))
            concepts = parsed.concepts()
            if not concepts or len(concepts) > 12:
                continue
            weights = [word_weight(arrays, concept) for concept in concepts]
            clause_of = np.array([c for c, clause in enumerate(parsed.clauses()) for _ in clause.concepts])
            pairs = clause_of[1:] == clause_of[:-1]
            shares = pair_shares(passages, concepts, weights, pairs)
            assert shares == _reference_pair_shares(passages, concepts, weights, pairs), query
            rich += sum(0 < share < 1 for share in shares)
            above = [i % 3 == n % 3 for i in range(len(concepts))]  # some words in the title or heading
            for text_, (offsets, _) in zip(texts, passages, strict=True):
                found = sentence_share(text_, offsets, concepts, weights, above)
                assert found == _reference_sentence_share(text_, offsets, concepts, weights, above), query
    assert rich > 20  # passages holding some of the pairs
