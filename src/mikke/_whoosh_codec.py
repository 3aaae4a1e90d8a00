"""Everything mikke reads or writes of whoosh's codec (``whoosh.codec.whoosh3``) below its public API.

whoosh-reloaded keeps a segment's postings, terms table, stored fields and field lengths
behind private attributes; reading and writing them directly is what makes mikke's
postings copies, scores and parallel build fast. Those reads are confined here, beside the
tests that pin whoosh's format (``tests/test_codec.py``, ``tests/test_postings.py``,
``tests/test_parallel.py``): a new whoosh release that changes its format fails them.
"""

from __future__ import annotations

import bisect
import functools
import os
import pickle
import struct
import zlib
from array import array
from collections.abc import Callable, Iterable
from itertools import pairwise, starmap
from operator import sub
from typing import Any, NamedTuple, TypeAlias

import numpy as np
from numpy.typing import NDArray
from whoosh.codec.whoosh3 import (
    LENGTHS_COLUMN,
    STORED_COLUMN,
    WHOOSH3_HEADER_MAGIC,
    W3LeafMatcher,
    _lenfield,
)
from whoosh.columns import VarBytesColumn
from whoosh.filedb.compound import SubFile
from whoosh.index import FileIndex
from whoosh.searching import Searcher
from whoosh.system import pack_int, pack_ushort

#: One term's postings in a segment being built: document numbers, weights and encoded values
#: (compact: most values are one of a few shared objects, a position's or a frequency's).
Postings: TypeAlias = "tuple[array[int], array[float], list[bytes]]"
#: A postings block's count, last document, highest weight, shortest and longest length (``length_to_byte``).
BlockStats: TypeAlias = tuple[int, int, float, int, int]
#: A term's total weight, postings, shortest and longest length (``length_to_byte``), highest weight,
#: first and last document: its row in the terms table, but for where its postings are.
TermStats: TypeAlias = tuple[float, int, int, int, float, int, int]

pack_uint = struct.Struct("!I").pack  # whoosh.system.pack_uint
_pack_float32, _unpack_float32 = struct.Struct("f").pack, struct.Struct("f").unpack
#: ``W3TermInfo.to_bytes`` of a term whose postings are not inlined: its struct, then the postings' offset and size.
_TERM_ROW = struct.Struct("!BfIBBfIIqi")
#: A hash file's record: the key's and the value's size (``whoosh.filedb.filetables._lengths``).
_ROW_LENGTHS = struct.Struct("!ii")
#: A hash table's slot: a key's hash and where its record is (``whoosh.filedb.filetables._pointer``).
_HASH_SLOT = struct.Struct("!Iq")

#: A postings block whose pickle is shorter than this is written uncompressed (its header says
#: so, and whoosh reads it so): a ``zlib.compress`` call costs 40-80 µs whatever the size, and
#: most blocks are short (a term's last or only block); the long ones (full 128-posting blocks)
#: are where compression saves most. whoosh meant to skip blocks under 20 bytes (its ``_write_block``),
#: but the next line overwrites that choice, so it compresses every block.
MIN_COMPRESSED_BLOCK = 1000
#: The pickle protocol of a postings block's body: whoosh writes 2, which pickles each posting's
#: value (bytes) as a call that decodes a string, 20 times slower to write than 3's bytes and
#: twice as long; whoosh reads a block with ``pickle.loads``, whatever its protocol.
BLOCK_PROTOCOL = 3
_ONE = pack_uint(1)
#: The longest stored deflate block, and its header (final flag, length, its complement).
_STORED_BLOCK = 0xFFFF
_pack_stored_header = struct.Struct("<BHH").pack


def store_uncompressed(perdoc: Any) -> None:
    """Have a segment's per-document writer (``W3PerDocWriter``) write each document's stored fields
    uncompressed: as a zlib stream of stored blocks (:func:`zlib_stored`), which whoosh's reader
    decompresses as it does any other. whoosh compresses each document's pickle on its own, and a
    ``zlib.compress`` call costs tens of µs whatever its size."""
    perdoc._colwriters["_stored"]._child._compress = zlib_stored


def hash_tables_at_once(fieldwriter: Any) -> None:
    """Have a segment's terms table (``OrderedHashWriter``) write each of its 256 hash tables in one
    write, not a write a slot (:func:`_write_hashes`): the same bytes."""
    table = fieldwriter._tindex
    table._write_hashes = functools.partial(_write_hashes, table)


def _write_hashes(table: Any) -> None:
    """``HashWriter._write_hashes``: each bucket's entries placed in a table of twice as many slots
    by their hash (the next free slot on a collision), empty slots ``(0, 0)``."""
    file = table.dbfile
    for entries in table.buckets:
        slots = [(0, 0)] * (2 * len(entries))
        table.directory.append((file.tell(), len(slots)))
        for hashed, position in entries:
            slot = (hashed >> 8) % len(slots)
            while slots[slot] != (0, 0):
                slot = (slot + 1) % len(slots)
            slots[slot] = (hashed, position)
        file.write(b"".join(starmap(_HASH_SLOT.pack, slots)))


def column_writer(perdoc: Any, name: str, column: Any) -> Any:
    """A segment's per-document writer's (``W3PerDocWriter``) writer of column ``name``, created as its
    ``add_column_value`` creates it (the first time a document has a value there)."""
    writers = perdoc._colwriters
    if name not in writers:
        perdoc._create_column(name, column)
    return writers[name]


def lengths_writer(perdoc: Any, field: str) -> Any:
    """:func:`column_writer` of ``field``'s length column."""
    return column_writer(perdoc, _lenfield(field), LENGTHS_COLUMN)


def end_documents(perdoc: Any, count: int, lengths: dict[str, bytearray], totals: dict[str, int]) -> None:
    """Complete a per-document writer that was given the stored fields and column values of ``count``
    documents directly, not a document at a time: each field's length byte of every document, in
    ``lengths`` (0 for none, the last one not 0: what ``NumericColumn.Writer`` writes), its total length
    in ``totals``, and the number of documents."""
    for field, data in lengths.items():
        writer = lengths_writer(perdoc, field)
        writer._dbfile.write(bytes(data))
        writer._count = len(data)
    perdoc._fieldlengths.update(totals)
    perdoc._doccount = count


def zlib_stored(data: bytes, level: int = 0) -> bytes:
    """``data`` as a zlib stream of uncompressed (stored) deflate blocks, as ``zlib.compress(data, 0)``
    gives, without zlib's set-up; ``level`` is ignored.

    >>> zlib.decompress(zlib_stored(b"abc")), zlib.decompress(zlib_stored(b"")), zlib_stored(b"abc")[:2]
    (b'abc', b'', b'x\\x01')
    >>> zlib.decompress(zlib_stored(bytes(range(256)) * 600)) == bytes(range(256)) * 600
    True
    """
    pieces = [b"x\x01"]  # deflate, 32 KB window, no compression
    size = len(data)
    for start in range(0, size or 1, _STORED_BLOCK):
        length = min(size - start, _STORED_BLOCK)
        pieces += (_pack_stored_header(start + length == size, length, length ^ 0xFFFF), data[start : start + length])
    pieces.append(pack_uint(zlib.adler32(data)))
    return b"".join(pieces)


def open_searcher(storage: Any, toc: Any) -> Any:
    """A whoosh searcher over the segments of the table of contents ``toc`` (already read), not
    over those of the newest one, as ``Index.searcher()`` would."""
    return Searcher(FileIndex._reader(storage, toc.schema, toc.segments, toc.generation))


def term_matcher(leaf: Any, field: str, term: str | bytes) -> Any:
    """whoosh's matcher of a term's postings in one segment reader (``TermNotFound`` when it has
    none), without the reader's per-call checks."""
    tbytes = term if isinstance(term, bytes) else leaf._text_to_bytes(field, term)
    return leaf._terms.matcher(field, tbytes, leaf.schema[field].format)


def stored_fields(leaf: Any, docnum: int) -> dict[str, Any]:
    """A document's stored fields in one segment reader, read directly from its per-document file."""
    fields: dict[str, Any] = leaf._perdoc.stored_fields(docnum)
    return fields


def column_values(column: Any) -> Callable[[int], bytes]:
    """A reader of a document's value in a whoosh bytes column reader (``VarBytesColumn``'s, or the
    raw, still compressed value of its compressed kind), equal to ``column[docnum]``: one
    ``os.pread`` of the segment file at the value's place instead of whoosh's seeks and reads through
    its compound file's layers (a fifth of the time). Any other column, or a segment file that is not
    an open plain file, is read through whoosh.
    """
    if not isinstance(column, VarBytesColumn.Reader):
        return lambda docnum: bytes(column[docnum])
    getitem = VarBytesColumn.Reader.__getitem__  # the raw value, for a compressed column too
    found = _plain_file(column)
    if found is None:
        return lambda docnum: bytes(getitem(column, docnum))
    whole, fd, base, offsets, lengths = found

    def read(docnum: int) -> bytes:
        if whole.closed:  # the descriptor may be another file's by now: whoosh raises
            return bytes(getitem(column, docnum))
        length = lengths[docnum]
        return os.pread(fd, length, base + offsets[docnum]) if length else b""

    return read


def columns_reader(columns: list[Any], firsts: list[int]) -> Callable[[list[int]], list[bytes]]:
    """A reader of many documents' values in one bytes column of each segment (``columns``, the
    first document of each numbered ``firsts``), each equal to :func:`column_values`' of its segment:
    read by one ``os.pread`` at a place looked up for the document (kept: 20 bytes a document), not
    found segment by segment. Where a segment file is not an open plain file, every value is read
    by :func:`column_values`.
    """
    each = [column_values(column) for column in columns]  # (and any column not of bytes: whoosh's)

    def by_segment(docnums: list[int]) -> list[bytes]:
        found = []
        for docnum in docnums:
            index = bisect.bisect_right(firsts, docnum) - 1
            found.append(each[index](docnum - firsts[index]))
        return found

    files = [
        found for column in columns if isinstance(column, VarBytesColumn.Reader) and (found := _plain_file(column))
    ]
    if len(files) < len(columns):
        return by_segment
    size = firsts[-1] + len(files[-1].lengths) if files else 0
    descriptors = np.zeros(size, dtype=np.int32)
    places = np.zeros(size, dtype=np.int64)
    lengths = np.zeros(size, dtype=np.int64)
    for file, first in zip(files, firsts, strict=True):
        count = len(file.lengths)
        descriptors[first : first + count] = file.fd
        places[first : first + count] = np.asarray(file.offsets, dtype=np.int64) + file.base
        lengths[first : first + count] = file.lengths
    fds, at, length = array("i", descriptors.tobytes()), array("q", places.tobytes()), array("q", lengths.tobytes())
    pread = os.pread

    def read(docnums: list[int]) -> list[bytes]:
        if any(file.whole.closed for file in files):  # as column_values: whoosh raises
            return by_segment(docnums)
        return [pread(fds[docnum], length[docnum], at[docnum]) for docnum in docnums]

    return read


class _PlainFile(NamedTuple):
    """Where a ``VarBytesColumn`` reader's values are in an open plain file (:func:`_plain_file`)."""

    whole: Any  #: the file
    fd: int  #: its descriptor
    base: int  #: where the column's values start
    offsets: Any  #: each document's value's offset from ``base``
    lengths: Any  #: and length


def _plain_file(column: Any) -> _PlainFile | None:
    """Where a ``VarBytesColumn`` reader's values are, when in an open plain file; else None."""
    file = getattr(column._dbfile, "file", None)
    if not isinstance(file, SubFile):
        return None
    whole = file._file
    try:
        fd = whole.fileno()
    except (AttributeError, OSError, ValueError):  # not a file of the operating system's
        return None
    return _PlainFile(whole, fd, file._offset + column._basepos, column._offsets, column._lengths)


def stored_reader(leaf: Any) -> Callable[[int], dict[str, Any]]:
    """A reader of a document's stored fields in one segment reader, equal to :func:`stored_fields`,
    its bytes read by :func:`column_values`."""
    column = leaf._perdoc._cached_reader("_stored", STORED_COLUMN)
    if column is None:
        return lambda docnum: stored_fields(leaf, docnum)
    compressed, decompress = column_values(column._child), column._child._decompress

    def read(docnum: int) -> dict[str, Any]:
        data = compressed(docnum)
        if data:
            data = decompress(data)
        fields: dict[str, Any] = pickle.loads(data) if data else {}
        return fields

    return read


def length_bytes(leaf: Any, field: str) -> bytes | None:
    """Every document's length in ``field`` in one segment reader, as whoosh stores it (a byte each,
    ``byte_to_length`` scale); None when the segment has no lengths for the field."""
    column = leaf._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
    if column is None:
        return None
    data: bytes = column._dbfile.get(column._basepos, column._count)
    return data


def read_matcher(matcher: Any) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """A term's document numbers and frequencies, a block at a time where whoosh allows.

    A block of whoosh's postings holds its document numbers as deltas and its weights as
    numbers (or one number for all, or none for 1.0); they are decoded here with numpy.
    """
    ids: list[NDArray[np.int64]] = []
    frequencies: list[NDArray[np.float64]] = []
    if isinstance(matcher, W3LeafMatcher) and not matcher._byteids:
        while matcher.is_active():
            deltas, weights = _deltas_and_weights(matcher)
            ids.append(np.cumsum(np.asarray(deltas, dtype=np.int64)))
            if weights is None or isinstance(weights, float):
                frequencies.append(np.full(len(deltas), 1.0 if weights is None else weights))
            else:
                frequencies.append(np.asarray(weights, dtype=np.float64))
            matcher._next_block()
        return np.concatenate(ids), np.concatenate(frequencies)
    found: list[int] = []
    weights_found: list[float] = []
    while matcher.is_active():
        found.append(matcher.id())
        weights_found.append(matcher.weight())
        matcher.next()
    return np.asarray(found, dtype=np.int64), np.asarray(weights_found, dtype=np.float64)


#: How pickle's protocol 2 starts a bytes object (``_codecs.encode(text, "latin1")``): where a block's values begin.
_BYTES_GLOBAL = b"c_codecs\nencode\n"


def _deltas_and_weights(matcher: Any) -> tuple[Any, Any]:
    """The current block's document-number deltas and weights, without unpickling its values.

    A block is a pickled ``(deltas, weights, values)``; the values (each posting's positions,
    a bytes object each) are most of the unpickling. So the pickle is cut where they begin (at
    the MARK of a tuple of more than three) and closed as a pair; whoosh's own decoding is the
    fallback when that does not give a pair of the block's length.

    >>> from types import SimpleNamespace as Fake
    >>> block = pickle.dumps(((3, 1, 250, 7), (2.0, 1.0, 1.0, 3.0), (b"a", b"b", b"c", b"d")), 2)
    >>> _deltas_and_weights(Fake(_postfile=Fake(get=lambda start, length: block[start : start + length]),
    ...     _dataoffset=0, _nextoffset=len(block), _compression=0, _blocklength=4, _fixedsize=None))
    ((3, 1, 250, 7), (2.0, 1.0, 1.0, 3.0))
    """
    count = matcher._blocklength
    data = matcher._postfile.get(matcher._dataoffset, matcher._nextoffset - matcher._dataoffset)
    if matcher._compression:
        data = zlib.decompress(data)
    start = data.find(_BYTES_GLOBAL)
    if start > 0:
        values_tuple = matcher._fixedsize is None or matcher._fixedsize < 0
        cut = start - 1 if values_tuple and count > 3 else start
        try:
            pair = pickle.loads(data[:cut] + b"\x86.")  # TUPLE2, STOP
        except (pickle.UnpicklingError, EOFError, ValueError, IndexError):
            pair = None
        if (
            isinstance(pair, tuple)
            and len(pair) == 2
            and isinstance(pair[0], tuple)
            and len(pair[0]) == count
            and (pair[1] is None or isinstance(pair[1], float) or len(pair[1]) == count)
        ):
            return pair
    deltas, weights, _ = pickle.loads(data)
    return deltas, weights


#: ``encode_positions([n])`` for each ``n`` below this: computed once, not once a term of each passage.
_ENCODED_SINGLE = 1024
_SINGLE_POSITIONS = [_ONE + pickle.dumps([n], 2) for n in range(_ENCODED_SINGLE)]


def encode_positions(positions: list[int]) -> bytes:
    """whoosh's ``Positions.encode``: the count, then the pickled gaps between positions.

    >>> from whoosh.formats import Positions
    >>> encode_positions([3, 5, 9]) == Positions().encode([3, 5, 9])
    True
    >>> all(encode_positions([n]) == Positions().encode([n]) for n in (0, 1, 1023, 1024, 70_000))
    True
    """
    if len(positions) == 1:  # most terms of a passage: one position, most often encoded already
        position = positions[0]
        if position < _ENCODED_SINGLE:
            return _SINGLE_POSITIONS[position]
        return _ONE + pickle.dumps(positions, 2)
    gaps = [b - a for a, b in pairwise([0, *positions])]
    return pack_uint(len(gaps)) + pickle.dumps(gaps, 2)


def encode_frequency(positions: list[int]) -> bytes:
    """whoosh's ``Frequency`` value: the count."""
    return pack_uint(len(positions))


def write_terms(writer: Any, terms: Iterable[tuple[bytes, Postings]], lengths: bytes) -> None:
    """Write the postings and terms-table rows of the current field's ``terms`` (in order) as whoosh's
    ``W3FieldWriter`` does after ``start_term``, ``add`` of each posting and ``finish_term`` for each,
    the same postings a block at a time (the same bytes, but for the blocks' bodies: pickled with
    :data:`BLOCK_PROTOCOL`, and left uncompressed under :data:`MIN_COMPRESSED_BLOCK`); ``lengths``
    holds each document's length in the field as its length column does (a byte: ``length_to_byte``,
    0 for none). The rows are added as ``W3TermInfo.to_bytes`` and ``OrderedHashWriter.add`` would
    (without its check of the terms' order), and written to the file at once.

    (Its postings writer spends more time in per-posting and per-call bookkeeping than in
    pickling and compressing, and most terms have a posting or two.) For whoosh's default codec,
    whose ``inlinelimit`` of 1 never inlines postings in the terms table.
    """
    postwriter, table = writer._postwriter, writer._tindex
    limit, level = postwriter._blocklimit, postwriter._compression
    fixed_size = writer._format.fixed_value_size()
    postfile, prefix = postwriter._postfile, pack_ushort(writer._fieldid)
    offset, position = postfile.tell(), table.dbfile.tell()
    rows: list[bytes] = []
    for tbytes, postings in terms:
        written, info = _term_postings(postings, lengths, limit, level, fixed_size)
        postfile.write(written)
        key = prefix + tbytes
        row = _TERM_ROW.pack(0, *info, offset, len(written))
        rows += (_ROW_LENGTHS.pack(len(key), len(row)), key, row)
        table.index.append(position)
        hashed = table.hashfn(key)
        table.buckets[hashed & 255].append((hashed, position))
        table.lastkey = key
        offset += len(written)
        position += _ROW_LENGTHS.size + len(key) + len(row)
    table.dbfile.write(b"".join(rows))


def _term_postings(
    postings: Postings, lengths: bytes, limit: int, level: int, fixed_size: int | None
) -> tuple[bytes, TermStats]:
    """A term's postings as :func:`write_terms` writes them, and its statistics."""
    docnums, weights, values = postings
    count = len(docnums)
    if count == 1:  # most terms: what the loop below gives for one posting, without its slices
        docnum, weight, value = docnums[0], weights[0], values[0]
        length = lengths[docnum]
        block_weight = _float32(weight)
        max_weight = max(0, weight)
        if fixed_size is None or fixed_size < 0:
            one: Any = (value,) if value else ()
        else:
            one = value if fixed_size else None
        body = ((docnum,), None if block_weight == 1.0 else block_weight, one)
        header, block = _block(body, (1, docnum, max_weight, length, length), level)
        written = b"".join((WHOOSH3_HEADER_MAGIC, pack_int(-len(header) - len(block)), header, block))
        return written, (block_weight, 1, length, length, max_weight, docnum, docnum)
    total, shortest, longest, highest = 0.0, 0, 0, 0.0  # the term's W3TermInfo
    pieces = [WHOOSH3_HEADER_MAGIC]
    for start in range(0, count, limit):
        stop = min(start + limit, count)
        ids = docnums[start:stop]
        block_weights = array("f", weights[start:stop])  # whoosh keeps a block's weights as floats
        block_lengths = [*filter(None, map(lengths.__getitem__, ids))]  # a length of 0 is no length
        min_length = min(block_lengths, default=0)
        max_length = max(block_lengths, default=0)
        max_weight = max(0, *weights[start:stop])
        total += sum(block_weights)  # W3TermInfo.add_block
        shortest = min(shortest, min_length) if shortest else min_length
        longest = max(longest, max_length)
        highest = max(highest, max_weight)
        block_values = [*filter(None, values[start:stop])]  # nor empty values
        if block_weights.count(1.0) == len(ids):  # W3PostingsWriter._mini_weights, _mini_values
            mini_weights: Any = None
        elif block_weights.count(block_weights[0]) == len(ids):
            mini_weights = block_weights[0]
        else:
            mini_weights = tuple(block_weights)
        if fixed_size is None or fixed_size < 0:
            mini_values: Any = tuple(block_values)
        else:
            mini_values = b"".join(block_values) if fixed_size else None
        gaps = (ids[0], *map(sub, ids[1:], ids[:-1]))  # whoosh's delta_encode
        stats = (stop - start, ids[-1], max_weight, min_length, max_length)
        header, block = _block((gaps, mini_weights, mini_values), stats, level)
        size = len(header) + len(block)
        pieces += (pack_int(-size if stop == count else size), header, block)  # the last block: negative
    return b"".join(pieces), (total, count, shortest, longest, highest, docnums[0], docnums[-1])


def _block(body: tuple[Any, Any, Any], stats: BlockStats, level: int) -> tuple[bytes, bytes]:
    """One postings block as whoosh writes it: its header (count, last document, highest weight,
    compression, shortest and longest length) and its body (gaps, weights, values), pickled (the
    body with :data:`BLOCK_PROTOCOL`), the body compressed from :data:`MIN_COMPRESSED_BLOCK` bytes."""
    block = pickle.dumps(body, BLOCK_PROTOCOL)
    compression = level if len(block) >= MIN_COMPRESSED_BLOCK else 0
    if compression:
        block = zlib.compress(block, compression)
    count, last, max_weight, min_length, max_length = stats
    return pickle.dumps((count, last, max_weight, compression, min_length, max_length), 2), block


def _float32(value: float) -> float:
    """``value`` as whoosh keeps a block's weights: a 32-bit float.

    >>> _float32(1.0), _float32(0.1) == array("f", [0.1])[0]
    (1.0, True)
    """
    rounded: float = _unpack_float32(_pack_float32(value))[0]
    return rounded
