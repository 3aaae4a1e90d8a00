"""The parallel full build: same index as the serial one, and a failing worker fails the commit."""

from __future__ import annotations

from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from mikke import Config, MikkeError, Searcher, _indexing, update_index
from mikke._parallel import ParallelWriter
from mikke._schema import build_schema

TOPICS = {
    "fuji": "富士山は静岡県と山梨県にまたがる日本最高峰の山である。標高は3776メートル。",
    "sushi": "寿司は酢飯に魚介類を組み合わせた料理である。江戸時代に握り寿司が広まった。",
    "shinkansen": "東海道新幹線は1964年に東京と新大阪の間で開業した高速鉄道である。",
    "datacenter": "データセンターの液体冷却はサーバーの発熱を効率よく取り除く。",
    "onsen": "温泉は地中から湧き出る湯で、箱根や草津などの温泉地には多くの観光客が訪れる。",
}
QUERIES = ["富士山の標高", "寿司", "センター", "サーバ 冷却", "温泉地", "新幹線 開業"]


def _corpus(root: Path) -> Path:
    posts = root / "_posts"
    posts.mkdir(parents=True)
    for copy in range(4):  # 20 posts, so the build hands several batches to the workers
        for name, text in TOPICS.items():
            body = f"# {name}\n\n{text}\n\n## 補足\n\n{text}の補足。\n"
            (posts / f"2025-01-0{copy + 1}-{name}.md").write_text(
                f"---\ntitle: {name}\n---\n\n{body}", encoding="utf-8"
            )
    return root


def _results(config: Config) -> list[tuple[int, list[tuple[float, str, str]]]]:
    """Total and (score, heading anchor, snippet) of every hit; which copy of a post shows a
    passage that several posts share depends on document order, which workers interleave."""
    searcher = Searcher(config)
    try:
        results = [searcher.search(q, limit=20) for q in QUERIES]
        return [(r.total, sorted((h.score, h.anchor, h.snippet.text) for h in r.hits)) for r in results]
    finally:
        searcher.close()


def test_parallel_build_finds_what_the_serial_build_finds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = _corpus(tmp_path / "corpus")
    serial = Config(corpus=corpus, index=tmp_path / "serial")
    parallel = Config(corpus=corpus, index=tmp_path / "parallel")
    update_index(serial, full=True)
    monkeypatch.setattr(_indexing, "PARALLEL_MIN_POSTS", 1)
    monkeypatch.setattr("mikke._parallel.BATCH_SIZE", 7)
    report = update_index(parallel, full=True)
    assert report.added == 20 and report.skipped == []
    ix = whoosh_index.open_dir(str(parallel.index), indexname=_indexing.INDEX_NAME)
    assert len(ix._segments()) == 2  # one segment per worker, not merged
    assert _results(parallel) == _results(serial)
    assert all(total > 0 for total, _ in _results(parallel))


def test_a_worker_that_fails_fails_the_commit(tmp_path: Path) -> None:
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    writer = ParallelWriter(ix, procs=1, limitmb=16)
    writer.add_document(id="bad", body=12345)  # not text: the worker's analyzer raises
    with pytest.raises(MikkeError, match="indexing worker"):
        writer.commit()
    assert whoosh_index.open_dir(str(tmp_path)).doc_count() == 0
