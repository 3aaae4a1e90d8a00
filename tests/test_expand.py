"""Query understanding on real text: prefixes, readings, synonyms, typos, and how they show."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import FUTURE_POST
from mikke import Config, Searcher, update_index
from mikke import _expand as expand_module
from mikke import _scoring as scoring_module
from mikke._analysis import known_word, words
from mikke._config import load_config
from mikke._errors import ConfigError
from mikke._render import result_to_dict
from mikke._schema import SEARCH_FIELDS
from mikke._synonyms import builtin, parse_synonyms
from mikke.cli import main


def highlighted(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {hit.snippet.text[a:b] for hit in result.hits for a, b in hit.snippet.highlights}


def kinds(result) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return {e["kind"]: list(e["terms"]) for e in result.expansions}


def test_a_reading_finds_the_word_and_never_a_word_it_only_ends_with(searcher: Searcher) -> None:
    result = searcher.search("えきたい")  # Sudachi cuts it え + きたい (期待): those pieces are not searched
    assert result.hits and kinds(result) == {"reading": ["液体"]}
    assert "液体" in highlighted(result) and "期待" not in highlighted(result)
    assert all("液体" in hit.snippet.text for hit in result.hits)
    assert searcher.search("液体").total == result.total


def test_reading_of_cooling(searcher: Searcher) -> None:
    result = searcher.search("れいきゃく")
    assert kinds(result) == {"reading": ["冷却"]}
    assert result.total == searcher.search("冷却").total and "冷却" in highlighted(result)


def test_katakana_reading_too(searcher: Searcher) -> None:
    assert kinds(searcher.search("エキタイ")) == {"reading": ["液体"]}


def test_a_literal_match_ranks_above_a_reading(make_corpus) -> None:  # type: ignore[no-untyped-def]
    config: Config = make_corpus(
        {
            "_posts/2025-01-01-gas.md": "---\ntitle: 記録\n---\n\n気体の性質を調べた。\n",
            "_posts/2025-01-02-hope.md": "---\ntitle: 記録\n---\n\n結果に期待している。\n",
        }
    )
    update_index(config)
    result = Searcher(config).search("きたい")  # Sudachi reads it 期待; 気体 reads きたい too
    assert [h.path for h in result.hits] == ["_posts/2025-01-02-hope.md", "_posts/2025-01-01-gas.md"]
    assert kinds(result) == {"reading": ["気体"]}


def test_a_word_typed_in_hiragana_inside_a_sentence_finds_the_word(searcher: Searcher) -> None:
    result = searcher.search("データセンターのれいきゃくは？")  # Sudachi cuts it 零 + 脚: those pieces are not searched
    assert kinds(result) == {"reading": ["冷却"]} and "冷却" in highlighted(result)
    assert result.total == searcher.search("データセンターの冷却は？").total


def test_words_typed_in_hiragana_one_after_another_find_each(searcher: Searcher) -> None:
    result = searcher.search("えきたいれいきゃくとは")  # Sudachi: え + きたい + れい + きゃく
    assert [(e["word"], list(e["terms"])) for e in result.expansions] == [
        ("えきたい", ["液体"]),
        ("れいきゃく", ["冷却"]),
    ]
    assert result.total == searcher.search("液体 冷却").total > 0
    assert "液体冷却" in highlighted(result)  # the two words next to each other, one highlight


def test_the_grammar_of_a_sentence_is_not_read_as_words_typed_in_kana(make_corpus) -> None:  # type: ignore[no-untyped-def]
    text = "賞を取った。農地を広げた。内科で診る。歩かない。花井さんの話。"
    config: Config = make_corpus({"_posts/2025-01-01-a.md": f"---\ntitle: 記録\n---\n\n{text}\n"})
    update_index(config)
    searcher = Searcher(config)
    questions = {  # a run of hiragana holding a reading of an indexed word, read as grammar
        "しょう": "賞を取ったのは誰でしょう？",
        "のうち": "三つのうち最も広い農地は？",
        "ないか": "内科ではないか",
        "あるか": "歩道はどこにあるか？",
        "はない": "花井さんではない",
    }
    arrays = searcher.current()
    for reading, question in questions.items():
        assert expand_module.reading_words(arrays, reading), reading
        assert "reading" not in kinds(searcher.search(question)), question
    assert kinds(searcher.search("のうちの広さは？")) == {"reading": ["農地"]}  # at the start: a word


@pytest.mark.parametrize("on_disk", [0, 1_000_000])  # copied to memory at once, or never
def test_readings_are_found_as_whoosh_lists_its_reading_lexicon(
    sample_config: Config, on_disk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scoring_module, "READINGS_ON_DISK", on_disk)
    arrays = Searcher(sample_config).current()
    reader = arrays.searcher.reader()
    readings = sorted({term.decode().partition("\t")[0] for term in reader.lexicon("reading")})
    asked = [(reading, False) for reading in readings] + [
        (prefix, True) for prefix in sorted({r[:n] for r in readings for n in (1, 2, 3)})
    ]
    for reading, prefix in asked:
        counts: dict[str, int] = {}
        for term, info in reader.iter_prefix("reading", reading if prefix else reading + "\t"):
            word = term.decode().partition("\t")[2]
            counts[word] = counts.get(word, 0) + info.doc_frequency()
        expected = sorted(counts, key=lambda word: (-counts[word], word))[: expand_module.PREFIX_LIMIT]
        assert expand_module.reading_words(arrays, reading, prefix) == expected, (reading, prefix)
    assert len(readings) > 100 and any(len(expand_module.reading_words(arrays, r, True)) > 1 for r, _ in asked)
    assert (arrays.readings() is None) == bool(on_disk)


def test_synonyms_find_posts_full_of_ai(searcher: Searcher) -> None:
    result = searcher.search("人工知能")
    assert kinds(result) == {"synonym": ["ai"]}
    assert result.total > 10 and "AI" in highlighted(result)


def test_the_expansion_control_flags_are_honoured() -> None:
    synonyms = builtin()
    assert "ai" in synonyms.get("人工知能")
    assert synonyms.get("ai") == ()  # 展開制御 1: AI is in several groups and expands nothing
    assert synonyms.get("ソフト") == ()  # triggers in several groups: ambiguous
    assert synonyms.get("マガジン") == ("雑誌",)  # 展開制御 1, but in no other group: it means 雑誌
    assert "国際連合" in synonyms.get("un")  # 展開制御 1 here and in a company's name, which counts less
    assert "日" not in synonyms.get("太陽")  # お日様 is analysed 日: another word, left out


def test_prefix_completes_the_last_word(searcher: Searcher) -> None:
    typed = searcher.search("データセ", prefix=True)
    assert kinds(typed) == {"prefix": ["データセンター"]}
    assert typed.total == searcher.search("データセンター").total
    assert "prefix" not in kinds(searcher.search("データセ"))
    assert kinds(searcher.search("nvid", prefix=True)) == {"prefix": ["nvidia"]}
    assert kinds(searcher.search("液体冷却のデータセ", prefix=True))["prefix"] == ["データセンター"]
    assert kinds(searcher.search("データセンタ", prefix=True))["prefix"] == ["データセンター"]  # データ + センター
    assert "prefix" not in kinds(searcher.search("データセ ", prefix=True))  # a space after it: the word is done


def test_prefix_keeps_the_most_frequent_words(searcher: Searcher, monkeypatch: pytest.MonkeyPatch) -> None:
    every = kinds(searcher.search("デー", prefix=True))["prefix"]
    assert len(every) > 2 and "データ" in every
    monkeypatch.setattr(expand_module, "PREFIX_LIMIT", 2)
    arrays = searcher.current()
    counts = {
        w: max(arrays._postings(f, w)[0].size for f in ("title", "heading", "tags", "excerpt", "body")) for w in every
    }
    expected = sorted(every, key=lambda w: (-counts[w], w))[:2]
    assert expand_module.prefix_words(arrays, "デー") == expected


def test_prefix_words_are_those_whooshs_lexicon_gives(searcher: Searcher) -> None:
    """The completions found in the sorted vocabulary are whoosh's own: its lexicon read field by
    field from the prefix, each word counted in the field where most documents hold it."""
    arrays = searcher.current()
    reader = arrays.searcher.reader()

    def from_lexicon(prefix: str) -> list[str]:
        counts: dict[str, int] = {}
        for field in SEARCH_FIELDS:
            for term, info in reader.iter_prefix(field, prefix):
                if (word := term.decode()) != prefix:
                    counts[word] = max(counts.get(word, 0), info.doc_frequency())
        return sorted(counts, key=lambda w: (-counts[w], w))[: expand_module.PREFIX_LIMIT]

    prefixes = sorted({term[:n] for term in arrays.sorted_terms() for n in (1, 2, 3)})
    assert len(prefixes) > 500
    assert [expand_module.prefix_words(arrays, p) for p in prefixes] == [from_lexicon(p) for p in prefixes]


def test_an_exact_match_ranks_above_a_completion(make_corpus) -> None:  # type: ignore[no-untyped-def]
    config: Config = make_corpus(
        {
            "_posts/2025-01-01-long.md": "---\ntitle: 記録\n---\n\nzorbex zorbex の話。\n",
            "_posts/2025-01-02-exact.md": "---\ntitle: 記録\n---\n\nzorb の話。\n",
        }
    )
    update_index(config)
    result = Searcher(config).search("zorb", prefix=True)
    assert [h.path for h in result.hits] == ["_posts/2025-01-02-exact.md", "_posts/2025-01-01-long.md"]


def top(result) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    hit = result.hits[0]
    return hit.path, hit.anchor, hit.snippet.text


def test_a_typo_is_corrected_and_suggested(searcher: Searcher) -> None:
    result = searcher.search("nvdia")
    assert result.suggestion == "nvidia" and kinds(result) == {"typo": ["nvidia"]}
    assert result.total == searcher.search("nvidia").total > 0
    assert searcher.search("NVDIA GPU").suggestion == "NVIDIA GPU"
    assert searcher.search("nvidia").suggestion is None


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("スタトーアップ", "スタートアップ"),  # two neighbours swapped
        ("ノウルェー", "ノルウェー"),
        ("デーセタンター", "データセンター"),  # Sudachi cuts it デー + セタ + ンター
        ("ワークロド", "ワークロード"),  # a ー dropped
        ("ボトルネク", "ボトルネック"),  # a ッ dropped
        ("ネトッワーク", "ネットワーク"),  # cut ネトッ + ワーク, a word no post holds
        ("ハドーウェア", "ハードウェア"),
        ("スレトージ", "ストレージ"),
        ("ボルトネック", "ボトルネック"),  # ボルト + ネック, words Sudachi knows, one slip from one word
    ],
)
def test_a_mistyped_katakana_word_finds_what_the_word_finds(searcher: Searcher, typed: str, meant: str) -> None:
    result, right = searcher.search(typed), searcher.search(meant)
    assert result.suggestion == meant and right.suggestion is None
    assert top(result) == top(right) and result.total == right.total
    assert kinds(result)["typo"] and highlighted(result) == highlighted(right)


def test_a_typo_in_a_question_is_corrected(searcher: Searcher) -> None:
    question = "Nscaleはノウルェーのデータセンターに何を置く？"
    result = searcher.search(question)
    assert result.suggestion == "Nscaleはノルウェーのデータセンターに何を置く?"
    assert top(result) == top(searcher.search("Nscaleはノルウェーのデータセンターに何を置く？"))


def test_a_word_typed_right_is_never_corrected(searcher: Searcher, sample_config: Config) -> None:
    runs = {
        run
        for post in (sample_config.corpus / "_posts").glob("*.md")
        for run in re.findall(r"[ァ-ヺー]{3,}|[A-Za-z]{3,}", post.read_text(encoding="utf-8"))
    }
    assert len(runs) > 200
    assert [run for run in sorted(runs) if expand_module.correct(searcher.current(), run)] == []
    for word in ("モノトーン", "ハーモニカ", "インフラ プロバイダー"):  # words Sudachi knows, held or not
        assert searcher.search(word).suggestion is None


def test_a_literal_match_ranks_above_a_correction(make_corpus) -> None:  # type: ignore[no-untyped-def]
    post = "---\ntitle: 記録 {}\n---\n\n{}の本。\n"
    posts = {f"_posts/2025-01-{n:02}-run.md": post.format(n, f"{n}月のマラソン") for n in range(1, 13)}
    posts["_posts/2025-02-01-typed.md"] = post.format(13, "ラマソン")
    posts["_posts/2025-02-02-odd.md"] = post.format(14, "キマアヴェリ")
    posts["_posts/2025-02-03-name.md"] = post.format(15, "マキアヴェリ")
    config: Config = make_corpus(posts)
    update_index(config)
    searcher = Searcher(config)
    result = searcher.search("ラマソン")  # one post holds it, one swap away twelve hold マラソン
    assert result.suggestion == "マラソン" and result.total == 13
    assert result.hits[0].path == "_posts/2025-02-01-typed.md"
    result = searcher.search("キマアヴェリ")  # one post, and its correction one: not clearly better
    assert result.suggestion is None and [h.path for h in result.hits] == ["_posts/2025-02-02-odd.md"]


def test_a_typo_check_is_kept_for_its_index_generation_only(make_corpus) -> None:  # type: ignore[no-untyped-def]
    post = "---\ntitle: 記録 {}\n---\n\n{}の本。\n"
    posts = {f"_posts/2025-01-{n:02}-run.md": post.format(n, "ラマソン") for n in range(1, 3)}
    config: Config = make_corpus(posts)
    update_index(config)
    searcher = Searcher(config)
    assert searcher.search("ラマソン").suggestion is None  # no post holds マラソン yet
    assert searcher.current().corrections.get("ラマソン") == (None,)  # the check, kept
    for n in range(3, 40):
        (config.corpus / f"_posts/2025-02-{n:02}-run.md").write_text(post.format(n, "マラソン"), encoding="utf-8")
    update_index(config)
    result = searcher.search("ラマソン")  # the next generation checks it again
    assert result.suggestion == "マラソン" and searcher.current().corrections.get("ラマソン") is not None


def test_a_word_in_hiragana_is_corrected_into_one_word(make_corpus) -> None:  # type: ignore[no-untyped-def]
    config: Config = make_corpus({"_posts/2025-01-01-a.md": "---\ntitle: 記録\n---\n\nさねかずらの実が赤い。\n"})
    update_index(config)
    searcher = Searcher(config)
    result = searcher.search("ねさかずら")  # Sudachi cuts it ね + さ + かずら
    assert result.suggestion == "さねかずら" and [h.path for h in result.hits] == ["_posts/2025-01-01-a.md"]
    assert searcher.search("さねかずらの実").suggestion is None


def test_expansions_show_in_the_json_and_in_explain(sample_config: Config) -> None:
    data = result_to_dict(Searcher(sample_config).search("nvdia"))
    assert data["suggestion"] == "nvidia"
    assert data["expansions"] == [{"word": "nvdia", "kind": "typo", "terms": ["nvidia"]}]
    runner = CliRunner()
    base = ["--corpus", str(sample_config.corpus), "--index", str(sample_config.index), "search"]
    out = runner.invoke(main, [*base, "データセ", "--prefix", "--explain", "--limit", "1"]).output
    assert "データセ (prefix): データセンター" in out
    out = runner.invoke(main, [*base, "えきたい", "--json", "--explain", "--limit", "1"]).output
    assert json.loads(out)["explain"]["expansions"] == [{"word": "えきたい", "kind": "reading", "terms": ["液体"]}]


def test_a_blogs_synonyms_file_adds_to_sudachis(tmp_path: Path) -> None:
    corpus = tmp_path / "blog" / "corpus" / "_posts"
    corpus.mkdir(parents=True)
    (corpus / "2025-01-01-a.md").write_text("---\ntitle: 記録\n---\n\n液冷の装置を入れた。\n", encoding="utf-8")
    (corpus / "2025-01-02-b.md").write_text("---\ntitle: 記録\n---\n\nKubernetes を使う。\n", encoding="utf-8")
    toml = tmp_path / "blog" / "mikke.toml"
    toml.write_text('[mikke]\ncorpus = "corpus"\nsynonyms = "synonyms.txt"\n', encoding="utf-8")
    (tmp_path / "blog" / "synonyms.txt").write_text("# ours\n液冷, 水冷\nk8s => Kubernetes\n", encoding="utf-8")
    config = load_config(toml).with_options(corpus=tmp_path / "blog" / "corpus", index=tmp_path / "index")
    assert config.synonyms == tmp_path / "blog" / "synonyms.txt"  # relative to mikke.toml
    update_index(config)
    searcher = Searcher(config)
    assert [h.path for h in searcher.search("水冷").hits] == ["_posts/2025-01-01-a.md"]
    assert [h.path for h in searcher.search("k8s").hits] == ["_posts/2025-01-02-b.md"]
    assert parse_synonyms("人工知能, 機械知能").get("機械 知能") == ("人工知能",)  # a word as its terms
    (tmp_path / "blog" / "synonyms.txt").write_text("液冷, 空冷\n", encoding="utf-8")  # read again, no reindex
    assert searcher.search("k8s").total == 0 and searcher.search("空冷").total == 1


def test_a_missing_synonyms_file_is_one_clear_error(sample_config: Config, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the synonyms file"):
        Searcher(dataclasses.replace(sample_config, synonyms=tmp_path / "nope.txt"))
    toml = tmp_path / "mikke.toml"
    toml.write_text('[mikke]\nsynonyms = "nope.txt"\n', encoding="utf-8")
    base = ["--config", str(toml), "--corpus", str(sample_config.corpus), "--index", str(sample_config.index)]
    result = CliRunner().invoke(main, [*base, "search", "液体"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert result.output.strip().splitlines() == [
        f"Error: cannot read the synonyms file {tmp_path / 'nope.txt'}: No such file or directory"
    ]


def test_readings_of_a_post_added_by_an_update(make_corpus) -> None:  # type: ignore[no-untyped-def]
    config: Config = make_corpus({"_posts/2025-01-01-a.md": "---\ntitle: 記録\n---\n\n装置の話。\n"})
    update_index(config)
    assert Searcher(config).search("えきたい").hits == ()
    post = config.corpus / "_posts" / "2025-01-02-b.md"
    post.write_text("---\ntitle: 記録\n---\n\n液体で冷やす。\n", encoding="utf-8")
    assert update_index(config).added == 1  # whoosh's own writer, with the analyzer in the schema
    assert [h.path for h in Searcher(config).search("えきたい").hits] == ["_posts/2025-01-02-b.md"]


def test_sample_post_of_the_reading_tests() -> None:
    text = (Path(__file__).resolve().parent.parent / "corpus" / FUTURE_POST).read_text(encoding="utf-8")
    assert "液体" in text and "冷却" in text and "Nvidia" in text


def test_whether_the_index_holds_a_word_is_read_off_its_vocabulary_as_off_its_postings(searcher: Searcher) -> None:
    arrays = searcher.current()
    vocabulary = list(arrays.vocabulary())
    words = [*vocabulary[::7], "存在しない語", "液体 冷却", "液体 存在しない語", "ai", "人工知能"]
    expected = [
        all(any(arrays._postings(field, term)[0].size for field in SEARCH_FIELDS) for term in word.split(" "))
        for word in words
    ]
    assert [expand_module._holds(arrays, word) for word in words] == expected
    assert 10 < sum(expected) < len(words)


def every_edit(word: str) -> set[str]:
    """Every word one edit away from ``word`` (a letter dropped, added or replaced by one of its script), made."""
    module = expand_module
    letters = (
        module._LATIN
        if word.isascii()
        else module._HIRAGANA_LETTERS
        if module._HIRAGANA.fullmatch(word)
        else module._KATAKANA_LETTERS
    )
    found = {word[:n] + word[n + 1 :] for n in range(len(word))}
    found |= {word[:n] + letter + word[n + 1 :] for n in range(len(word)) for letter in letters if letter != word[n]}
    return found | {word[:n] + letter + word[n:] for n in range(len(word) + 1) for letter in letters}


def test_the_indexed_words_one_edit_away_are_those_every_edit_made_finds(searcher: Searcher) -> None:
    """The typo check reads the words that begin as an edit of a run does off the sorted vocabulary,
    and makes the other edits: together, the indexed ones of every edit made."""
    arrays = searcher.current()
    vocabulary, terms = arrays.vocabulary(), arrays.sorted_terms()
    runs = [term for term in terms if expand_module._RUN.fullmatch(term) and len(term) >= 4]
    typed = [*runs, *(run[:2] + run[3:] for run in runs), *(run[1] + run[0] + run[2:] for run in runs), "nvdia"]
    found = 0
    for word in typed:
        expected = vocabulary.keys() & every_edit(word)
        assert expand_module._indexed_edits(vocabulary, terms, word) == expected, word
        found += bool(expected)
    assert len(runs) > 100 and found > 100


def test_a_slip_cut_into_one_word_sudachi_knows_is_one_in_its_dictionary() -> None:
    """The typo check skips analysing a slip of a run of known words that the dictionary does not hold."""
    one = others = 0
    for run in ("ボルトネック", "データベース", "ネットワーク", "サーバー", "ハリーポッター", "さねかずら", "nvidia"):
        for slip in dict.fromkeys(expand_module._slips(run)):
            cut = words(slip)
            if len(cut) == 1 and cut[0].known:
                one += 1
                assert known_word(slip), slip
            elif not known_word(slip):
                others += 1
    assert one >= 5 and others >= 50  # both kinds met
    assert known_word("ボトルネック") and known_word("ボトルネーーック") == known_word("ボトルネーック")


def test_a_run_of_real_text_cut_into_one_word_sudachi_knows_is_one_in_its_dictionary(searcher: Searcher) -> None:
    """The typo check asks Sudachi's words of a run only when its dictionary holds the run (``known_word``)."""
    arrays = searcher.current()
    texts = [arrays.shown_text(docnum) for docnum in range(arrays.size)]
    runs = {run.group() for text in texts for run in expand_module._RUN.finditer(text)}
    one = 0
    for run in runs:
        cut = words(run)
        if len(cut) == 1 and cut[0].known:
            one += 1
            assert known_word(run), run
    assert one > 50
