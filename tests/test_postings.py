"""Each segment's postings copy: it holds what whoosh holds, searches read it, and without it
(a generation whose copies are not written yet) they read whoosh and find the same; a recorded
copy that is missing or damaged is reported, and the next run writes it again."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import FUTURE_POST, copy_sample
from mikke import Config, IndexCorruptError, Searcher, update_index
from mikke._postings import PostingsWriter, SegmentPostings, postings_path
from mikke._schema import SEARCH_FIELDS
from mikke._whoosh_codec import read_matcher, term_matcher

QUERIES = ["液体冷却", "nScaleの資金調達", "データセンター", "GPU", "サーバー", "AIインフラの将来はどうなるのか"]


@pytest.fixture
def updated(tmp_path: Path) -> Config:
    """The sample posts indexed, then one of them changed: two segments, one of them by whoosh's own writer."""
    config = Config(corpus=copy_sample(tmp_path / "corpus"), index=tmp_path / "index")
    update_index(config)
    post = config.corpus / FUTURE_POST
    post.write_text(post.read_text(encoding="utf-8") + "\n\n液体冷却の新しい試験を追記した。\n", encoding="utf-8")
    update_index(config)
    return config


def results(config: Config) -> list[list[tuple[str, str, float, str, tuple[tuple[int, int], ...]]]]:
    """Every hit of each query: path, anchor, score and snippet with its highlights."""
    searcher = Searcher(config)
    try:
        hits = [searcher.search(q, limit=50).hits for q in QUERIES]
        return [[(h.path, h.anchor, h.score, h.snippet.text, h.snippet.highlights) for h in found] for found in hits]
    finally:
        searcher.close()


def test_each_segment_has_a_copy_holding_what_whoosh_holds(updated: Config) -> None:
    searcher = Searcher(updated)
    arrays = searcher.current()
    assert len(arrays._leaves) == 2 and all(copy is not None for copy in arrays._copies)
    checked = set()
    for (leaf, _), copy in zip(arrays._leaves, arrays._copies, strict=True):
        assert copy is not None
        for field in SEARCH_FIELDS:
            for term in leaf.lexicon(field):
                ids, weights = read_matcher(term_matcher(leaf, field, term))
                found = copy.get(field, term.decode())
                assert found is not None
                assert found[0].tolist() == ids.tolist() and found[1].tolist() == weights.tolist(), (field, term)
                checked.add(field)
        assert copy.get("body", "この語はどこにもない")[0].size == 0
        assert copy.get("path", FUTURE_POST) is None  # not a search field: whoosh is read
    assert checked >= {"title", "heading", "body"}
    searcher.close()


def test_searches_find_the_same_without_the_copies(updated: Config, tmp_path: Path) -> None:
    copies = sorted(updated.index.glob("*.postings"))
    assert len(copies) == 2
    with_copies = results(updated)
    assert all(with_copies)
    searcher = Searcher(updated)
    arrays = searcher.current()
    arrays._copies = [None, None]  # as a generation committed before its copies are written: whoosh is read
    try:
        hits = [searcher.search(q, limit=50).hits for q in QUERIES]
    finally:
        searcher.close()
    assert [[(h.path, h.anchor, h.score, h.snippet.text, h.snippet.highlights) for h in found] for found in hits] == (
        with_copies
    )
    shutil.copy(copies[0], tmp_path / "kept")
    copies[0].write_bytes(copies[0].read_bytes()[:-7])  # truncated: unreadable
    copies[1].unlink()
    assert SegmentPostings.open(copies[0]) is None
    with pytest.raises(IndexCorruptError, match=r"\.postings"):  # recorded, so reported, never read around
        Searcher(updated).current()
    report = update_index(updated)  # the next run writes both copies again
    assert report.unchanged == 2 and copies[0].read_bytes() == (tmp_path / "kept").read_bytes()
    searcher = Searcher(updated)
    assert None not in searcher.current()._copies
    searcher.close()
    assert results(updated) == with_copies


def test_the_copy_reads_back_what_was_written(tmp_path: Path) -> None:
    path = postings_path(tmp_path, "MAIN_test")
    writer = PostingsWriter()
    rng = np.random.default_rng(7)
    written = {}
    for n, term in enumerate(sorted(["冷却", "gpu", "データ", "a\0b", "\n"])):
        ids = np.unique(rng.integers(0, 2**31, size=n * 300 + 1))
        weights = rng.integers(1, 9, size=ids.size).astype(np.float32) / 2
        writer.add("body", term.encode(), ids, weights)
        written[term] = (ids.tolist(), weights.tolist())
    writer.write(path)
    copy = SegmentPostings.open(path)
    assert copy is not None
    for term, (ids, weights) in written.items():
        found = copy.get("body", term)
        assert found is not None and (found[0].tolist(), found[1].tolist()) == (ids, weights)
    title = copy.get("title", "冷却")
    assert title is not None and title[0].size == 0  # a search field without the term
