"""The relevance benchmark on a slice of JSQuAD: its JSON shape, and every system finds answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mikke import _ranking

REPO = Path(__file__).resolve().parents[1]
JSQUAD = Path(os.environ.get("MIKKE_RELEVANCE_DATA", REPO / ".." / "shared" / "data" / "relevance")) / "jsquad"
QUESTIONS = 200
DISTRACTORS = 300
FILES = ("queries.jsonl", "qrels.tsv", "corpus.jsonl")


def make_slice(target: Path) -> tuple[int, int]:
    """The first questions, their paragraphs and some other paragraphs, as a benchmark DIR."""
    lines = {name: (JSQUAD / name).read_text(encoding="utf-8").splitlines(keepends=True) for name in FILES}
    queries = [json.loads(line) for line in lines["queries.jsonl"][:QUESTIONS]]
    wanted = {q["id"] for q in queries}
    qrels = [line for line in lines["qrels.tsv"] if line.split()[0] in wanted]
    relevant = {line.split()[1] for line in qrels}
    corpus = [json.loads(line) for line in lines["corpus.jsonl"]]
    docs = [d for d in corpus if d["id"] in relevant] + [d for d in corpus if d["id"] not in relevant][-DISTRACTORS:]
    target.mkdir()
    (target / "queries.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries))
    (target / "qrels.tsv").write_text("".join(qrels))
    (target / "corpus.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs))
    return len(docs), len(queries)


@pytest.mark.skipif(not (JSQUAD / "corpus.jsonl").exists(), reason=f"relevance data not found at {JSQUAD}")
def test_benchmark_slice_scores_every_system(tmp_path: Path) -> None:
    docs, queries = make_slice(tmp_path / "slice")
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "relevance.py"), "--data", str(tmp_path / "slice"), "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    result = json.loads(run.stdout)
    assert (result["docs"], result["queries"]) == (docs, queries)
    assert "mikke" in result["systems"] and len(result["systems"]) >= 2
    for name, scores in result["systems"].items():
        assert set(scores) == {"mrr@10", "recall@10", "ndcg@10", "query_ms"}, name
        assert 0 < scores["mrr@10"] <= scores["recall@10"] <= 1, name
        assert 0 < scores["ndcg@10"] <= 1 and scores["query_ms"] > 0, name


def test_long_question_ranks_the_answering_post_first(make_corpus) -> None:  # type: ignore[no-untyped-def]
    from mikke import Searcher, update_index

    config = make_corpus(
        {
            "_posts/2025-01-01-repeat.md": "---\ntitle: 雑記\n---\n\n" + "琵琶湖の話。" * 6 + "\n",
            "_posts/2025-01-02-answer.md": (
                "---\ntitle: 地理\n---\n\n琵琶湖は滋賀県にある日本最大の湖で、面積は約670平方キロメートルである。\n"
            ),
        }
    )
    update_index(config)
    hits = Searcher(config).search("滋賀県にある日本最大の湖である琵琶湖の面積はどれくらい？", per_post=True).hits
    assert [h.path for h in hits] == ["_posts/2025-01-02-answer.md", "_posts/2025-01-01-repeat.md"]


def test_post_saying_the_query_in_one_sentence_ranks_first(make_corpus) -> None:  # type: ignore[no-untyped-def]
    from mikke import Searcher, update_index

    config = make_corpus(
        {
            "_posts/2025-01-01-scattered.md": (
                "---\ntitle: 滋賀の旅\n---\n\n"
                "琵琶湖は滋賀県にある。面積の話は別の機会にしたい。琵琶湖の夕日がきれいだった。\n"
            ),
            "_posts/2025-01-02-answer.md": (
                "---\ntitle: 滋賀の地理\n---\n\n"
                "滋賀県は近畿地方の県である。琵琶湖の面積は約670平方キロメートルである。\n"
            ),
        }
    )
    update_index(config)
    hits = Searcher(config).search("琵琶湖 面積", per_post=True).hits
    assert [h.path for h in hits] == ["_posts/2025-01-02-answer.md", "_posts/2025-01-01-scattered.md"]


def test_keyword_query_finds_the_answer_that_lacks_its_attribute_word(make_corpus) -> None:  # type: ignore[no-untyped-def]
    """A keyword query's attribute word (開催頻度) is rarely in the answer: the post about the
    subject (its name in the title) is found even though another post holds both words (a strict
    AND of short queries would return that one only)."""
    from mikke import Searcher, update_index

    config = make_corpus(
        {
            "_posts/2025-01-01-answer.md": "---\ntitle: FIFAワールドカップ\n---\n\n本大会は4年ごとに開催される。\n",
            "_posts/2025-01-02-both.md": (
                "---\ntitle: 雑記\n---\n\nワールドカップの開催頻度について友人と話した。結論は出なかった。\n"
            ),
            "_posts/2025-01-03-other.md": "---\ntitle: 会議\n---\n\n会議の開催頻度を見直した。\n",
        }
    )
    update_index(config)
    hits = Searcher(config).search("ワールドカップ 開催頻度", per_post=True).hits
    paths = [h.path for h in hits]
    assert set(paths[:2]) == {"_posts/2025-01-01-answer.md", "_posts/2025-01-02-both.md"}
    assert paths[2] == "_posts/2025-01-03-other.md"  # the common word only: last


def ranked(make_corpus, title: str, texts: dict[str, str], question: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The names of ``texts`` (each one post under ``title``) in the order ``question`` ranks them."""
    from mikke import Searcher, update_index

    config = make_corpus(
        {f"_posts/2025-01-01-{name}.md": f"---\ntitle: {title}\n---\n\n{text}\n" for name, text in texts.items()}
    )
    update_index(config)
    return [
        Path(hit.path).stem.removeprefix("2025-01-01-") for hit in Searcher(config).search(question, per_post=True).hits
    ]


def test_a_compound_is_held_where_its_parts_stand_together(make_corpus) -> None:  # type: ignore[no-untyped-def]
    """コンゴ民主共和国の首都 holds コンゴ共和国's parts next to 首都, but it is another country's
    capital: the paragraph saying コンゴ共和国の首都 itself ranks first."""
    texts = {
        "regions": (
            "コンゴ共和国は、首都のブラザヴィルと10の地方に分かれている。括弧内の地名は当該地方の中心都市である。"
        ),
        "river": (
            "ブラザビルはコンゴ川の航行可能部の末端に面し、内陸の交通の要所である。"
            "マレボ湖の対岸にあるコンゴ民主共和国の首都キンシャサとはフェリー便の連絡がある。"
        ),
    }
    assert ranked(make_corpus, "コンゴ共和国", texts, "コンゴ共和国の首都は？") == ["regions", "river"]


def test_a_word_in_katakana_in_brackets_is_found(make_corpus) -> None:  # type: ignore[no-untyped-def]
    """JSQuAD's 船舶のボイラーの燃料は？ (two paragraphs of 石油): the answer writes 汽缶（ボイラー）,
    which Sudachi read as 汽缶 alone, dropping the katakana as its reading; it now holds every
    word and ranks above the paragraph that holds 船舶 and ボイラー only."""
    texts = {
        "refining": (
            "沸点320℃以上の蒸留で、船舶のエンジンやボイラーに用いられる重油が精製される。"
            "これらの石油製品は、常温で液体である。"
        ),
        "engines": (
            "19世紀末の自動車の商業実用化、20世紀初めの飛行機の発明は、ガソリンエンジンと切り離しては"
            "考えられない。船舶も重油を汽缶（ボイラー）の燃料にするようになった。"
        ),
    }
    assert ranked(make_corpus, "石油", texts, "船舶のボイラーの燃料は？") == ["engines", "refining"]


@pytest.mark.skipif(not (JSQUAD / "corpus.jsonl").exists(), reason=f"relevance data not found at {JSQUAD}")
def test_a_trigram_ending_in_a_particle_weighs_less_than_the_words(make_corpus, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """民主党は声明書で何を宣言したか？ over the paragraphs of three JSQuAD articles (労働基本権,
    ベトナムの歴史, 日本共産党): the question's paragraph (なお民主党はマニフェストで…を宣言していた)
    ranks first when a trigram with an end outside the question's words (を宣言, 言した) weighs
    0.4 of one inside them; at 0.5 a paragraph about Vietnam's independence (…の誕生を宣言した) led."""
    from mikke import Searcher, update_index

    lines = (JSQUAD / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    docs = [doc for doc in map(json.loads, lines) if doc["id"].split("p")[0] in {"a17703", "a31397", "a14985"}]
    config = make_corpus(
        {f"_posts/2025-01-01-{d['id']}.md": f"---\ntitle: {d['title']}\n---\n\n{d['text']}\n" for d in docs}
    )
    update_index(config)
    searcher = Searcher(config)

    def first() -> str:
        return Path(searcher.search("民主党は声明書で何を宣言したか？", per_post=True).hits[0].path).stem

    assert first() == "2025-01-01-a17703p21"
    monkeypatch.setattr(_ranking, "OUTER_TRIGRAM_WEIGHT", 0.5)
    assert first() == "2025-01-01-a31397p10"


def test_request_phrases_do_not_change_the_ranking(make_corpus) -> None:  # type: ignore[no-untyped-def]
    from mikke import Searcher, update_index

    config = make_corpus(
        {
            "_posts/2025-01-01-a.md": "---\ntitle: 富士山\n---\n\n富士山の高さは3776メートルである。\n",
            "_posts/2025-01-02-b.md": "---\ntitle: 教え方\n---\n\n子どもに高さの測り方を教えてください、と頼まれた。\n",
        }
    )
    update_index(config)
    searcher = Searcher(config)
    plain = [h.path for h in searcher.search("富士山の高さ", per_post=True).hits]
    asked = [h.path for h in searcher.search("富士山の高さを教えてください", per_post=True).hits]
    assert asked == plain and plain[0] == "_posts/2025-01-01-a.md"


@pytest.mark.skipif(not (JSQUAD / "corpus.jsonl").exists(), reason=f"relevance data not found at {JSQUAD}")
def test_benchmark_slices_and_variants(tmp_path: Path) -> None:
    make_slice(tmp_path / "slice")
    command = [sys.executable, str(REPO / "bench" / "relevance.py"), "--data", str(tmp_path / "slice")]
    command += ["--systems", "mikke,bm25s-sudachi", "--variant", "prefix,kana", "--json"]
    halves = []
    for part in ("dev", "test"):
        run = subprocess.run([*command, "--slice", part], capture_output=True, text=True, check=True, cwd=tmp_path)
        halves.append(json.loads(run.stdout))
    dev, test = halves
    # The two slices split the questions between them, about half each.
    assert dev["queries"] + test["queries"] == QUESTIONS and 0.3 < dev["queries"] / QUESTIONS < 0.7
    assert dev["slice"] == "dev" and list(dev["variants"]) == ["prefix", "kana"]
    for name, scores in dev["systems"].items():
        assert set(scores) == {"mrr@10", "recall@10", "ndcg@10", "query_ms", "variants"}, name
        for variant, pair in scores["variants"].items():
            assert 0 < dev["variants"][variant] <= dev["queries"]
            assert 0 < pair["rewritten"]["mrr@10"] <= 1 and 0 < pair["as_written"]["mrr@10"] <= 1, (name, variant)
    # On the queries prefix rewrites (all of them here), "as written" is the whole slice's score.
    assert dev["variants"]["prefix"] == dev["queries"]
    assert dev["systems"]["mikke"]["variants"]["prefix"]["as_written"]["mrr@10"] == dev["systems"]["mikke"]["mrr@10"]


def test_benchmark_rejects_an_unknown_variant(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "relevance.py"), "--variant", "spelling"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 2 and "unknown variant(s): spelling" in run.stderr and "Traceback" not in run.stderr
