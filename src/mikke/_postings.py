"""Each segment's postings as flat arrays in a file beside it, read in place with numpy.

whoosh keeps a term's postings in pickled, compressed blocks found through its terms
table, so reading a term costs a table lookup and a decode per block; looking up a word
a segment does not hold (most lookups: each query word in each of five fields) costs
about as much. ``<segment id>.postings`` holds the same postings of the search fields:
document numbers (in the segment) and weights (as whoosh keeps them, 32-bit floats), a
term's postings one slice of each flat array. A term costs a dict lookup and two slices.

It is written when a segment is finished, by the parallel build's workers from the
postings they hold (:class:`PostingsWriter`), and after a commit, from whoosh, for any
segment without one (:func:`write_missing`: whoosh's own writer, for updates and merges).
The file is a copy: a segment without a readable one is read through whoosh, with the
same results. whoosh deletes it with its segment (the name matches its segment files').

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "MAIN_x.postings"
>>> writer = PostingsWriter()
>>> writer.add("body", "冷却".encode(), [0, 3], [1.0, 2.0])
>>> writer.add("tag", b"gpu", [1], [1.0])  # not a search field: not copied
>>> writer.write(path)
>>> postings = SegmentPostings.open(path)
>>> [array.tolist() for array in postings.get("body", "冷却")]
[[0, 3], [1.0, 2.0]]
>>> postings.get("body", "水冷")[0].size, postings.get("tag", "gpu") is None
(0, True)
"""

from __future__ import annotations

import json
import mmap
import os
import pickle
import sys
import zlib
from array import array
from collections.abc import Iterable, Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from whoosh.codec.whoosh3 import W3LeafMatcher

from ._schema import SEARCH_FIELDS

#: The start of every postings file; a new layout gets a new one.
MAGIC = b"mikke-postings-1"
SUFFIX = ".postings"
#: A postings file's suffix while it is written.
TEMPORARY_SUFFIX = SUFFIX + ".tmp"

Ids = NDArray[np.uint32]
Weights = NDArray[np.float32]


def postings_path(folder: str | Path, segment_id: str) -> Path:
    """Where a segment's postings file lives.

    >>> postings_path("index", "MAIN_kvbod6htunwifcwa").name
    'MAIN_kvbod6htunwifcwa.postings'
    """
    return Path(folder) / f"{segment_id}{SUFFIX}"


class PostingsWriter:
    """Collects a segment's postings of the search fields, in (field, term) order, and writes the file."""

    def __init__(self) -> None:
        self._keys = bytearray()
        self._key_ends = array("q")
        self._starts = array("q", [0])
        self._docnums = array("I")
        self._weights = array("f")

    def add(self, field: str, term: bytes, docnums: ArrayLike, weights: ArrayLike) -> None:
        """One term's postings (fields other than the search fields are left out)."""
        if field in SEARCH_FIELDS:
            self._keys += _key(field, term)
            self._key_ends.append(len(self._keys))
            self._docnums.frombytes(np.asarray(docnums, dtype=np.uint32).tobytes())
            self._weights.frombytes(np.asarray(weights, dtype=np.float32).tobytes())
            self._starts.append(len(self._docnums))

    def write(self, path: Path) -> None:
        """Write the file atomically (a temporary file renamed into place)."""
        terms, postings = len(self._key_ends), len(self._docnums)
        header = json.dumps({"terms": terms, "postings": postings, "keys": len(self._keys)}).encode()
        header += b" " * (-len(header) % 8)
        temporary = path.with_name(path.stem + TEMPORARY_SUFFIX)
        with open(temporary, "wb") as file:
            file.write(MAGIC + len(header).to_bytes(8, sys.byteorder) + header)
            for part in (self._key_ends, self._starts, self._docnums, self._weights):
                file.write(part.tobytes())
            file.write(self._keys)
        os.replace(temporary, path)


class SegmentPostings:
    """One segment's postings file, mapped into memory."""

    def __init__(self, buffer: mmap.mmap) -> None:
        header, offset = _header(buffer)
        terms, postings = header["terms"], header["postings"]
        key_ends = np.frombuffer(buffer, np.int64, terms, offset)
        self._starts = np.frombuffer(buffer, np.int64, terms + 1, offset + 8 * terms)
        offset += 8 * (2 * terms + 1)
        self._docnums: Ids = np.frombuffer(buffer, np.uint32, postings, offset)
        self._weights: Weights = np.frombuffer(buffer, np.float32, postings, offset + 4 * postings)
        keys = buffer[offset + 8 * postings :]
        bounds = [0, *key_ends.tolist()]
        self._terms = {keys[start:end]: n for n, (start, end) in enumerate(pairwise(bounds))}

    @classmethod
    def open(cls, path: Path) -> SegmentPostings | None:
        """The file at ``path``; None when it is missing or does not read (whoosh is read instead)."""
        try:
            return cls(_mapped(path))
        except _UNREADABLE:
            return None

    def get(self, field: str, term: str) -> tuple[Ids, Weights] | None:
        """``term``'s document numbers (sorted) and weights in ``field`` (empty when the segment does
        not hold it); None for a field the file does not copy."""
        if field not in SEARCH_FIELDS:
            return None
        n = self._terms.get(_key(field, term.encode()))
        if n is None:
            return self._docnums[:0], self._weights[:0]
        start, end = self._starts[n], self._starts[n + 1]
        return self._docnums[start:end], self._weights[start:end]

    def doc_frequencies(self) -> Iterator[tuple[str, str, int]]:
        """(field, term, documents holding it) of every term the file holds."""
        counts = np.diff(self._starts).tolist()
        for key, n in self._terms.items():
            field, _, term = key.partition(b"\0")
            yield field.decode(), term.decode("utf-8", "replace"), counts[n]


def write_missing(folder: Path, leaves: Iterable[Any]) -> list[Path]:
    """Write the postings file of each of the segment readers ``leaves`` that has none (or one that
    does not read); returns the files written."""
    written = []
    for leaf in leaves:
        if not leaf.doc_count_all():  # an empty index's reader has no segment
            continue
        path = postings_path(folder, leaf.segment().segment_id())
        if not readable(path):
            writer = PostingsWriter()
            for field, term, ids, weights in whoosh_postings(leaf):
                writer.add(field, term, ids, weights)
            writer.write(path)
            written.append(path)
    return written


def whoosh_postings(leaf: Any) -> Iterator[tuple[str, bytes, NDArray[np.int64], NDArray[np.float64]]]:
    """Every term of the search fields in one segment reader, in (field, term) order, with its postings."""
    for field in sorted(SEARCH_FIELDS):
        if field not in leaf.schema:
            continue
        fmt = leaf.schema[field].format
        for term in leaf.lexicon(field):
            yield (field, term, *read_matcher(leaf._terms.matcher(field, term, fmt)))


def _key(field: str, term: bytes) -> bytes:
    return field.encode() + b"\0" + term


#: What opening a postings file that is missing, cut short or not one raises.
_UNREADABLE = (OSError, ValueError, KeyError, TypeError)


def _mapped(path: Path) -> mmap.mmap:
    """The file at ``path`` mapped into memory, read-only (an empty file raises ``ValueError``)."""
    with open(path, "rb") as file:
        return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)


def _header(buffer: mmap.mmap) -> tuple[dict[str, int], int]:
    """A postings file's header and where its arrays start; raises ``ValueError`` for a file
    that is not one, or not whole."""
    if buffer[: len(MAGIC)] != MAGIC:
        raise ValueError("not a mikke postings file")
    size = int.from_bytes(buffer[len(MAGIC) : len(MAGIC) + 8], sys.byteorder)
    start = len(MAGIC) + 8 + size
    header = json.loads(buffer[len(MAGIC) + 8 : start])
    if start + 8 * (2 * header["terms"] + 1) + 8 * header["postings"] + header["keys"] != len(buffer):
        raise ValueError("a mikke postings file of the wrong size")
    return header, start


def readable(path: Path) -> bool:
    """Whether ``path`` is a whole postings file (checked without reading its terms)."""
    try:
        with _mapped(path) as buffer:
            _header(buffer)
    except _UNREADABLE:
        return False
    return True


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
