"""whoosh's format as mikke reads and writes it below whoosh's API (``_whoosh_codec``): each
reading equals whoosh's own, so a whoosh release that changes its format fails here."""

from __future__ import annotations

import pickle
import zlib
from types import SimpleNamespace

import pytest
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.columns import CompressedBytesColumn, VarBytesColumn
from whoosh.filedb.filestore import RamStorage
from whoosh.matching import ListMatcher
from whoosh.util.numeric import byte_to_length

from mikke import Config, Searcher
from mikke._schema import SEARCH_FIELDS
from mikke._whoosh_codec import (
    _deltas_and_weights,
    column_values,
    columns_reader,
    length_bytes,
    read_matcher,
    stored_fields,
    stored_reader,
    term_matcher,
)


def test_matchers_without_blocks_are_read_one_posting_at_a_time() -> None:
    ids, frequencies = read_matcher(ListMatcher([3, 8], [2.0, 1.0]))
    assert ids.tolist() == [3, 8] and frequencies.tolist() == [2.0, 1.0]


def whoosh_postings(matcher) -> list[tuple[int, float]]:  # type: ignore[no-untyped-def]
    """One posting at a time through whoosh's matcher, which unpickles each block whole."""
    found = []
    while matcher.is_active():
        found.append((matcher.id(), matcher.weight()))
        matcher.next()
    return found


def test_postings_decoded_without_their_positions_equal_whooshs(searcher: Searcher) -> None:
    sizes = set()
    for leaf, _ in searcher.current()._leaves:
        for field in SEARCH_FIELDS:
            for term in leaf.lexicon(field):
                read = term_matcher(leaf, field, term)
                expected = whoosh_postings(term_matcher(leaf, field, term))
                if isinstance(read, W3LeafMatcher):
                    sizes.add(min(len(expected), 4))
                ids, frequencies = read_matcher(read)
                assert list(zip(ids.tolist(), frequencies.tolist(), strict=True)) == expected, (field, term)
    assert sizes == {1, 2, 3, 4}  # blocks of up to three values (no MARK) and of more


def test_a_block_that_does_not_cut_cleanly_is_unpickled_whole() -> None:
    block = pickle.dumps(((3, 1, 250, 7), None, (b"", b"b", b"c", b"d")), 2)  # b"" pickles otherwise
    fake = SimpleNamespace(
        _postfile=SimpleNamespace(get=lambda start, length: block[start : start + length]),
        _dataoffset=0,
        _nextoffset=len(block),
        _compression=0,
        _blocklength=4,
        _fixedsize=None,
    )
    assert _deltas_and_weights(fake) == ((3, 1, 250, 7), None)


def test_stored_fields_and_lengths_are_whooshs(searcher: Searcher) -> None:
    reader = searcher.current().searcher.reader()
    for leaf, offset in reader.leaf_readers():
        for docnum in range(leaf.doc_count_all()):
            assert stored_fields(leaf, docnum) == reader.stored_fields(docnum + offset)
        for field in SEARCH_FIELDS:
            data = length_bytes(leaf, field)
            # whoosh stops the column at the last document holding the field (a post's marker, last, holds none)
            assert data is not None and len(data) <= leaf.doc_count_all()
            data += bytes(leaf.doc_count_all() - len(data))
            expected = [leaf.doc_field_length(docnum, field) for docnum in range(leaf.doc_count_all())]
            assert [byte_to_length(byte) for byte in data] == [length or 0 for length in expected], field
        assert length_bytes(leaf, "no_such_field") is None


def test_a_term_matcher_finds_what_whoosh_finds(searcher: Searcher) -> None:
    leaf, _ = searcher.current().searcher.reader().leaf_readers()[0]
    term = next(iter(leaf.lexicon("body")))
    assert whoosh_postings(term_matcher(leaf, "body", term.decode())) == whoosh_postings(leaf.postings("body", term))


def test_column_values_and_stored_fields_read_directly_are_whooshs(searcher: Searcher) -> None:
    for leaf, _ in searcher.current()._leaves:
        shown = leaf.column_reader("shown", translate=False)
        read_shown, read_stored = column_values(shown), stored_reader(leaf)
        for docnum in range(leaf.doc_count_all()):
            assert read_shown(docnum) == shown[docnum]
            assert read_stored(docnum) == stored_fields(leaf, docnum)
        assert any(shown[docnum] for docnum in range(leaf.doc_count_all()))


def test_a_columns_reader_reads_what_whoosh_reads_in_any_order(searcher: Searcher) -> None:
    arrays = searcher.current()
    leaves = [(leaf.column_reader("shown", translate=False), first) for leaf, first in arrays._leaves]
    expected = [column[docnum] for column, _ in leaves for docnum in range(len(column))]
    read = columns_reader([column for column, _ in leaves], [first for _, first in leaves])
    docnums = [*range(len(expected))][::-1]
    assert read(docnums) == [expected[docnum] for docnum in docnums] and read([]) == []
    assert len(set(expected)) > 10


def test_a_columns_reader_of_segments_without_a_file_reads_through_whoosh() -> None:
    columns = []
    for values in ([b"abc", b"", b"xyz" * 50], [b"d", b"ef"]):  # two segments in memory: no descriptor
        storage = RamStorage()
        file = storage.create_file("column")
        writer = VarBytesColumn().writer(file)
        for docnum, value in enumerate(values):
            writer.add(docnum, value)
        writer.finish(len(values))
        length = file.tell()
        file.close()
        columns.append(VarBytesColumn().reader(storage.open_file("column"), 0, length, len(values)))
    assert columns_reader(columns, [0, 3])([4, 0, 2, 3, 1]) == [b"ef", b"abc", b"xyz" * 50, b"d", b""]


def test_column_values_of_a_closed_segment_fail_as_whooshs_reads_do(sample_config: Config) -> None:
    arrays = Searcher(sample_config).current()  # its own files, closed below
    leaf, _ = arrays._leaves[0]
    read = column_values(leaf.column_reader("shown", translate=False))
    read_many = columns_reader([leaf.column_reader("shown", translate=False)], [0])
    assert read_many([0]) == [read(0)]
    arrays.searcher.close()
    with pytest.raises(ValueError, match="closed file"):
        read(0)
    with pytest.raises(ValueError, match="closed file"):
        read_many([0])


def test_column_values_read_through_whoosh_are_the_raw_values_too() -> None:
    column, storage = CompressedBytesColumn(), RamStorage()  # a file in memory: no descriptor to read
    values = [b"abc", b"", b"xyz" * 50]
    file = storage.create_file("column")
    writer = column.writer(file)
    for docnum, value in enumerate(values):
        writer.add(docnum, value)
    writer.finish(len(values))
    length = file.tell()
    file.close()
    reader = column.reader(storage.open_file("column"), 0, length, len(values))
    read = column_values(reader)
    assert [zlib.decompress(read(n)) if read(n) else b"" for n in range(3)] == [reader[n] for n in range(3)] == values
