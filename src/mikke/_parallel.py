"""Index writing on every core: whoosh's multiprocessing writer, made fast and safe to rely on.

The parent process hands out work in batches; each worker process turns its items
into documents (for a build, an item is a post's path: the worker reads and parses
the post), analyses them (its own Sudachi, created lazily) and writes segments.
Nothing is analysed twice and the segments are not merged (``multisegment``): the
commit adds them to the table of contents, which whoosh renames into place last,
so the commit stays as atomic as a single-process one.

A worker writes with :class:`SegmentBuilder`, which writes the same segment as
whoosh's ``SegmentWriter`` more cheaply: postings are grouped by term in memory
instead of being sorted and spilled through temporary files, and a field value
repeated from the previous document (a post's title on each of its passages) is
analysed once, its postings added for the whole run of documents at once; a small
postings block is left uncompressed (``_whoosh_codec.MIN_COMPRESSED_BLOCK``) and a block's
body is pickled with a newer protocol (``_whoosh_codec.BLOCK_PROTOCOL``), the same postings as
whoosh reads them, and each document's stored fields are left uncompressed
(``_whoosh_codec.store_uncompressed``). A worker starts a new segment when its postings reach
the memory budget (``limitmb``).

Over whoosh's ``MpWriter`` this adds: workers index with the writer's schema (a
full rebuild may change it), items that raise ``PostError`` are reported in
``skipped``, a worker that dies fails the commit instead of its segment being
silently left out, a worker's ``OSError`` (a full disk) is raised in the parent
instead of printed as a traceback, and workers exit when the parent dies.

>>> import tempfile
>>> from whoosh import index
>>> from mikke._schema import build_schema
>>> ix = index.create_in(tempfile.mkdtemp(), build_schema())
>>> writer = ParallelWriter(ix, procs=2, limitmb=32)
>>> for n in range(5):
...     writer.add_document(id=str(n), body="データセンターの冷却")
>>> writer.commit()
>>> ix.doc_count()
5
"""

from __future__ import annotations

import contextlib
import gc
import os
import queue
import threading
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from whoosh.analysis import IDTokenizer
from whoosh.codec.whoosh3 import STORED_COLUMN
from whoosh.formats import Existence, Frequency, Positions
from whoosh.index import Index
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

from ._analysis import analyzer, index_terms
from ._errors import MikkeError, PostError
from ._postings import PostingsWriter, postings_path
from ._whoosh_codec import (
    Postings,
    column_writer,
    encode_frequency,
    encode_positions,
    end_documents,
    hash_tables_at_once,
    lengths_writer,
    store_uncompressed,
    write_terms,
)

#: Worker processes for a large build.
PROCS = min(2, os.cpu_count() or 1)
#: A full build of at least this many posts runs in parallel (fewer are not worth the processes).
PARALLEL_MIN_POSTS = 200
#: Items (posts or documents) per batch handed to a worker.
BATCH_SIZE = 16
#: Memory (MB) each worker may hold postings in before it starts a new segment.
WORKER_LIMIT_MB = 256
#: Memory per posting held by a :class:`SegmentBuilder` (measured: 80-130 bytes on real sites).
POSTING_BYTES = 80

#: Garbage collection thresholds in a worker: it allocates millions of objects that live until
#: the segment is written, and collecting them at Python's default pace costs ~10% of its time
#: (at these, 0.3%: measured on 2,100 posts of ms-dynamics365-ja; 1.5% at ``(10_000, 20, 20)``).
GC_THRESHOLDS = (50_000, 50, 100)

#: Turns one work item into documents (which may come lazily), or raises ``PostError`` when called.
Expand = Callable[[Any], Iterable[dict[str, Any]]]


def _documents(item: Any) -> Iterable[dict[str, Any]]:
    """The default :data:`Expand`: the item is one document's fields."""
    return [item]


@dataclass(slots=True)
class _Run:
    """A field's value in documents ``start`` to ``start + count - 1``: its (term, frequency,
    weight, encoded value) items, their number and its length."""

    value: Any
    items: list[tuple[bytes, int, float, bytes]]
    size: int
    length: int
    start: int
    count: int = 1


class SegmentBuilder(SegmentWriter):  # type: ignore[misc]
    """A ``SegmentWriter`` for new documents that writes the same segment faster.

    Postings are kept in memory grouped by term (``postings`` counts them) and
    written in term order when the segment is finished; an indexed field whose
    value equals the previous document's reuses that analysis (and the postings and
    lengths of a value repeated over consecutive documents are added in one go), and the text fields
    analysed by mikke's analyzer take their terms from :func:`~mikke._analysis.index_terms`
    (the analysis that gave a passage's stored offsets) instead of whoosh's token chain,
    the same postings. A document's stored fields and column values go to whoosh's column
    writers directly, its lengths when the segment is finished. Term vectors and spelling
    fields are not supported (mikke's schema has neither).
    """

    def __init__(self, ix: Index, **kwargs: Any) -> None:
        super().__init__(ix, _lk=False, **kwargs)
        store_uncompressed(self.perdocwriter)
        hash_tables_at_once(self.fieldwriter)
        self.postings = 0
        self._terms: dict[str, dict[bytes, Postings]] = {}
        self._lengths: dict[str, bytearray] = {}  # each scorable field's length byte of each document (0: none)
        self._totals: dict[str, int] = {}  # and its total length
        self._runs: dict[str, _Run] = {}  # each field's latest value, not yet in ``_terms``
        self._fields = dict(self.schema.items())  # the schema's fields by name, without its per-call checks
        self._orders: dict[tuple[str, ...], list[str]] = {}  # a document's field names -> those written, in order
        self._columns: dict[str, Any] = {}  # column writers by field name
        self._stored = column_writer(self.perdocwriter, "_stored", STORED_COLUMN)
        self._copy = PostingsWriter()
        mikke = analyzer()
        self._direct = {  # text fields analysed by mikke's analyzer: name -> with positions
            name: type(field.format) is Positions
            for name, field in self.schema.items()
            if type(field.format) in (Positions, Frequency) and getattr(field, "analyzer", None) == mikke
        }

    def add_document(self, **fields: Any) -> None:
        docnum, known, runs = self.docnum, self._fields, self._runs
        names = self._orders.get(keys := tuple(fields))
        if names is None:  # the first document with these fields
            names = sorted(name for name in keys if not name.startswith("_"))  # no "_boost" and the like
            self._check_fields(self.schema, [name for name in names if name not in known])  # dynamic or unknown
            self._orders[keys] = names
        stored = {}
        for name in names:
            value = fields[name]
            if value is None:
                continue
            field = known.get(name) or self.schema[name]
            if field.indexed:
                run = runs.get(name)
                if run is not None and run.start + run.count == docnum and run.value == value:
                    run.count += 1  # a post's title, excerpt, path... on each of its passages
                    self.postings += run.size
                else:
                    self._start_run(name, field, value, docnum)
            if field.stored:
                stored[name] = value
            if field.column_type:
                writer = self._columns.get(name) or self._column(name, field.column_type)
                writer.add(docnum, field.to_column_value(value))
        if stored:
            self._stored.add(docnum, stored)
        self._added = True
        self.docnum += 1

    def _column(self, name: str, column: Any) -> Any:
        writer = self._columns[name] = column_writer(self.perdocwriter, name, column)
        return writer

    def _start_run(self, name: str, field: Any, value: Any, docnum: int) -> None:
        """Index one field value of document ``docnum``, the first of a new run."""
        run = self._runs.get(name)
        if run is not None:
            self._add_run(name, run)
        if run is not None and run.value == value:
            items, length = run.items, run.length
        else:
            positions = self._direct.get(name)
            if positions is None or not isinstance(value, str):
                items = index_items(field, value)
            else:
                items = analyzed_items(value, positions, field.format.field_boost)
            length = sum(freq for _, freq, _, _ in items) if field.scorable else 0
        if length and name not in self._lengths:  # whoosh's length column: created at the field's first length
            self._lengths[name], self._totals[name] = bytearray(), 0
            lengths_writer(self.perdocwriter, name)
        self._runs[name] = _Run(value, items, len(items), length, docnum)
        self.postings += len(items)

    def _add_run(self, name: str, run: _Run) -> None:
        """Append the postings and lengths of ``run`` to its field's (a long run with a few C-level extends)."""
        terms = self._terms.setdefault(name, {})
        count = run.count
        documents = array("I", range(run.start, run.start + count))
        for tbytes, _, weight, vbytes in run.items:
            postings = terms.get(tbytes)
            if postings is None:
                postings = terms[tbytes] = (array("I"), array("d"), [])
            docnums, weights, values = postings
            if count == 1:  # most runs: one document's value (a passage's text)
                docnums.append(run.start)
                weights.append(weight)
                values.append(vbytes)
            else:
                docnums.extend(documents)
                weights.extend(array("d", (weight,)) * count)
                values += repeat(vbytes, count)
        if run.length:
            lengths = self._lengths[name]
            lengths += bytes(run.start - len(lengths))  # the documents between without this field
            lengths += bytes((length_to_byte(run.length),)) * count
            self._totals[name] += run.length * count

    def _flush_segment(self) -> None:
        """Write the lengths, then the postings in (field, term) order, as whoosh's ``add_postings``
        does, and their copy that searches read (``_postings``)."""
        for name, run in self._runs.items():
            self._add_run(name, run)
        self._runs.clear()
        end_documents(self.perdocwriter, self.docnum, self._lengths, self._totals)
        self.perdocwriter.close()
        writer = self.fieldwriter
        for name, terms in sorted(self._terms.items()):
            if not terms:  # only empty values: whoosh starts no field
                continue
            writer.start_field(name, self.schema[name])
            found = self._lengths.get(name, b"")
            lengths = bytes(found) + bytes(self.docnum - len(found))  # a byte for each document
            ordered = sorted(terms.items())
            write_terms(writer, ordered, lengths)
            for tbytes, postings in ordered:
                self._copy.add(name, tbytes, postings[0], postings[1])
            writer.finish_field()
        writer.close()
        self._terms.clear()

    def _finalize_segment(self) -> Any:
        """Finish the segment (whoosh assembles its files into one), then write the postings copy beside it."""
        segment = super()._finalize_segment()
        self._copy.write(postings_path(self.storage.folder, segment.segment_id()))
        return segment


def index_items(field: Any, value: Any) -> list[tuple[bytes, int, float, bytes]]:
    """``list(field.index(value))``: (term, frequency, weight, encoded value) of each term of
    ``value``, computed in one pass for text with positions or frequencies.

    >>> from mikke._schema import build_schema
    >>> body = build_schema()["body"]
    >>> index_items(body, "冷却と冷却") == list(body.index("冷却と冷却"))
    True
    """
    fmt = field.format
    if not isinstance(value, str):
        return list(field.index(value))
    if type(fmt) is Existence and type(field.analyzer) is IDTokenizer:  # the value is the term
        return [(value.encode(), 1, fmt.field_boost, b"")]
    if type(fmt) not in (Positions, Frequency):
        return list(field.index(value))
    positions: dict[str, list[int]] = {}
    boosts: dict[str, float] = {}
    with_positions = type(fmt) is Positions
    for token in field.analyzer(value, positions=with_positions, boosts=True, mode="index"):
        if token.stopped:
            continue
        text = token.text
        if text in boosts:
            positions[text].append(token.pos if with_positions else 0)
            boosts[text] += token.boost
        else:
            positions[text] = [token.pos if with_positions else 0]
            boosts[text] = 0.0 + token.boost
    boost = fmt.field_boost
    encode = encode_positions if with_positions else encode_frequency
    return [(text.encode(), len(poses), boosts[text] * boost, encode(poses)) for text, poses in positions.items()]


def analyzed_items(text: str, positions: bool, boost: float) -> list[tuple[bytes, int, float, bytes]]:
    """``index_items`` of ``text`` for a field with mikke's analyzer (positions recorded or only
    counted), from :func:`~mikke._analysis.index_terms`: the analysis that also gave the passage's
    stored offsets, no token objects.

    >>> from mikke._schema import build_schema
    >>> body = build_schema()["body"]
    >>> analyzed_items("冷却と冷却", True, 1.0) == index_items(body, "冷却と冷却")
    True
    """
    encode = encode_positions if positions else encode_frequency
    return [
        (term.encode(), len(poses), len(poses) * boost, encode(poses)) for term, (poses, _) in index_terms(text).items()
    ]


class _Task(SubWriterTask):  # type: ignore[misc]
    """A worker: expands its items into documents, indexes them with the parent writer's
    schema into one or more segments, and dies with its parent."""

    def __init__(self, schema: Any, expand: Expand, max_postings: int, *args: Any) -> None:
        super().__init__(*args)
        self.schema, self.expand, self.max_postings = schema, expand, max_postings
        self.parent = os.getpid()

    def run(self) -> None:
        threading.Thread(target=self._watch_parent, daemon=True).start()
        gc.freeze()  # the parent's objects: never garbage here, so never traversed again
        gc.set_threshold(*GC_THRESHOLDS)
        try:
            self.resultqueue.put((*self._build(), None))
        except OSError as error:  # a full disk: reported by the parent in one line, not as a traceback
            self.resultqueue.put(([], [], OSError(error.errno, error.strerror)))

    def _build(self) -> tuple[list[Any], list[tuple[Any, str]]]:
        """Index the batches from the job queue until ``None``; the segments written and the items skipped."""
        ix = self.storage.open_index(self.indexname, schema=self.schema)
        builder = SegmentBuilder(ix, **self.kwargs)
        segments, skipped = [], []
        while (batch := self.jobqueue.get()) is not None:
            for item in batch:
                try:
                    documents = self.expand(item)  # lazily: each passage is indexed while its analysis is cached
                except PostError as error:
                    skipped.append((item, str(error)))
                    continue
                for document in documents:
                    builder.add_document(**document)
            if builder.postings >= self.max_postings:
                segments.append(builder._finalize_segment())
                builder = SegmentBuilder(ix, **self.kwargs)
        if builder._added:
            segments.append(builder._finalize_segment())
        else:
            builder._close_segment()
        return segments, skipped

    def _watch_parent(self) -> None:
        while os.getppid() == self.parent:
            threading.Event().wait(1.0)
        os._exit(1)


class ParallelWriter(MpWriter):  # type: ignore[misc]
    """whoosh's ``MpWriter`` with ``multisegment=True``, :class:`SegmentBuilder` workers
    and the safety checks above.

    ``add_item(item)`` hands one item to the workers, which index ``expand(item)``;
    after the commit, ``skipped`` holds ``(item, reason)`` for each item whose
    expansion raised ``PostError``.
    """

    def __init__(
        self, ix: Index, *, procs: int = PROCS, limitmb: int = WORKER_LIMIT_MB, expand: Expand = _documents
    ) -> None:
        super().__init__(ix, procs=procs, batchsize=BATCH_SIZE, multisegment=True, limitmb=limitmb)
        self.expand = expand
        self.tasks: list[_Task] = []
        self.docbuffer: list[Any] = []
        self.max_postings = limitmb * 2**20 // POSTING_BYTES
        self.skipped: list[tuple[Any, str]] = []

    def add_document(self, **fields: Any) -> None:
        self.add_item(fields)

    def add_item(self, item: Any) -> None:
        self.docbuffer.append(item)
        if len(self.docbuffer) >= self.batchsize:
            self._enqueue()
        self._added_sub = True

    def _enqueue(self) -> None:
        if len(self.tasks) < self.procs:
            self._new_task()
        self._put(self.docbuffer)
        self.docbuffer = []

    def _put(self, job: list[Any] | None) -> None:
        """Queue a job for the workers (waiting while they are busy, failing if all have died)."""
        while True:
            try:
                self.jobqueue.put(job, timeout=1.0)
                return
            except queue.Full:
                self._check_alive()

    def _new_task(self) -> _Task:
        task = _Task(
            self.schema,
            self.expand,
            self.max_postings,
            self.storage,
            self.indexname,
            self.jobqueue,
            self.resultqueue,
            self.subargs,
            True,
        )
        self.tasks.append(task)
        task.start()
        return task

    def cancel(self) -> None:
        for task in self.tasks:
            task.kill()
            task.join()
        self.tasks = []
        self.jobqueue.cancel_join_thread()  # what no worker will read must not keep this process alive
        super().cancel()

    def _check_alive(self) -> None:
        """Raise (and cancel) when no worker is left alive: the ``OSError`` a worker
        reported (a full disk), else ``MikkeError``."""
        if not any(task.is_alive() for task in self.tasks):
            codes = [task.exitcode for task in self.tasks]
            errors = []
            with contextlib.suppress(queue.Empty):
                while True:
                    errors.append(self.resultqueue.get_nowait()[2])
            self.cancel()
            for error in filter(None, errors):
                raise error
            raise MikkeError(f"an indexing worker process failed (exit codes {codes})")

    def _commit(self, mergetype: Any, optimize: Any, merge: Any) -> None:
        if self.docbuffer:
            self._enqueue()
        for _ in self.tasks:
            self._put(None)
        segments = self._merge_segments(mergetype, optimize, merge)
        results = self._results()
        for task in self.tasks:
            task.join()
        for error in (error for _, _, error in results if error):
            self.cancel()
            raise error
        for task_segments, skipped, _ in results:
            segments += task_segments
            self.skipped += skipped
        if self._added:
            segments.append(self._finalize_segment())
        else:
            self._close_segment()
        self._commit_toc(segments)
        self._finish()

    def _results(self) -> list[Any]:
        """Each worker's segments and skipped items; raises ``MikkeError`` when a worker died without them."""
        results: list[Any] = []
        while len(results) < len(self.tasks):
            alive = any(task.is_alive() for task in self.tasks)  # before waiting: a result may come as one exits
            try:
                results.append(self.resultqueue.get(timeout=1.0))
            except queue.Empty:
                if not alive:
                    self._check_alive()
        return results
