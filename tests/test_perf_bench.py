"""bench/perf.py on a tiny corpus: the output shape and the passages it grows to (no timing asserts)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

try:
    from bench import perf
except ModuleNotFoundError:  # bench/ is not installed: import it from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench import perf

from bench.peers import peer_status

RECORDS = [
    {
        "id": "fuji",
        "title": "富士山",
        "text": "富士山は静岡県と山梨県にまたがる日本最高峰の山である。\n\n標高は3776メートル。",
    },
    {
        "id": "sushi",
        "title": "寿司",
        "text": "寿司は酢飯に魚介類を組み合わせた料理である。\n\n江戸時代に握り寿司が広まった。",
    },
    {"id": "shinkansen", "title": "新幹線", "text": "東海道新幹線は1964年に開業した高速鉄道である。"},
]
QUERIES = ["富士山の標高は？", "寿司", "新幹線はいつ開業した？", "。"]


@pytest.fixture
def corpus_jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in RECORDS), encoding="utf-8")
    return path


def test_read_queries_takes_jsonl_text_and_plain_lines(tmp_path: Path) -> None:
    jsonl, lines = tmp_path / "q.jsonl", tmp_path / "q.txt"
    jsonl.write_text('{"id": "1", "text": "富士山の標高"}\n\n{"id": "2", "text": "寿司"}\n', encoding="utf-8")
    lines.write_text("富士山の標高\n\n寿司\n", encoding="utf-8")
    assert perf.read_queries(jsonl) == perf.read_queries(lines) == ["富士山の標高", "寿司"]
    assert perf.read_queries(lines, limit=1) == ["富士山の標高"]


def test_json_output_has_the_issue_shape(
    corpus_jsonl: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if peer_status()[perf.SQLITE] is not None:
        pytest.skip(f"{perf.SQLITE} not available: {peer_status()[perf.SQLITE]}")
    queries = tmp_path / "queries.txt"
    queries.write_text("\n".join(QUERIES), encoding="utf-8")
    argv = [
        "--corpus",
        str(corpus_jsonl),
        "--queries",
        str(queries),
        "--peers",
        perf.SQLITE,
        "--sizes",
        "4,12",
        "--rounds",
        "2",
        "--json",
    ]
    assert perf.main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    build = result["build"]
    assert {"tokenize_s", "build_s", "ratio", "peak_rss_mb", "index_mb", "text_mb"} <= set(build)
    assert build["ratio"] == pytest.approx(build["build_s"] / build["tokenize_s"], rel=0.1)
    assert len(build["rounds"]) == 2 and build["ratio"] == max(r["ratio"] for r in build["rounds"])  # the median's
    assert build["index_mb"] > 0 and build["index_per_text"] > 0 and build["peak_rss_mb"] > 0
    assert set(result["queries"]) == {perf.MIKKE, perf.SQLITE}
    for latency in result["queries"].values():
        assert set(latency) == {"p50_ms", "p95_ms"} and 0 < latency["p50_ms"] <= latency["p95_ms"]
    assert result["corpus"] == {"posts": 3, "passages": 5, "queries": len(QUERIES)}
    # Posts are copied until the size is reached: 4 takes all three posts (5 passages);
    # 12 takes them twice (10) and then the 2-passage fuji post under a third id.
    assert [g["passages"] for g in result["growth"]] == [5, 12]
    assert all(set(g) == {"passages", "build_s", "mikke_p50_ms"} for g in result["growth"])


def test_table_names_every_target(corpus_jsonl: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    queries = tmp_path / "queries.txt"
    queries.write_text("\n".join(QUERIES), encoding="utf-8")
    assert perf.main(["--corpus", str(corpus_jsonl), "--queries", str(queries), "--peers", "", "--sizes", ""]) == 0
    out = capsys.readouterr().out
    assert "| mikke |" in out
    assert "build / tokenize-only" in out and "peak RSS" in out


def test_build_only_stops_after_the_build(
    corpus_jsonl: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = tmp_path / "queries.txt"
    queries.write_text("\n".join(QUERIES), encoding="utf-8")
    assert perf.main(["--corpus", str(corpus_jsonl), "--queries", str(queries), "--build-only", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["corpus"]["passages"] == 5 and result["build"]["build_s"] > 0
    assert result["queries"] == {} and result["growth"] == []
    assert perf.main(["--corpus", str(corpus_jsonl), "--queries", str(queries), "--build-only"]) == 0
    out = capsys.readouterr().out
    assert "build / tokenize-only = " in out and "| mikke |" not in out and "mikke p50" not in out


def test_each_query_is_timed_on_every_system_in_turn() -> None:
    calls: list[tuple[str, str]] = []
    searches = {name: (lambda query, name=name: calls.append((name, query))) for name in ("mikke", "peer")}
    queries = ["富士山", "寿司", "新幹線"]
    result = perf.latencies(searches, queries)
    timed = calls[2 * len(queries[: perf.WARMUP]) :]  # after the warm-up
    assert [name for name, _ in timed] == ["mikke", "peer", "peer", "mikke", "mikke", "peer"]  # each first in turn
    assert [query for _, query in timed] == [query for query in queries for _ in range(2)]
    assert set(result) == {"mikke", "peer"} and all(set(r) == {"p50_ms", "p95_ms"} for r in result.values())
