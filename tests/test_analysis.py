"""The analyzer: normalization, compounds, part-of-speech filtering and offsets."""

from __future__ import annotations

from pathlib import Path

import pytest

from mikke import analyze, analyzer

SAMPLE_TEXT = sorted((Path(__file__).resolve().parent.parent / "corpus" / "_posts").glob("*.md"))


def terms(text: str) -> list[str]:
    return [t.text for t in analyze(text) if not t.part]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("サーバ", "サーバー"),
        ("サーバー", "サーバー"),
        ("引越し", "引っ越し"),
        ("引っ越し", "引っ越し"),
        ("ＧＰＵ", "gpu"),
        ("GPU", "gpu"),
        ("gpu", "gpu"),
        ("ｶﾀｶﾅ", "片仮名"),
    ],
)
def test_variants_share_one_term(written: str, expected: str) -> None:
    assert terms(written) == [expected]


def test_particles_auxiliaries_and_symbols_are_dropped() -> None:
    assert terms("データセンターの冷却は、重要です。") == ["データセンター", "冷却", "重要"]


def test_compound_emits_its_parts_after_the_whole() -> None:
    tokens = analyze("データセンター")
    assert [(t.text, t.part) for t in tokens] == [("データセンター", False), ("データ", True), ("センター", True)]


@pytest.mark.parametrize("path", SAMPLE_TEXT, ids=lambda p: p.name)
def test_offsets_point_at_the_surface_in_the_original_text(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    count = 0
    for token in analyzer()(source, chars=True, keeporiginal=True):
        assert source[token.startchar : token.endchar] == token.original
        count += 1
    assert count > 1000


@pytest.mark.parametrize("path", SAMPLE_TEXT, ids=lambda p: p.name)
def test_analyze_gives_the_index_analyzers_tokens(path: Path) -> None:
    source = path.read_text(encoding="utf-8") * 2  # twice: beyond one chunk, and the second time from the cache
    expected = [
        (t.text, source[t.startchar : t.endchar], t.startchar, t.endchar, t.part)
        for t in analyzer()(source, chars=True, positions=True)
    ]
    assert [(t.text, t.surface, t.start, t.end, t.part) for t in analyze(source)] == expected
    assert len(expected) > 2000


def test_offsets_survive_width_folding() -> None:
    source = "ｱｲｳ ＧＰＵサーバと全角　スペース"
    spans = {t.text: (t.start, t.end) for t in analyze(source)}
    assert source[slice(*spans["gpu"])] == "ＧＰＵ"
    assert source[slice(*spans["サーバー"])] == "サーバ"
    assert source[slice(*spans["スペース"])] == "スペース"


def test_long_text_is_analysed_in_chunks_with_correct_offsets() -> None:
    sentence = "データセンターの液体冷却は効率的です。"
    source = sentence * 2000  # far beyond Sudachi's input limit
    starts = [t.start for t in analyze(source) if t.text == "液体"]
    assert starts == [i * len(sentence) + sentence.index("液体") for i in range(2000)]


def test_analyzer_pickles_without_the_sudachi_tokenizer() -> None:
    import pickle

    restored = pickle.loads(pickle.dumps(analyzer()))
    assert [t.text for t in restored("サーバ")] == ["サーバー"]


def test_function_and_question_words_are_dropped() -> None:
    assert terms("冷却とは何という技術ですか") == ["冷却", "技術"]
    assert terms("なぜどんな物がよく使われるのか") == ["使う"]


def test_light_verbs_and_question_numerals_are_not_searched() -> None:
    from mikke._query import parse_query

    assert parse_query("宣言していた国はどこになりますか").describe() == "宣言 国"
    assert parse_query("七年戦争は何年に終わったの").describe() == "7 年 戦争 年 終わる"
    assert parse_query("1945年何月").describe() == "1945 年 何月(月)"


def test_the_polite_prefix_is_dropped_and_letters_are_kept() -> None:
    # お/ご (御) says nothing about what is sought; Sudachi tags α, Σ and シグマ symbols (記号-文字).
    assert terms("お問い合わせとお米") == ["問い合わせ", "米"]
    assert terms("シグマ（Σ）とα") == ["シグマ", "σ", "α"]


def test_a_word_in_hiragana_only_is_one_term_with_its_katakana() -> None:
    # Sudachi keeps ごみ and ゴミ apart (it joins ねこ and ネコ as 猫): a city's ごみ and a user's ゴミ.
    assert terms("ごみの出し方") == terms("ゴミの出し方") == ["ゴミ", "出し方"]
    assert [t.text for t in analyze("粗大ごみ")] == ["粗大塵", "粗大", "ゴミ"]  # the part too
    assert terms("ねこ") == ["猫"]


def test_a_compounds_symbol_or_particle_is_not_one_of_its_parts() -> None:
    # A part scores alone (_scoring.PARTS_ALONE): モナ・リザ's ・ would match every name with a ・.
    assert [(t.text, t.part) for t in analyze("晩餐;モナ・リザ")] == [
        ("晩餐", False),
        ("モナ・リザ", False),
        ("モナ", True),
        ("リザ", True),
    ]


def test_a_word_in_katakana_in_brackets_is_a_term() -> None:
    # Sudachi drops up to four kana in brackets after a kanji as its reading: 石油（せきゆ） is
    # 石油, but the katakana of 汽缶（ボイラー） or 後天性免疫不全症候群(エイズ) is a word to find.
    assert terms("船舶も重油を汽缶（ボイラー）の燃料にする") == ["船舶", "重油", "汽缶", "ボイラー", "燃料"]
    assert terms("後天性免疫不全症候群(エイズ)") == ["後天性免疫不全症候群", "エイズ"]
    assert terms("汽缶(ﾎﾞｲﾗｰ)") == ["汽缶", "ボイラー"]
    assert terms("石油（せきゆ）とは") == ["石油"]
    source = "重油を汽缶（ボイラー）の燃料に"
    assert [source[t.startchar : t.endchar] for t in analyzer()(source, chars=True)] == [
        "重油",
        "汽缶",
        "ボイラー",
        "燃料",
    ]
