"""Build and update the index: posts -> passages -> whoosh documents.

Each post is stored as one marker document (its path and content hash, so the
next run knows what changed) plus one document per passage. A run reads and
hashes every post but parses and analyses only added and changed ones, deletes
removed ones, and commits once; a run that finds nothing to do writes nothing.
A full build of many posts runs on worker processes (``_parallel``), which read,
parse, analyse and write the posts they are handed; the parent only hands out paths.

Safety beside searches and other jobs:

* **Atomic.** whoosh writes the new segment files, then renames a new table of
  contents (``_MAIN_<generation>.toc``) into place, then deletes the files the
  old one used. A reader sees the old generation or the new one, never a mix. A
  reader in another process that read the old table of contents just before the
  deletion finds a file gone: :func:`open_index` (and whoosh's ``Index.reader``)
  then retry with the new one. A first build is written in a staging directory
  and its table of contents moved in last, so no one sees a half-built index.
* **Crash-safe.** Until that rename, the old generation is untouched; a job
  killed at any point leaves it readable. The next run deletes the leftovers
  (unreferenced segments, temporary files, the staging directory) and redoes the work.
* **Postings copies.** Each segment gets a copy of its postings that searches read
  (``_postings``): written beside it before the commit (parallel build) or after
  it (whoosh's writer), and again by the next run if a job was killed first.
  Searches read whoosh's own postings where a segment has no copy.
* **One job at a time.** ``.mikke.lock`` in the index directory (an OS lock,
  released if the job dies); a second job waits up to ``wait`` seconds, then
  raises ``IndexBusyError``.
* **Compatible or rebuilt.** ``mikke.json`` records what the index was built
  with (schema version, Sudachi versions, URL and anchor settings); when any of
  it differs, the run rebuilds everything and says why.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import filelock
from whoosh import index as whoosh_index
from whoosh import writing
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, Index, LockError

from ._analysis import fold, reading_pairs
from ._config import Config
from ._corpus import iter_post_paths, parse_post, read_text
from ._errors import CorpusError, IndexBusyError, IndexMissingError, MikkeError, PostError
from ._markdown import PARSER_VERSION
from ._models import Post
from ._parallel import PARALLEL_MIN_POSTS, Expand, ParallelWriter
from ._postings import TEMPORARY_SUFFIX, write_missing
from ._schema import SCHEMA_VERSION, build_schema
from ._snippets import pack_offsets

INDEX_NAME = "MAIN"
LOCK_FILE = ".mikke.lock"
META_FILE = "mikke.json"
#: A first build is written here, inside the index directory, then moved into place.
STAGING_DIR = ".mikke-new"
#: Seconds a second job waits for the lock before giving up.
DEFAULT_WAIT = 60.0
#: Memory whoosh may use for postings before it spills to temporary files.
WRITER_LIMIT_MB = 128
#: How often opening the index is retried when a concurrent commit removed a file.
OPEN_ATTEMPTS = 20

_TOC = re.compile(rf"^_{INDEX_NAME}_(\d+)\.toc$")
_TEMP_TOC = re.compile(rf"^_{INDEX_NAME}_\d+\.toc\.")
_SEGMENT_FILE = re.compile(rf"^{INDEX_NAME}_[0-9a-z]+\.")

_FOREIGN_WRITER = "another program is writing the whoosh index in {path}"

Progress = Callable[[int, int], None]


@dataclass
class IndexReport:
    """What one indexing run did."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    passages: int = 0
    seconds: float = 0.0
    rebuilt: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape (``rebuilt`` is left out: it goes to the message).

        >>> list(IndexReport().to_dict())
        ['added', 'updated', 'deleted', 'unchanged', 'skipped', 'passages', 'seconds']
        """
        data = asdict(self)
        data.pop("rebuilt")
        return data


def index_settings(config: Config) -> dict[str, Any]:
    """What a stored index depends on: when any of it changes, the index is rebuilt.

    Which files are posts (``include``/``exclude``) is not here: an ordinary run
    adds and deletes posts when those change.

    >>> index_settings(Config())["schema"] == SCHEMA_VERSION
    True
    """
    return {
        "schema": SCHEMA_VERSION,
        "parser": PARSER_VERSION,
        "sudachipy": version("sudachipy"),
        "sudachidict-core": version("sudachidict-core"),
        "anchor_scheme": config.anchor_scheme,
        "permalink": config.permalink,
        "base_url": config.base_url,
    }


def rebuild_reason(stored: dict[str, Any], current: dict[str, Any]) -> str:
    """Why an index built with ``stored`` settings cannot be updated to ``current`` ("" if it can).

    >>> rebuild_reason({"schema": 1, "base_url": ""}, {"schema": 2, "base_url": ""})
    'schema changed from 1 to 2'
    >>> rebuild_reason({"schema": 2}, {"schema": 2})
    ''
    """
    if not stored:
        return f"the index has no {META_FILE} recording how it was built"
    changes = [
        f"{key} changed from {stored.get(key)!r} to {value!r}"
        for key, value in current.items()
        if stored.get(key) != value
    ]
    return "; ".join(changes)


def index_exists(path: Path) -> bool:
    """True when ``path`` holds a committed mikke index (it lists the directory, opens nothing)."""
    try:
        return any(_TOC.match(name) for name in os.listdir(path))
    except OSError:
        return False


def open_index(path: Path) -> Index:
    """Open the index for reading; raises ``IndexMissingError`` when there is none.

    A job committing in another process deletes the previous table of contents;
    opening then retries with the new one.
    """
    attempt = 0
    while True:
        if not index_exists(path):
            raise IndexMissingError(f"no index at {path}: run `mikke index` first")
        try:
            return whoosh_index.open_dir(str(path), indexname=INDEX_NAME)
        except FileNotFoundError:
            attempt += 1
            if attempt == OPEN_ATTEMPTS:
                raise
            time.sleep(0.01)


def post_documents(post: Post) -> Iterator[dict[str, Any]]:
    """The whoosh documents of one post: one per passage, then a marker (last: the readings of
    its words are gathered from the passages' analyses, cached while each is indexed)."""
    date = dt.datetime.combine(post.date, dt.time()) if post.date else None
    shown = {
        "title": post.title,
        "url": post.url,
        "date": post.date.isoformat() if post.date else "",
        "tags": list(post.tags),
        "categories": list(post.categories),
    }
    labels = " ".join(post.tags + post.categories)
    readings = reading_pairs(post.title) | reading_pairs(post.excerpt) | reading_pairs(labels)
    heading = None
    for section, passage in post.passages():
        document: dict[str, Any] = {
            "path": post.path,
            "digest": passage.digest.encode(),
            "title": post.title,
            "heading": section.heading,
            "tags": labels,
            "excerpt": post.excerpt,
            "body": passage.text,
            "tag": ",".join(post.tags),
            "category": ",".join(post.categories),
            "post": shown,
            "section": {"heading": section.heading, "anchor": section.anchor},
            "text": passage.text,
            "offsets": pack_offsets(passage.text),  # Sudachi runs here; the body then finds it cached
            "kind": passage.kind,
            "shown": fold("\n".join((post.title, section.heading, passage.text))).encode(),
        }
        if date:
            document["date"] = date
        yield document
        if section.heading != heading:
            heading = section.heading
            readings |= reading_pairs(heading)
        readings |= reading_pairs(passage.text)
    yield {
        "id": post.path,
        "path": post.path,
        "content_hash": post.content_hash,
        "reading": "\n".join(sorted(readings)),
    }


def stored_hashes(path: Path) -> dict[str, str]:
    """path -> content hash of every post in the index, read from the marker documents only.

    A marker's ``id`` is its post's path, so each indexed path is looked up once;
    the passages' stored fields are never read.
    """
    hashes = {}
    with open_index(path).searcher() as searcher:
        reader = searcher.reader()
        for term in reader.lexicon("path"):
            relpath = term.decode("utf-8")
            docnum = searcher.document_number(id=relpath)
            if docnum is not None:
                hashes[relpath] = reader.stored_fields(docnum)["content_hash"]
    return hashes


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((path / META_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def _write_meta(path: Path, settings: dict[str, Any]) -> None:
    tmp = path / (META_FILE + ".tmp")
    tmp.write_text(json.dumps(settings, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(path / META_FILE)


@contextmanager
def _locked(path: Path, wait: float) -> Iterator[None]:
    lock = filelock.FileLock(str(path / LOCK_FILE))
    try:
        lock.acquire(timeout=wait)
    except filelock.Timeout:
        raise IndexBusyError(f"another `mikke index` job is running on {path} (waited {wait:g}s; see --wait)") from None
    try:
        yield
    finally:
        lock.release()


def clean_leftovers(path: Path) -> list[str]:
    """Delete what a killed job left behind; returns the names deleted.

    Call with the lock held: the staging directory, temporary files, and the
    tables of contents and segment files the current generation does not use.
    """
    storage = FileStorage(str(path))
    writelock = storage.lock(f"{INDEX_NAME}_WRITELOCK")  # whoosh's own lock, which a live writer holds
    if not writelock.acquire(blocking=False):
        raise IndexBusyError(_FOREIGN_WRITER.format(path=path))
    try:
        before = set(os.listdir(path))
        exists = index_exists(path)
        if exists:
            toc = TOC.read(storage, INDEX_NAME)
            whoosh_index.clean_files(storage, INDEX_NAME, toc.generation, toc.segments)
        for name in before:
            if name in (STAGING_DIR, f"{INDEX_NAME}.tmp"):
                shutil.rmtree(path / name, ignore_errors=True)
            elif (
                _TEMP_TOC.match(name)
                or name == META_FILE + ".tmp"
                or name.endswith(TEMPORARY_SUFFIX)
                or (_SEGMENT_FILE.match(name) and not exists)
            ):
                (path / name).unlink(missing_ok=True)
        return sorted(before - set(os.listdir(path)))
    finally:
        writelock.release()


class _Writer:
    """Opens the whoosh writer on the first change, so a run with nothing to do writes nothing.

    A first build goes to the staging directory; :meth:`commit` moves it into place,
    segment files first and the table of contents last.
    """

    def __init__(self, path: Path, full: bool, expand: Expand | None = None) -> None:
        self.path, self.full, self.expand = path, full, expand  # expand: a parallel build's workers' job
        self._writer: writing.IndexWriter | None = None
        self._staging: Path | None = None

    def get(self) -> writing.IndexWriter:
        if self._writer is None:
            if index_exists(self.path):
                ix = whoosh_index.open_dir(str(self.path), indexname=INDEX_NAME)
            else:
                self._staging = self.path / STAGING_DIR
                self._staging.mkdir()
                ix = whoosh_index.create_in(str(self._staging), build_schema(), indexname=INDEX_NAME)
            try:
                if self.expand:
                    self._writer = ParallelWriter(ix, expand=self.expand)
                else:
                    self._writer = ix.writer(limitmb=WRITER_LIMIT_MB)
            except LockError:
                raise IndexBusyError(_FOREIGN_WRITER.format(path=self.path)) from None
            if self.full:
                # Every old segment is dropped (CLEAR), so the new generation may use a new schema.
                self._writer.schema = build_schema()
        return self._writer

    def commit(self) -> bool:
        """Commit if anything was written; True when a new generation was published."""
        if self._writer is None:
            return False
        self._writer.commit(mergetype=writing.CLEAR if self.full else writing.MERGE_SMALL)
        if self._staging is not None:
            names = sorted(os.listdir(self._staging), key=lambda name: bool(_TOC.match(name)))
            for name in names:
                if not name.endswith("WRITELOCK"):
                    (self._staging / name).replace(self.path / name)
            shutil.rmtree(self._staging)
        return True

    def cancel(self) -> None:
        if self._writer is not None:
            self._writer.cancel()


def update_index(
    config: Config, *, full: bool = False, wait: float = DEFAULT_WAIT, progress: Progress | None = None
) -> IndexReport:
    """Bring the index at ``config.index`` up to date with the corpus.

    Malformed posts are reported in ``skipped`` and left out; the rest is indexed.
    Raises ``CorpusError`` for a missing corpus, ``IndexBusyError`` when another
    job holds the lock for longer than ``wait`` seconds, and ``MikkeError`` when
    the index directory cannot be written (the previous index stays usable).

    >>> import tempfile
    >>> config = Config(index=Path(tempfile.mkdtemp()))
    >>> update_index(config).added, update_index(config).unchanged
    (2, 2)
    """
    started = time.perf_counter()
    if not config.corpus.is_dir():
        raise CorpusError(f"corpus directory not found: {config.corpus} (set --corpus or MIKKE_CORPUS)")
    try:
        config.index.mkdir(parents=True, exist_ok=True)
        with _locked(config.index, wait):
            report = _update(config, full, progress)
    except OSError as error:  # unwritable directory, disk full...: the old index is still in place
        raise MikkeError(f"cannot update the index in {config.index}: {error.strerror or error}") from error
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _update(config: Config, full: bool, progress: Progress | None) -> IndexReport:
    """The job itself, with the lock held."""
    clean_leftovers(config.index)
    report = IndexReport()
    settings = index_settings(config)
    if not index_exists(config.index):
        full = True
    elif not full:
        report.rebuilt = rebuild_reason(_read_meta(config.index), settings)
        full = bool(report.rebuilt)
    paths = list(iter_post_paths(config))
    stored = {} if full else stored_hashes(config.index)
    parallel = full and len(paths) >= PARALLEL_MIN_POSTS
    writer = _Writer(config.index, full, expand=functools.partial(post_documents_of, config) if parallel else None)
    try:
        if full:
            writer.get()  # a rebuild always writes, even an empty index
        if parallel:
            _hand_out(writer.get(), paths, report, progress)
        else:
            _apply_changes(writer, config, paths, stored, report, progress)
    except BaseException:
        writer.cancel()
        raise
    published = writer.commit()
    if parallel:
        skipped = sorted(writer.get().skipped)
        report.skipped = [{"path": relpath, "reason": reason} for relpath, reason in skipped]
        report.added -= len(skipped)
    if published or _read_meta(config.index) != settings:
        _write_meta(config.index, settings)
    with open_index(config.index).searcher() as searcher:
        report.passages = searcher.doc_count() - (len(paths) - len(report.skipped))
        # whoosh's own writer (updates, merges) writes no postings file, nor did older builds
        write_missing(config.index, [leaf for leaf, _ in searcher.reader().leaf_readers()])
    return report


def _apply_changes(
    writer: _Writer,
    config: Config,
    paths: list[str],
    stored: dict[str, str],
    report: IndexReport,
    progress: Progress | None,
) -> None:
    for removed in sorted(set(stored) - set(paths)):
        writer.get().delete_by_term("path", removed)
        report.deleted += 1
    for done, relpath in enumerate(paths, 1):
        if progress:
            progress(done, len(paths))
        previous = stored.get(relpath)
        try:
            text, content_hash = read_text(config.corpus / relpath)
            if previous == content_hash:
                report.unchanged += 1
                continue
            post = _parse(relpath, text, content_hash, config)
        except PostError as error:
            report.skipped.append({"path": relpath, "reason": str(error)})
            if previous is not None:
                writer.get().delete_by_term("path", relpath)
                report.deleted += 1
            continue
        if previous is None:
            report.added += 1
        else:
            writer.get().delete_by_term("path", relpath)
            report.updated += 1
        for document in post_documents(post):
            writer.get().add_document(**document)


def _hand_out(writer: ParallelWriter, paths: list[str], report: IndexReport, progress: Progress | None) -> None:
    """A parallel full build: the workers read, parse and index the posts (:func:`post_documents_of`)."""
    for done, relpath in enumerate(paths, 1):
        if progress:
            progress(done, len(paths))
        writer.add_item(relpath)
    report.added = len(paths)


def post_documents_of(config: Config, relpath: str) -> Iterator[dict[str, Any]]:
    """Read and parse one post (in a worker; raises ``PostError``); its documents come as indexed."""
    text, content_hash = read_text(config.corpus / relpath)
    return post_documents(_parse(relpath, text, content_hash, config))


def _parse(relpath: str, text: str, content_hash: str, config: Config) -> Post:
    """``parse_post``, with any unexpected failure on one post reported as a ``PostError``:
    one bad file must not stop the nightly job."""
    try:
        return parse_post(relpath, text, content_hash, config)
    except PostError:
        raise
    except Exception as error:
        raise PostError(f"cannot parse: {type(error).__name__}: {error}") from None
