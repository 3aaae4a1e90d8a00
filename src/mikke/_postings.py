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
import os
import sys
from array import array
from collections.abc import Iterable, Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._schema import SEARCH_FIELDS
from ._whoosh_codec import read_matcher, term_matcher

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
        self._weights = array("d")  # written as 32-bit floats

    def add(self, field: str, term: bytes, docnums: ArrayLike, weights: ArrayLike) -> None:
        """One term's postings (fields other than the search fields are left out)."""
        if field in SEARCH_FIELDS:
            self._keys += _key(field, term)
            self._key_ends.append(len(self._keys))
            self._docnums += _typed(docnums, "I")
            self._weights += _typed(weights, "d")
            self._starts.append(len(self._docnums))

    def write(self, path: Path) -> None:
        """Write the file atomically (a temporary file renamed into place)."""
        terms, postings = len(self._key_ends), len(self._docnums)
        header = json.dumps({"terms": terms, "postings": postings, "keys": len(self._keys)}).encode()
        header += b" " * (-len(header) % 8)
        temporary = path.with_name(path.stem + TEMPORARY_SUFFIX)
        with open(temporary, "wb") as file:
            file.write(MAGIC + len(header).to_bytes(8, sys.byteorder) + header)
            for part in (self._key_ends, self._starts, self._docnums):
                file.write(part.tobytes())
            file.write(np.asarray(self._weights, dtype=np.float32).tobytes())
            file.write(self._keys)
        os.replace(temporary, path)


class SegmentPostings:
    """One segment's postings file, read into memory (not mapped: a file truncated under a
    running server must give an error, not SIGBUS)."""

    def __init__(self, buffer: bytes) -> None:
        header, offset = _header(buffer)
        terms, postings = header["terms"], header["postings"]
        self.terms = terms
        key_ends = np.frombuffer(buffer, np.int64, terms, offset)
        self._starts = np.frombuffer(buffer, np.int64, terms + 1, offset + 8 * terms)
        offset += 8 * (2 * terms + 1)
        self._docnums: Ids = np.frombuffer(buffer, np.uint32, postings, offset)
        self._weights: Weights = np.frombuffer(buffer, np.float32, postings, offset + 4 * postings)
        self._none = self._docnums[:0], self._weights[:0]
        keys = buffer[offset + 8 * postings :]
        bounds = [0, *key_ends.tolist()]
        self._terms = {keys[start:end]: n for n, (start, end) in enumerate(pairwise(bounds))}

    @classmethod
    def open(cls, path: Path) -> SegmentPostings | None:
        """The file at ``path``; None when it is missing or does not read (whoosh is read instead)."""
        try:
            return cls(path.read_bytes())
        except _UNREADABLE:
            return None

    def get(self, field: str, term: str) -> tuple[Ids, Weights] | None:
        """``term``'s document numbers (sorted) and weights in ``field`` (empty when the segment does
        not hold it); None for a field the file does not copy."""
        if field not in SEARCH_FIELDS:
            return None
        n = self._terms.get(_key(field, term.encode()))
        if n is None:
            return self._none
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
        for term in leaf.lexicon(field):
            yield (field, term, *read_matcher(term_matcher(leaf, field, term)))


def _typed(values: ArrayLike, typecode: str) -> array[Any]:
    """``values`` as an array of ``typecode`` ("I" or "d"): themselves when they are one already
    (the builder's postings), else converted at C speed (numpy's, from whoosh).

    >>> _typed(np.array([1, 2]), "I"), _typed(array("d", [0.5]), "d")
    (array('I', [1, 2]), array('d', [0.5]))
    """
    if isinstance(values, array) and values.typecode == typecode:
        return values
    return array(typecode, np.asarray(values, dtype=np.uint32 if typecode == "I" else np.float64).tobytes())


def _key(field: str, term: bytes) -> bytes:
    return field.encode() + b"\0" + term


#: What opening a postings file that is missing, cut short or not one raises.
_UNREADABLE = (OSError, ValueError, KeyError, TypeError)


#: The longest header a postings file may have.
_MAX_HEADER = 4096


def _header(buffer: bytes, file_size: int | None = None) -> tuple[dict[str, int], int]:
    """A postings file's header and where its arrays start, from the file's first bytes (and its
    size, when not all of it); raises ``ValueError`` for a file that is not one, or not whole."""
    if buffer[: len(MAGIC)] != MAGIC:
        raise ValueError("not a mikke postings file")
    size = int.from_bytes(buffer[len(MAGIC) : len(MAGIC) + 8], sys.byteorder)
    start = len(MAGIC) + 8 + size
    header = json.loads(buffer[len(MAGIC) + 8 : start])
    total = len(buffer) if file_size is None else file_size
    if start + 8 * (2 * header["terms"] + 1) + 8 * header["postings"] + header["keys"] != total:
        raise ValueError("a mikke postings file of the wrong size")
    return header, start


def readable(path: Path) -> bool:
    """Whether ``path`` is a whole postings file (checked without reading its terms)."""
    try:
        with open(path, "rb") as file:
            _header(file.read(len(MAGIC) + 8 + _MAX_HEADER), os.fstat(file.fileno()).st_size)
    except _UNREADABLE:
        return False
    return True
