"""Build and update the index: posts -> passages -> whoosh documents.

Each post is stored as one marker document (its path and content hash, so the
next run knows what changed) plus one document per passage. A run re-analyses
only added and changed posts, deletes removed ones, and commits once: whoosh
writes new segment files and then renames its table of contents into place, so
searches see either the old index or the new one. One job at a time holds
``.mikke.lock`` in the index directory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import filelock
from whoosh import index as whoosh_index
from whoosh import writing
from whoosh.index import Index

from ._config import Config
from ._corpus import iter_post_paths, parse_post, read_text
from ._errors import IndexBusyError, IndexMissingError, PostError
from ._models import Post
from ._schema import SCHEMA_VERSION, build_schema

INDEX_NAME = "MAIN"
LOCK_FILE = ".mikke.lock"
META_FILE = "mikke.json"
#: Seconds a second job waits for the lock before giving up.
DEFAULT_WAIT = 60.0

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
        """The ``--json`` shape (``rebuilt`` is left out: it goes to the message)."""
        data = asdict(self)
        data.pop("rebuilt")
        return data


def fingerprint(config: Config) -> str:
    """What the stored index depends on: schema version and the settings used at index time."""
    settings = [
        SCHEMA_VERSION,
        config.anchor_scheme,
        config.permalink,
        config.base_url,
        list(config.include),
        list(config.exclude),
    ]
    return hashlib.sha256(json.dumps(settings).encode()).hexdigest()[:16]


def index_exists(path: Path) -> bool:
    """True when ``path`` holds a mikke index."""
    return path.is_dir() and whoosh_index.exists_in(str(path), indexname=INDEX_NAME)


def open_index(path: Path) -> Index:
    """Open the index for reading; raises ``IndexMissingError`` when there is none."""
    if not index_exists(path):
        raise IndexMissingError(f"no index at {path}: run `mikke index` first")
    return whoosh_index.open_dir(str(path), indexname=INDEX_NAME)


def post_documents(post: Post) -> Iterator[dict[str, Any]]:
    """The whoosh documents of one post: a marker, then one per passage."""
    date = dt.datetime.combine(post.date, dt.time()) if post.date else None
    yield {"id": post.path, "path": post.path, "content_hash": post.content_hash}
    shown = {
        "title": post.title,
        "url": post.url,
        "date": post.date.isoformat() if post.date else "",
        "tags": list(post.tags),
        "categories": list(post.categories),
    }
    labels = " ".join(post.tags + post.categories)
    for number, (section, passage) in enumerate(post.passages()):
        document: dict[str, Any] = {
            "id": f"{post.path}#{number}",
            "path": post.path,
            "digest": passage.digest,
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
            "kind": passage.kind,
        }
        if date:
            document["date"] = date
        yield document


def _stored_hashes(ix: Index) -> dict[str, str]:
    """path -> content hash of every post in the index (from the marker documents)."""
    with ix.searcher() as searcher:
        return {
            fields["path"]: fields["content_hash"]
            for fields in searcher.all_stored_fields()
            if "content_hash" in fields
        }


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((path / META_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def _write_meta(path: Path, config: Config) -> None:
    tmp = path / (META_FILE + ".tmp")
    tmp.write_text(json.dumps({"fingerprint": fingerprint(config), "schema": SCHEMA_VERSION}), encoding="utf-8")
    tmp.replace(path / META_FILE)


def update_index(
    config: Config, *, full: bool = False, wait: float = DEFAULT_WAIT, progress: Progress | None = None
) -> IndexReport:
    """Bring the index at ``config.index`` up to date with the corpus.

    Malformed posts are reported in ``skipped`` and left out; the rest is indexed.
    Raises ``CorpusError`` for a missing corpus and ``IndexBusyError`` when another
    job holds the lock for longer than ``wait`` seconds.
    """
    started = time.perf_counter()
    paths = list(iter_post_paths(config))
    config.index.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(config.index / LOCK_FILE))
    try:
        lock.acquire(timeout=wait)
    except filelock.Timeout:
        raise IndexBusyError(
            f"another `mikke index` job is running on {config.index} (waited {wait:g}s; see --wait)"
        ) from None
    try:
        report = IndexReport()
        if not index_exists(config.index):
            ix = whoosh_index.create_in(str(config.index), build_schema(), indexname=INDEX_NAME)
        else:
            ix = whoosh_index.open_dir(str(config.index), indexname=INDEX_NAME)
            if not full and _read_meta(config.index).get("fingerprint") != fingerprint(config):
                full, report.rebuilt = True, "the index was built with another version or configuration"
        stored = {} if full else _stored_hashes(ix)
        writer = ix.writer(limitmb=128)
        try:
            _apply_changes(writer, config, paths, stored, report, progress)
        except BaseException:
            writer.cancel()
            raise
        writer.commit(mergetype=writing.CLEAR if full else writing.MERGE_SMALL)
        _write_meta(config.index, config)
        with ix.searcher() as searcher:
            report.passages = searcher.doc_count() - (len(paths) - len(report.skipped))
        report.seconds = round(time.perf_counter() - started, 3)
        return report
    finally:
        lock.release()


def _apply_changes(
    writer: writing.IndexWriter,
    config: Config,
    paths: list[str],
    stored: dict[str, str],
    report: IndexReport,
    progress: Progress | None,
) -> None:
    for removed in set(stored) - set(paths):
        writer.delete_by_term("path", removed)
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
            post = parse_post(relpath, text, content_hash, config)
        except PostError as error:
            report.skipped.append({"path": relpath, "reason": str(error)})
            if previous is not None:
                writer.delete_by_term("path", relpath)
                report.deleted += 1
            continue
        if previous is None:
            report.added += 1
        else:
            writer.delete_by_term("path", relpath)
            report.updated += 1
        for document in post_documents(post):
            writer.add_document(**document)
