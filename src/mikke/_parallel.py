"""Index writing on every core: whoosh's multiprocessing writer, made safe to rely on.

The parent process reads and parses posts and hands their documents, in batches,
to worker processes; each worker analyses them (its own Sudachi, created lazily)
and writes one segment. Nothing is analysed twice and the segments are not merged
(``multisegment``): the commit adds them to the table of contents, which whoosh
renames into place last, so the commit stays as atomic as a single-process one.

Over whoosh's ``MpWriter`` this adds: workers index with the writer's schema (a
full rebuild may change it), a worker that dies fails the commit instead of its
segment being silently left out, and workers exit when the parent dies.

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

import os
import queue
import threading
from typing import Any

from whoosh.index import Index
from whoosh.multiproc import MpWriter, SubWriterTask

from ._errors import MikkeError

#: Worker processes for a large build (the parent parses posts meanwhile).
PROCS = min(2, os.cpu_count() or 1)
#: A full build of at least this many posts runs in parallel (fewer are not worth the processes).
PARALLEL_MIN_POSTS = 200
#: Documents per batch handed to a worker.
BATCH_SIZE = 256


class _Task(SubWriterTask):  # type: ignore[misc]
    """A worker that indexes with the parent writer's schema and dies with its parent."""

    def __init__(self, schema: Any, *args: Any) -> None:
        super().__init__(*args)
        self.schema = schema
        self.parent = os.getpid()

    def run(self) -> None:
        threading.Thread(target=self._watch_parent, daemon=True).start()
        open_index = self.storage.open_index
        self.storage.open_index = lambda indexname: open_index(indexname, schema=self.schema)
        super().run()

    def _watch_parent(self) -> None:
        while os.getppid() == self.parent:
            threading.Event().wait(1.0)
        os._exit(1)


class ParallelWriter(MpWriter):  # type: ignore[misc]
    """whoosh's ``MpWriter`` with ``multisegment=True`` and the safety checks above."""

    def __init__(self, ix: Index, *, procs: int = PROCS, limitmb: int = 128) -> None:
        super().__init__(ix, procs=procs, batchsize=BATCH_SIZE, multisegment=True, limitmb=limitmb)

    def _new_task(self) -> _Task:
        task = _Task(self.schema, self.storage, self.indexname, self.jobqueue, self.resultqueue, self.subargs, True)
        self.tasks.append(task)
        task.start()
        return task

    def _commit(self, mergetype: Any, optimize: Any, merge: Any) -> None:
        if self.docbuffer:
            self._enqueue()
        for _ in self.tasks:
            self.jobqueue.put(None)
        segments = self._merge_segments(mergetype, optimize, merge)
        results = self._results()
        for task in self.tasks:
            task.join()
        segments += [segment for _, _, segment in results]
        if self._added:
            segments.append(self._finalize_segment())
        else:
            self._close_segment()
        self._commit_toc(segments)
        self._finish()

    def _results(self) -> list[Any]:
        """Each worker's segment; raises ``MikkeError`` when a worker died without one."""
        results: list[Any] = []
        while len(results) < len(self.tasks):
            alive = any(task.is_alive() for task in self.tasks)
            try:
                results.append(self.resultqueue.get(timeout=1.0))
            except queue.Empty:
                if not alive:
                    codes = [task.exitcode for task in self.tasks]
                    self.cancel()
                    raise MikkeError(f"an indexing worker process failed (exit codes {codes})") from None
        return results
