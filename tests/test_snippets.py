"""Snippets from the term offsets stored at index time: the same snippets as analysing the text."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mikke import Config, Searcher, make_snippet
from mikke import _snippets as snippets
from mikke._analysis import MAX_CHUNK_CHARS, analyze
from mikke._query import parse_query
from mikke._snippets import pack_offsets, term_offsets, unpack_offsets

QUERIES = ["液体冷却", "データセンター", "GPU", "英国のAIインフラ企業はどこから資金を調達したか", "Nscale 資金調達"]


def stored_passages(config: Config) -> Iterator[dict]:  # type: ignore[type-arg]
    """The stored fields of every passage document of the index."""
    searcher = Searcher(config)
    try:
        for fields in searcher.current().searcher.documents():
            if "text" in fields:
                yield fields
    finally:
        searcher.close()


def grouped(text: str) -> dict[str, list[int]]:
    """analyze()'s tokens grouped by term, the slow way."""
    found: dict[str, list[int]] = {}
    for token in analyze(text):
        found.setdefault(token.text, []).extend((token.start, token.end))
    return found


def test_term_offsets_are_analyze_tokens_on_real_and_long_text(sample_config: Config) -> None:
    texts = [fields["text"] for fields in stored_passages(sample_config)]
    long_text = "\n".join(texts)  # several of Sudachi's chunks: offsets shifted by each chunk's start
    assert len(long_text) > 2 * MAX_CHUNK_CHARS
    for text in [*texts, long_text, "ＧＰＵサーバと引越しの冷却"]:
        assert term_offsets(text) == grouped(text)


def test_every_passage_stores_its_packed_offsets(sample_config: Config) -> None:
    passages = list(stored_passages(sample_config))
    assert len(passages) > 20
    for fields in passages:
        text, packed = fields["text"], fields["offsets"]
        assert packed == pack_offsets(text)
        expected = grouped(text)
        assert unpack_offsets(packed, set(expected) | {"no-such-term"}) == expected


def test_snippets_from_stored_offsets_equal_snippets_from_analysis(sample_config: Config) -> None:
    compared = 0
    for fields in stored_passages(sample_config):
        for query in QUERIES:
            terms = parse_query(query).terms()
            stored = make_snippet(fields["text"], terms, offsets=fields["offsets"])
            assert stored == make_snippet(fields["text"], terms)
            unpacked = unpack_offsets(fields["offsets"], terms)  # as the sentence re-ranking read them
            assert stored == make_snippet(fields["text"], terms, offsets=unpacked)
            assert stored == make_snippet(fields["text"], terms, offsets=term_offsets(fields["text"]))
            compared += bool(stored.highlights)
    assert compared > 30


def test_a_snippet_shows_the_window_with_the_most_terms_and_every_highlight_in_it(sample_config: Config) -> None:
    """Checked the slow way: each candidate window scored on the highlights it holds, looked for one by one."""
    checked = 0
    for fields in stored_passages(sample_config):
        text, flat = fields["text"], fields["text"].replace("\n", " ")
        for query in QUERIES:
            terms = parse_query(query).terms()
            spans = snippets.highlight_spans(text, terms, fields["offsets"])

            def inside(window: tuple[int, int]) -> list[str]:
                return [flat[a:b] for a, b in spans if a >= window[0] and b <= window[1]]  # noqa: B023

            def score(window: tuple[int, int]) -> tuple[int, int, int]:
                words = inside(window)
                return len({word.lower() for word in words}), len(words), -window[0]

            if len(text) > 40 and spans:
                best = max(snippets._candidate_windows(text, spans, 40), key=score)
                snippet = make_snippet(text, terms, width=40, offsets=fields["offsets"])
                assert flat[best[0] : best[1]].strip() in snippet.text
                assert [snippet.text[a:b] for a, b in snippet.highlights] == inside(best)
                checked += len(inside(best)) > 1
    assert checked > 30


def test_the_sentences_left_out_of_the_windows_never_hold_the_best(sample_config: Config) -> None:
    """The windows of the sentences starting after the last highlight are not candidates: with them,
    the best window is the same one."""
    shortened = 0
    for fields in stored_passages(sample_config):
        text, flat = fields["text"], fields["text"].replace("\n", " ")
        for query in QUERIES:
            spans = snippets.highlight_spans(text, parse_query(query).terms(), fields["offsets"])

            def score(window: tuple[int, int]) -> tuple[int, int, int]:
                words = [flat[a:b].lower() for a, b in spans if a >= window[0] and b <= window[1]]  # noqa: B023
                return len(set(words)), len(words), -window[0]

            if spans:
                kept = snippets._candidate_windows(text, spans, 40)
                # A highlight at the very end keeps every sentence; its own window is dropped.
                every = snippets._candidate_windows(text, [*spans, (len(text), len(text))], 40)[:-1]
                assert max(kept, key=score) == max(every, key=score)
                shortened += len(every) > len(kept)
    assert shortened > 30


def test_search_snippets_never_analyse_the_passage(searcher: Searcher, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_analysis(text: str) -> None:
        raise AssertionError(f"a search snippet analysed its passage: {text[:20]!r}")

    monkeypatch.setattr(snippets, "_term_offsets", no_analysis)
    for query in QUERIES:
        hits = searcher.search(query).hits
        assert hits and any(hit.snippet.highlights for hit in hits)


def test_stored_offsets_decide_the_highlights() -> None:
    text = "液体冷却の話。サーバの冷却。"
    assert make_snippet(text, {"冷却"}).highlights == ((2, 4), (11, 13))
    other = pack_offsets("冷却の話。")  # offsets of another text: believed as given
    assert make_snippet(text, {"冷却"}, offsets=other).highlights == ((0, 2),)


def test_text_with_a_nul_or_without_terms() -> None:
    assert pack_offsets("冷却\x00技術") is None  # not stored: its snippets analyse the text
    assert make_snippet("冷却\x00技術", {"技術"}).highlights == ((3, 5),)
    empty = pack_offsets("。、")
    assert empty is not None and unpack_offsets(empty, {"冷却"}) == {}


def test_highlights_are_every_token_of_the_terms_merged(sample_config: Config) -> None:
    """Checked the slow way, one term and several: every token's offsets sorted, then touching ones joined."""
    checked = 0
    for fields in stored_passages(sample_config):
        text, packed = fields["text"], fields["offsets"]
        found = term_offsets(text)
        for terms in [[term] for term in list(found)[:6]] + [list(found)[n : n + 3] for n in range(0, 9, 3)]:
            pairs = sorted((found[t][i], found[t][i + 1]) for t in terms for i in range(0, len(found[t]), 2))
            merged: list[tuple[int, int]] = []
            for start, end in pairs:
                if merged and start <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
                else:
                    merged.append((start, end))
            assert snippets.highlight_spans(text, terms, packed) == merged
            assert snippets.highlight_spans(text, terms) == merged
            checked += len(merged) < len(pairs)
    assert checked > 0  # some tokens touch and are joined


def test_unpacked_offsets_are_a_terms_own_not_a_longer_or_shorter_terms(sample_config: Config) -> None:
    checked = 0
    for fields in stored_passages(sample_config):
        expected = grouped(fields["text"])
        for term in list(expected)[:20]:  # the term, and strings that are parts of terms or hold one
            near = {term, term[:1], term[-1:], term[1:], term[:-1], term + "x", "x" + term, "\x00" + term}
            found = unpack_offsets(fields["offsets"], near)
            assert found == {t: expected[t] for t in near if t in expected}
            checked += len(found)
    assert checked > 100
