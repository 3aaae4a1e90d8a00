"""The parallel full build: the same segments as whoosh writes (byte for byte, but for the postings
blocks, pickled otherwise and the short ones left uncompressed, and the stored fields left
uncompressed: the same postings and stored fields as whoosh reads them) and the same search results as the
serial build, broken posts reported, and a failing or killed worker fails the job and leaves the
old index."""

from __future__ import annotations

import os
import pickle
import signal
import zlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import STORED_COLUMN
from whoosh.columns import VarBytesColumn
from whoosh.filedb.compound import CompoundStorage
from whoosh.filedb.filetables import OrderedHashWriter
from whoosh.filedb.structfile import StructFile
from whoosh.writing import SegmentWriter

from conftest import SAMPLE_POSTS
from mikke import Config, MikkeError, Searcher, _indexing, update_index
from mikke._analysis import index_terms, reading_pairs
from mikke._corpus import iter_post_paths, load_post
from mikke._indexing import post_documents, post_documents_of
from mikke._parallel import ParallelWriter, SegmentBuilder, analyzed_items, index_items
from mikke._postings import postings_path, write_missing
from mikke._schema import build_schema
from mikke._snippets import pack_offsets
from mikke._whoosh_codec import MIN_COMPRESSED_BLOCK, hash_tables_at_once

TOPICS = {
    "fuji": "富士山は静岡県と山梨県にまたがる日本最高峰の山である。標高は3776メートル。",
    "sushi": "寿司は酢飯に魚介類を組み合わせた料理である。江戸時代に握り寿司が広まった。",
    "shinkansen": "東海道新幹線は1964年に東京と新大阪の間で開業した高速鉄道である。",
    "datacenter": "データセンターの液体冷却はサーバーの発熱を効率よく取り除く。",
    "onsen": "温泉は地中から湧き出る湯で、箱根や草津などの温泉地には多くの観光客が訪れる。",
}
SITES = Path(os.environ.get("MIKKE_SITES", Path(__file__).resolve().parents[2] / "shared" / "data" / "sites"))
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
    monkeypatch.setattr("mikke._parallel.BATCH_SIZE", 2)
    report = update_index(parallel, full=True)
    assert report.added == 20 and report.skipped == []
    ix = whoosh_index.open_dir(str(parallel.index), indexname=_indexing.INDEX_NAME)
    # One segment per worker that got posts: the second worker may start after the first took every
    # batch. That segments are not merged is the next test's (a segment per batch).
    assert 1 <= len(ix._segments()) <= 2
    assert _results(parallel) == _results(serial)
    assert all(total > 0 for total, _ in _results(parallel))


def test_a_worker_that_fails_fails_the_commit(tmp_path: Path) -> None:
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    writer = ParallelWriter(ix, procs=1, limitmb=16)
    writer.add_document(id="bad", body=12345)  # not text: the worker's analyzer raises
    with pytest.raises(MikkeError, match="indexing worker"):
        writer.commit()
    assert whoosh_index.open_dir(str(tmp_path)).doc_count() == 0


def _one_segment(path: Path, writer_class: type[SegmentWriter], documents: list[dict[str, Any]]) -> dict[str, Any]:
    """The files inside the compound segment file that ``writer_class`` writes for ``documents``
    (lengths, columns), by name without the segment's id, the segment's postings copy, under
    "terms" every term's postings and statistics, under "totals" each field's total length and under
    "stored" every document's stored fields, as whoosh reads them (the postings, terms and stored
    fields files differ in bytes: the builder pickles blocks otherwise and leaves short ones and
    stored fields uncompressed)."""
    ix = whoosh_index.create_in(str(path), build_schema())
    writer = writer_class(ix) if writer_class is SegmentBuilder else writer_class(ix, _lk=False)
    for document in documents:
        writer.add_document(**document)
    segment = writer._finalize_segment()
    writer._commit_toc([segment])
    writer._finish()
    with ix.reader() as reader:  # the postings copy: the builder wrote it, whoosh's writer did not
        write_missing(path, [leaf for leaf, _ in reader.leaf_readers()])
        terms = {(field, term): _term(reader, field, term) for field, term in reader.all_terms()}
        stored = list(reader.all_stored_fields())
        totals = {field: reader.field_length(field) for field in ix.schema.scorable_names()}
    files = CompoundStorage(ix.storage.open_file(segment.make_filename(".seg")), use_mmap=False)
    try:
        found = {name.split(".", 1)[1]: files.open_file(name).read() for name in files.list()}
    finally:
        files.close()
    del found["pst"], found["trm"], found["_stored.col"]
    postings = postings_path(path, segment.segment_id()).read_bytes()
    return found | {"postings": postings, "terms": terms, "stored": stored, "totals": totals}


def _term(reader: Any, field: str, term: bytes) -> tuple[Any, ...]:
    """A term's statistics and its postings (document, weight, encoded value) as whoosh reads them."""
    info = reader.term_info(field, term)
    matcher = reader.postings(field, term)
    postings = []
    while matcher.is_active():
        postings.append((matcher.id(), matcher.weight(), matcher.value()))
        matcher.next()
    stats = (info.weight(), info.doc_frequency(), info.min_length(), info.max_length(), info.max_weight())
    return (*stats, info.min_id(), info.max_id(), postings)


def _site_documents(name: str, every: int) -> list[dict[str, Any]]:
    """The documents of every ``every``-th post of a real site (skipped when the data is absent)."""
    if not (SITES / name).is_dir():
        pytest.skip(f"site data not found at {SITES / name} (set MIKKE_SITES)")
    config = Config(corpus=SITES / name)
    return [doc for relpath in list(iter_post_paths(config))[::every] for doc in post_documents_of(config, relpath)]


def _sample_documents() -> list[dict[str, Any]]:
    config = Config(corpus=SAMPLE_POSTS.parent)
    return [
        doc
        for relpath in ("_posts/" + p.name for p in sorted(SAMPLE_POSTS.glob("*.md")))
        for doc in post_documents_of(config, relpath)
    ]


@pytest.mark.parametrize("site", ["sample", "ms-dynamics365-ja"])
def test_post_documents_hold_each_texts_own_offsets_and_readings(site: str) -> None:
    # the build packs a heading's offsets once a section and caches the reading test per word:
    # each document must hold what its texts analysed one by one give
    if site == "sample":
        config, paths = Config(corpus=SAMPLE_POSTS.parent), ["_posts/" + p.name for p in SAMPLE_POSTS.glob("*.md")]
    else:
        if not (SITES / site).is_dir():
            pytest.skip(f"site data not found at {SITES / site} (set MIKKE_SITES)")
        config = Config(corpus=SITES / site)
        paths = list(iter_post_paths(config))[::100]
    checked = 0
    for relpath in paths:
        post = load_post(relpath, config)
        *passages, marker = post_documents(post)
        labels = " ".join(post.tags + post.categories)
        texts = [post.title, post.excerpt, labels] + [d["heading"] for d in passages] + [d["text"] for d in passages]
        assert marker["reading"] == "\n".join(sorted(set().union(*map(reading_pairs, texts))))
        for document in passages:
            heading = document["heading"]
            assert document["section"]["offsets"] == (pack_offsets(heading) if heading else None)
            assert document["offsets"] == pack_offsets(document["text"])
            checked += 1
    assert checked > 20


def test_segment_builder_indexes_mikkes_text_fields_from_the_analysis_directly(tmp_path: Path) -> None:
    builder = SegmentBuilder(whoosh_index.create_in(str(tmp_path), build_schema()))
    assert builder._direct == {"title": True, "heading": True, "body": True, "tags": False, "excerpt": False}
    builder._close_segment()


@pytest.mark.parametrize("site", ["sample", "ms-dynamics365-ja", "cpprefjp"])
def test_direct_postings_equal_whooshs_analyzer_on_real_text(site: str) -> None:
    documents = _sample_documents() if site == "sample" else _site_documents(site, every=40)
    schema = build_schema()
    whole_posts = ["".join(p.read_text(encoding="utf-8") for p in sorted(SAMPLE_POSTS.glob("*.md"))) * 2]
    checked = 0
    for name, positions in (("body", True), ("title", True), ("heading", True), ("tags", False), ("excerpt", False)):
        field = schema[name]
        values = {doc[name] for doc in documents if name in doc} | set(whole_posts)  # and text beyond one chunk
        for value in values:
            assert analyzed_items(value, positions, field.format.field_boost) == index_items(field, value), value
            checked += 1
    assert checked > 100


@pytest.mark.parametrize("site", ["sample", "ms-dynamics365-ja"])
def test_segment_builder_writes_what_whooshs_segment_writer_writes(tmp_path: Path, site: str) -> None:
    # five copies of the sample: common terms fill several 128-posting blocks
    documents = _sample_documents() * 5 if site == "sample" else _site_documents(site, every=100)
    documents = [dict(document) for document in documents]
    for document in documents[::2]:
        document.pop("category", None)
    for document in documents[1::2]:
        document.update(category="", excerpt="")  # a field with no terms at all, one with empty values
    (tmp_path / "whoosh").mkdir()
    (tmp_path / "builder").mkdir()
    expected = _one_segment(tmp_path / "whoosh", SegmentWriter, documents)
    assert {"_body_len.col", "digest.col", "postings"} <= set(expected)
    assert len(expected["terms"]) > 1000
    assert len(expected["stored"]) == len(documents)
    assert _one_segment(tmp_path / "builder", SegmentBuilder, documents) == expected  # byte for byte, but blocks


def test_a_terms_table_is_the_file_whoosh_writes(tmp_path: Path) -> None:
    # the builder's terms table writes each of its hash tables in one go (hash_tables_at_once)
    documents = _site_documents("ms-dynamics365-ja", every=100)
    keys = sorted({term.encode() for document in documents for term in index_terms(document.get("body", ""))})
    written = []
    for name in ("whoosh", "builder"):
        with open(tmp_path / name, "wb") as file:
            table = OrderedHashWriter(StructFile(file))
            if name == "builder":
                hash_tables_at_once(SimpleNamespace(_tindex=table))
            for n, key in enumerate(keys):
                table.add(key, str(n).encode())
            table.close()
        written.append((tmp_path / name).read_bytes())
    assert len(keys) > 1000 and written[0] == written[1]


def test_small_postings_blocks_are_written_uncompressed(tmp_path: Path) -> None:
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    builder = SegmentBuilder(ix)
    for document in _sample_documents() * 5:  # common terms fill 128-posting blocks: long pickles
        builder.add_document(**document)
    segment = builder._finalize_segment()
    builder._commit_toc([segment])
    builder._finish()
    levels: dict[bool, set[int]] = {True: set(), False: set()}
    with ix.reader() as reader:
        for field, term in reader.all_terms():
            matcher = reader.postings(field, term)
            while matcher.is_active():  # each block: its compression level, and whether its pickle is short
                size = matcher._nextoffset - matcher._dataoffset
                data = matcher._postfile.get(matcher._dataoffset, size)
                short = len(zlib.decompress(data) if matcher._compression else data) < MIN_COMPRESSED_BLOCK
                levels[short].add(matcher._compression)
                matcher._next_block()
    assert levels == {True: {0}, False: {3}}


def test_a_postings_copy_read_back_from_the_builders_blocks_is_the_one_it_wrote(tmp_path: Path) -> None:
    """The builder pickles a block's body with protocol 3 (whoosh: 2, which mikke's block decoding
    cuts short): the copy written again from the segment's blocks (``write_missing``) is the same."""
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    builder = SegmentBuilder(ix)
    for document in _site_documents("ms-dynamics365-ja", every=100):
        builder.add_document(**document)
    segment = builder._finalize_segment()
    builder._commit_toc([segment])
    builder._finish()
    copy = postings_path(tmp_path, segment.segment_id())
    written = copy.read_bytes()
    copy.unlink()
    with ix.reader() as reader:
        assert write_missing(tmp_path, [leaf for leaf, _ in reader.leaf_readers()]) == [copy]
        assert max(reader.doc_frequency(field, term) for field, term in reader.all_terms()) > 128  # several blocks
    assert copy.read_bytes() == written


def test_stored_fields_are_written_uncompressed(tmp_path: Path) -> None:
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    builder = SegmentBuilder(ix)
    documents = _sample_documents()
    for document in documents:
        builder.add_document(**document)
    segment = builder._finalize_segment()
    builder._commit_toc([segment])
    builder._finish()
    with ix.reader() as reader:
        assert reader.doc_count_all() == len(documents)
        column = reader._perdoc._cached_reader("_stored", STORED_COLUMN)._child  # whoosh's CompressedBytesColumn
        for docnum in range(reader.doc_count_all()):
            data = VarBytesColumn.Reader.__getitem__(column, docnum)  # the bytes as written
            pickled = zlib.decompress(data)
            assert data == zlib.compress(pickled, 0)  # a stream of stored blocks, as zlib writes it at level 0
            assert reader.stored_fields(docnum) == pickle.loads(pickled)


def test_parallel_build_reports_broken_posts_and_splits_segments_at_the_memory_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = _corpus(tmp_path / "corpus")
    (corpus / "_posts" / "2025-02-01-broken.md").write_text("---\ntitle: [unclosed\n---\n本文\n", encoding="utf-8")
    (corpus / "_posts" / "2025-02-02-binary.md").write_bytes(b"\x00\x01\x02")
    serial = Config(corpus=corpus, index=tmp_path / "serial")
    parallel = Config(corpus=corpus, index=tmp_path / "parallel")
    expected = update_index(serial, full=True)
    monkeypatch.setattr(_indexing, "PARALLEL_MIN_POSTS", 1)
    monkeypatch.setattr("mikke._parallel.BATCH_SIZE", 2)
    monkeypatch.setattr("mikke._parallel.POSTING_BYTES", 2**40)  # a new segment after every batch
    report = update_index(parallel, full=True)
    assert (report.added, report.skipped, report.passages) == (20, expected.skipped, expected.passages)
    assert [s["path"] for s in report.skipped] == ["_posts/2025-02-01-broken.md", "_posts/2025-02-02-binary.md"]
    ix = whoosh_index.open_dir(str(parallel.index), indexname=_indexing.INDEX_NAME)
    assert len(ix._segments()) > 2
    assert _results(parallel) == _results(serial)


def test_a_worker_killed_mid_build_fails_the_job_and_keeps_the_old_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = Config(corpus=_corpus(tmp_path / "corpus"), index=tmp_path / "index")
    update_index(config, full=True)
    before = _results(config)
    parent, real_parse, calls = os.getpid(), _indexing.parse_post, []

    def parse_then_die(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if os.getpid() != parent and len(calls) == 3:  # in a worker, on its third post
            os.kill(os.getpid(), signal.SIGKILL)
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(_indexing, "parse_post", parse_then_die)
    monkeypatch.setattr(_indexing, "PARALLEL_MIN_POSTS", 1)
    monkeypatch.setattr("mikke._parallel.BATCH_SIZE", 2)
    with pytest.raises(MikkeError, match="indexing worker"):
        update_index(config, full=True)
    assert _results(config) == before
    monkeypatch.setattr(_indexing, "parse_post", real_parse)
    assert update_index(config, full=True).added == 20
    assert _results(config) == before
