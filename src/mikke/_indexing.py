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
  deletion finds a file gone: ``_store.open_generation`` then retries with the new
  one. A first build is written in a staging directory, its postings copies and
  ``mikke.json`` too, and its table of contents moved in last, so no one sees a
  half-built index.
* **Crash-safe.** Until that rename, the old generation is untouched; a job
  killed at any point leaves it readable. The next run deletes the leftovers
  (unreferenced segments, temporary files, the staging directory) and redoes the work;
  a job that fails on an ``OSError`` (a full disk) deletes them at once.
* **Deletes only what it read.** A post is deleted when the walk of its directory
  found it gone, never because a directory or file could not be read (those are
  reported); a run that would delete more than half of the index refuses
  (``allow_mass_delete``).
* **Postings copies.** Each segment gets a copy of its postings that searches read
  (``_postings``): written beside it before the commit (parallel build) or after
  it (whoosh's writer), and again by the next run if a job was killed first.
  Searches read whoosh's own postings where a segment has no copy yet.
* **Recorded and verified.** After each commit, ``mikke.json`` records the size and
  CRC-32 of every file of the new generation (``_store.record``); each run first
  verifies them all and repairs what is damaged (``_store.repair``).
* **One job at a time.** ``.mikke.lock`` in the index directory (an OS lock,
  released if the job dies); a second job waits up to ``wait`` seconds, then
  raises ``IndexBusyError``.
* **Compatible or rebuilt.** ``mikke.json`` records what the index was built
  with (schema version, Sudachi versions, URL and anchor settings); when any of
  it differs, the run rebuilds everything and says why.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh import writing
from whoosh.index import LockError

from ._analysis import fold, reading_pairs
from ._config import Config
from ._corpus import CorpusScan, parse_post, read_text, scan_corpus
from ._errors import CorpusError, IndexBusyError, IndexCorruptError, MikkeError, PostError, PostUnreadableError
from ._markdown import PARSER_VERSION
from ._models import Post
from ._parallel import PARALLEL_MIN_POSTS, Expand, ParallelWriter
from ._postings import write_missing
from ._schema import SCHEMA_VERSION, build_schema
from ._snippets import pack_offsets
from ._store import (
    FOREIGN_WRITER,
    INDEX_NAME,
    META_FILE,
    STAGING_DIR,
    clean_leftovers,
    index_exists,
    locked,
    open_index,
    publish_staged,
    read_meta,
    record,
    recorded,
    repair,
)

#: Seconds a second job waits for the lock before giving up.
DEFAULT_WAIT = 60.0
#: Memory whoosh may use for postings before it spills to temporary files.
WRITER_LIMIT_MB = 128
#: A run that would delete more than this share of the posts in the index refuses (``--allow-mass-delete``).
MASS_DELETE_SHARE = 0.5

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
    repaired: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape (``rebuilt`` and ``repaired`` are left out: they go to the message).

        >>> list(IndexReport().to_dict())
        ['added', 'updated', 'deleted', 'unchanged', 'skipped', 'passages', 'seconds']
        """
        data = asdict(self)
        data.pop("rebuilt")
        data.pop("repaired")
        return data


def index_settings(config: Config) -> dict[str, Any]:
    """What a stored index depends on: when any of it changes, the index is rebuilt.

    The URL and heading id settings come from ``mikke.toml`` or the blog's ``_config.yml``
    (``Config.with_site``). Which files are posts (``include``/``exclude``) is not here:
    an ordinary run adds and deletes posts when those change.

    >>> index_settings(Config())["schema"] == SCHEMA_VERSION
    True
    """
    return {
        "schema": SCHEMA_VERSION,
        "parser": PARSER_VERSION,
        "sudachipy": version("sudachipy"),
        "sudachidict-core": version("sudachidict-core"),
        "anchor_scheme": config.anchor_scheme,
        "auto_ids": config.auto_ids,
        "auto_id_prefix": config.auto_id_prefix,
        "auto_id_stripping": config.auto_id_stripping,
        "transliterated_header_ids": config.transliterated_header_ids,
        "permalink": config.permalink,
        "base_url": config.base_url,
        "defaults": json.loads(json.dumps(config.front_matter_defaults, ensure_ascii=False, default=str)),
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
    heading, heading_offsets = None, None
    for section, passage in post.passages():
        if section.heading != heading:
            heading = section.heading
            heading_offsets = pack_offsets(heading) if heading else None
            readings |= reading_pairs(heading)
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
            "section": {
                "heading": section.heading,
                "anchor": section.anchor,
                "fragment": passage.fragment,
                # The heading's term offsets: its highlights without Sudachi (packed once a section).
                "offsets": heading_offsets,
            },
            "text": passage.text,
            "offsets": pack_offsets(passage.text),  # Sudachi runs here; the body then finds it cached
            "kind": passage.kind,
            "shown": fold("\n".join((post.title, section.heading, passage.text))).encode(),
        }
        if date:
            document["date"] = date
        yield document
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
    """``mikke.json``, or {} when it is missing or damaged (the index is then rebuilt)."""
    try:
        return read_meta(path)
    except IndexCorruptError:
        return {}


class _Writer:
    """Opens the whoosh writer on the first change, so a run with nothing to do writes nothing.

    A first build goes to the staging directory; :meth:`commit` moves it into place,
    segment files first and the table of contents last.
    """

    def __init__(self, path: Path, full: bool, expand: Expand | None = None) -> None:
        self.path, self.full, self.expand = path, full, expand  # expand: a parallel build's workers' job
        self._writer: writing.IndexWriter | None = None
        self._staging: Path | None = None

    @property
    def fresh(self) -> bool:
        """Whether this is a build from scratch (the index gets a new identity)."""
        return self._staging is not None

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
                raise IndexBusyError(FOREIGN_WRITER.format(path=self.path)) from None
            if self.full:
                # Every old segment is dropped (CLEAR), so the new generation may use a new schema.
                self._writer.schema = build_schema()
        return self._writer

    def commit(self, seal: Callable[[Path, bool], None]) -> bool:
        """Commit if anything was written, then ``seal(folder, fresh)`` the generation where it was
        written (a first build: in the staging directory, so it arrives whole); True when a new
        generation was published."""
        if self._writer is None:
            return False
        self._writer.commit(mergetype=writing.CLEAR if self.full else writing.MERGE_SMALL)
        seal(self._staging or self.path, self.fresh)
        if self._staging is not None:
            publish_staged(self._staging, self.path)
        return True

    def cancel(self) -> None:
        """Drop what was written and release whoosh's lock, even when closing fails too (a full disk)."""
        writer = self._writer
        if writer is None or writer.is_closed:
            return
        try:
            writer.cancel()
        except Exception:  # the first failure is the one to report
            if writer.writelock:
                writer.writelock.release()
            writer.is_closed = True


def update_index(
    config: Config,
    *,
    full: bool = False,
    wait: float = DEFAULT_WAIT,
    progress: Progress | None = None,
    allow_mass_delete: bool = False,
) -> IndexReport:
    """Bring the index at ``config.index`` up to date with the corpus.

    Malformed posts, files whose names are not UTF-8 and directories that cannot be
    read are reported in ``skipped``; the posts indexed under such a directory stay.
    Raises ``CorpusError`` for a missing corpus, or when the run would delete more than
    half of the posts in the index (``MASS_DELETE_SHARE``) or, in a rebuild, posts under a
    directory that cannot be read, unless ``allow_mass_delete``; ``IndexBusyError`` when
    another job holds the lock for longer than ``wait`` seconds; and ``MikkeError`` when
    the index directory cannot be written (a full disk): the previous index stays usable
    and the failed job's files are deleted.

    >>> import tempfile
    >>> config = Config(index=Path(tempfile.mkdtemp()))
    >>> update_index(config).added, update_index(config).unchanged
    (2, 2)
    """
    started = time.perf_counter()
    if not config.corpus.is_dir():
        raise CorpusError(f"corpus directory not found: {config.corpus} (set --corpus or MIKKE_CORPUS)")
    config = config.with_site()
    try:
        config.index.mkdir(parents=True, exist_ok=True)
        with locked(config.index, wait):
            try:
                report = _update(config, full, progress, allow_mass_delete)
            except OSError:
                with contextlib.suppress(OSError, MikkeError):
                    clean_leftovers(config.index)  # a full disk: free what the failed job wrote
                raise
    except OSError as error:  # unwritable directory, disk full...: the old index is still in place
        raise MikkeError(f"cannot update the index in {config.index}: {error.strerror or error}") from error
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _update(config: Config, full: bool, progress: Progress | None, allow_mass_delete: bool) -> IndexReport:
    """The job itself, with the lock held."""
    clean_leftovers(config.index)
    report = IndexReport()
    settings = index_settings(config)
    if index_exists(config.index) or (config.index / META_FILE).exists():
        report.rebuilt, report.repaired = repair(config.index, full)
    exists = index_exists(config.index)
    if not exists:
        full = True
    elif not full:
        report.rebuilt = report.rebuilt or rebuild_reason(_read_meta(config.index), settings)
        full = bool(report.rebuilt)
    scan = scan_corpus(config)
    paths = scan.paths
    stored = {} if full else stored_hashes(config.index)
    kept = {relpath for relpath in stored if scan.unread(relpath)}  # not read, so not deleted
    if not allow_mass_delete:
        _check_deletions(config, scan, _indexed(config.index) if full and exists else stored, full)
    parallel = full and len(paths) >= PARALLEL_MIN_POSTS
    writer = _Writer(config.index, full, expand=functools.partial(post_documents_of, config) if parallel else None)
    try:
        if full:
            writer.get()  # a rebuild always writes, even an empty index
        if parallel:
            _hand_out(writer.get(), paths, report, progress)
        else:
            changes = {relpath: digest for relpath, digest in stored.items() if relpath not in kept}
            _apply_changes(writer, config, paths, changes, report, progress, kept)
        seal = functools.partial(_seal, settings=settings)
        published = writer.commit(seal)
    except BaseException:
        writer.cancel()
        raise
    if not published:
        seal(config.index, False)
    if parallel:
        skipped = sorted(writer.get().skipped)
        report.skipped = [{"path": relpath, "reason": reason} for relpath, reason in skipped]
        report.added -= len(skipped)
    with open_index(config.index).searcher() as searcher:
        report.passages = searcher.doc_count() - (len(paths) - len(report.skipped) + len(kept))
    report.skipped += _not_read(config, scan, kept)
    return report


def _not_read(config: Config, scan: CorpusScan, kept: set[str]) -> list[dict[str, str]]:
    """The report's entries for the names that are not UTF-8 and the directories that could not be
    read (saying how many of the ``kept`` posts are under each)."""
    entries = [{"path": name, "reason": "file name is not valid UTF-8"} for name in scan.bad_names]
    for directory, reason in sorted(scan.unreadable.items()):
        held = sum(not directory or relpath.startswith(directory + "/") for relpath in kept)
        if held:
            reason += f" ({held} indexed posts under it kept)"
        entries.append({"path": (directory or str(config.corpus)) + "/", "reason": f"cannot read directory: {reason}"})
    return entries


def _indexed(path: Path) -> dict[str, str]:
    """``stored_hashes``, or nothing when the index cannot be read (a rebuild then has nothing to compare)."""
    try:
        return stored_hashes(path)
    except Exception:  # a corrupt index is rebuilt, whatever its damage
        return {}


def _check_deletions(config: Config, scan: CorpusScan, indexed: dict[str, str], full: bool) -> None:
    """Refuse (``CorpusError``) a run that would delete more than ``MASS_DELETE_SHARE`` of the
    ``indexed`` posts, or, in a rebuild (``full``), posts under a directory that cannot be read."""
    found = set(scan.paths)
    deleting = [relpath for relpath in indexed if relpath not in found and (full or not scan.unread(relpath))]
    unread = [relpath for relpath in deleting if scan.unread(relpath)]
    if not (unread or len(deleting) > MASS_DELETE_SHARE * len(indexed)):
        return
    if "" in scan.unreadable:
        why = f"the corpus directory {config.corpus} cannot be read ({scan.unreadable['']})"
    elif unread:
        names = ", ".join(f"{d}/ ({reason})" for d, reason in sorted(scan.unreadable.items()))
        why = f"a rebuild cannot keep the posts under directories that cannot be read: {names}"
    elif not scan.paths:
        why = f"the corpus directory {config.corpus} has no posts (empty, or a mount point not mounted?)"
    else:
        why = f"they are no longer in {config.corpus} ({len(scan.paths)} posts found there)"
    raise CorpusError(
        f"refusing to delete {len(deleting)} of the {len(indexed)} posts in the index: {why}; "
        "check the corpus, or pass --allow-mass-delete to delete them"
    )


def _seal(path: Path, fresh: bool, settings: dict[str, Any]) -> None:
    """Complete the newest generation: a postings copy for each segment without one, then its record
    in ``mikke.json`` (sizes and checksums; a new identity when ``fresh``). Writes nothing when
    both are already there."""
    with open_index(path).searcher() as searcher:
        # whoosh's own writer (updates, merges) writes no postings file, nor did older builds
        written = write_missing(path, [leaf for leaf, _ in searcher.reader().leaf_readers()])
    meta = _read_meta(path)
    if written or fresh or {key: meta.get(key) for key in settings} != settings or not recorded(path):
        record(path, settings, new_identity=fresh)


def _apply_changes(
    writer: _Writer,
    config: Config,
    paths: list[str],
    stored: dict[str, str],
    report: IndexReport,
    progress: Progress | None,
    kept: set[str],
) -> None:
    """Add, update and delete posts by their content hash; an indexed post whose file cannot
    be read now is kept (added to ``kept``), not deleted."""
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
            reason = str(error)
            if previous is not None and isinstance(error, PostUnreadableError):
                kept.add(relpath)
                reason += " (its indexed version kept)"
            elif previous is not None:
                writer.get().delete_by_term("path", relpath)
                report.deleted += 1
            report.skipped.append({"path": relpath, "reason": reason})
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
