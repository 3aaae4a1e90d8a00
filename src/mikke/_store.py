"""The index on disk: its files, how a generation is opened and verified, recorded and repaired.

One directory holds:

* whoosh's table of contents, ``_MAIN_<generation>.toc``, naming the segments of the
  newest generation, and each segment's file, ``MAIN_<segment id>.seg``;
* each segment's postings copy, ``MAIN_<segment id>.postings`` (``_postings``);
* ``mikke.json``: the settings the index was built with, its identity (a random id made
  by each build from scratch), the generation it describes, the size and CRC-32 of each
  file of that generation, and its own CRC-32 (``checksum``).

Every file is verified against ``mikke.json`` when a generation is opened
(:func:`open_generation`: sizes, then checksums, once per generation), so a damaged,
truncated, missing or foreign file is reported (``IndexCorruptError``, naming it) and
never searched. Between whoosh's commit and the job recording the new generation, the
files ``mikke.json`` does not list yet are taken as whoosh wrote them. A commit in another
process can replace the generation while it is opened (whoosh renames the new table of
contents into place, then deletes the old one and the segment files only it used): when
anything is wrong with the generation opened and a newer one is listed by then, or
``mikke.json`` records a newer one, the opening starts again with the newest (a few
times); a file missing or damaged in the newest generation is damage.
Files are read, never mapped into memory: a file truncated under a running server
gives an error, not SIGBUS. :func:`stamp` tells cheaply whether any of them changed
since (a truncation, a new generation, an index deleted and built again), and
:func:`check` (``mikke check``) also decodes every segment.

>>> import tempfile
>>> from mikke import Config, update_index
>>> config = Config(index=Path(tempfile.mkdtemp()))
>>> _ = update_index(config)
>>> check(config.index).startswith("clean:")
True
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import time
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import filelock
import numpy as np
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage, RamStorage
from whoosh.index import TOC, Index

from ._errors import IndexBusyError, IndexCorruptError, IndexMissingError
from ._postings import SUFFIX as POSTINGS_SUFFIX
from ._postings import TEMPORARY_SUFFIX, SegmentPostings, postings_path, whoosh_postings
from ._whoosh_codec import open_searcher

INDEX_NAME = "MAIN"
LOCK_FILE = ".mikke.lock"
META_FILE = "mikke.json"
#: A first build is written here, inside the index directory, then moved into place.
STAGING_DIR = ".mikke-new"
#: How often opening the index is retried when a concurrent commit removed a file.
OPEN_ATTEMPTS = 20
#: Bytes read at a time for a checksum.
CHUNK = 1 << 20

_TOC = re.compile(rf"^_{INDEX_NAME}_(\d+)\.toc$")
_TEMP_TOC = re.compile(rf"^_{INDEX_NAME}_\d+\.toc\.")
_SEGMENT_FILE = re.compile(rf"^{INDEX_NAME}_[0-9a-z]+\.")

FOREIGN_WRITER = "another program is writing the whoosh index in {path}"

#: What reading a damaged file can raise, in whoosh or numpy.
DECODE_ERRORS = (OSError, EOFError, ValueError, IndexError, KeyError, TypeError, AttributeError, zlib.error)

#: A file's identity on disk: size, modification time and inode (None when it is gone).
FileStat = tuple[int, int, int] | None
#: What :func:`stamp` compares: the newest table of contents and the stats of the files.
Stamp = tuple[str, tuple[FileStat, ...]]


def toc_name(generation: int) -> str:
    """The table of contents of a generation.

    >>> toc_name(3)
    '_MAIN_3.toc'
    """
    return f"_{INDEX_NAME}_{generation}.toc"


def latest_generation(names: list[str]) -> int:
    """The newest generation whose table of contents is among ``names`` (-1 for none).

    >>> latest_generation(["_MAIN_2.toc", "_MAIN_10.toc", "MAIN_x.seg"])
    10
    """
    return max((int(match.group(1)) for name in names if (match := _TOC.match(name))), default=-1)


def index_exists(path: Path) -> bool:
    """True when ``path`` holds a committed mikke index (it lists the directory, opens nothing)."""
    try:
        return any(_TOC.match(name) for name in os.listdir(path))
    except OSError:
        return False


def open_index(path: Path) -> Index:
    """Open the index for writing or for reading whoosh only; raises ``IndexMissingError`` when
    there is none, ``IndexCorruptError`` when its table of contents does not read.

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
        except Exception as error:  # a damaged table of contents can raise anything pickle can
            raise IndexCorruptError(path / toc_name(latest_generation(os.listdir(path))), _garbled(error)) from None


def read_toc(path: Path, generation: int | None = None) -> TOC:
    """The table of contents of ``generation`` (the newest when None), read from a copy in memory:
    whoosh leaves the file open when it does not decode. Raises ``FileNotFoundError`` when it is
    gone, anything pickle can when it is damaged."""
    if generation is None:
        generation = latest_generation(os.listdir(path))
    memory = RamStorage()
    memory.files[toc_name(generation)] = (path / toc_name(generation)).read_bytes()
    return TOC.read(memory, INDEX_NAME, generation)


def file_checksum(path: Path) -> tuple[int, int]:
    """The size and CRC-32 of the file at ``path``, read in chunks.

    >>> import tempfile
    >>> file = Path(tempfile.mkdtemp()) / "f"
    >>> _ = file.write_bytes(b"mikke")
    >>> file_checksum(file)
    (5, 519962386)
    """
    crc, size = 0, 0
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return size, crc


def _meta_checksum(meta: dict[str, Any]) -> int:
    body = {key: value for key, value in meta.items() if key != "checksum"}
    return zlib.crc32(json.dumps(body, sort_keys=True, ensure_ascii=False).encode())


def read_meta(path: Path) -> dict[str, Any]:
    """``mikke.json`` of the index at ``path`` ({} when there is none); raises ``IndexCorruptError``
    when it does not parse or fails its checksum."""
    file = path / META_FILE
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError:
        raise IndexCorruptError(file, "is not UTF-8") from None
    try:
        meta = json.loads(text)
    except ValueError:
        raise IndexCorruptError(file, "is not valid JSON") from None
    if not isinstance(meta, dict):
        raise IndexCorruptError(file, "is not a JSON object")
    if "checksum" in meta and meta["checksum"] != _meta_checksum(meta):
        raise IndexCorruptError(file, "fails its checksum")
    return meta


def write_meta(path: Path, meta: dict[str, Any]) -> None:
    """Write ``mikke.json`` atomically, with its checksum."""
    meta = {key: value for key, value in meta.items() if key != "checksum"}
    meta["checksum"] = _meta_checksum(meta)
    tmp = path / (META_FILE + ".tmp")
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(path / META_FILE)


def generation_files(path: Path, toc: TOC) -> list[str]:
    """The files of a generation: its table of contents, then each segment's files present."""
    names = os.listdir(path)
    files = [toc_name(toc.generation)]
    for segment in toc.segments:
        prefix = segment.segment_id() + "."
        files += sorted(name for name in names if name.startswith(prefix) and not name.endswith(TEMPORARY_SUFFIX))
    return files


def record(path: Path, settings: dict[str, Any], *, new_identity: bool = False) -> None:
    """Record the newest generation in ``mikke.json``: the settings, the index's identity (kept,
    or a new one for a build from scratch), the generation and each of its files' size and CRC-32."""
    toc = read_toc(path)
    try:
        previous = read_meta(path)
    except IndexCorruptError:
        previous = {}
    identity = previous.get("index_id") if not new_identity else None
    meta = {
        **settings,
        "index_id": identity or uuid.uuid4().hex,
        "generation": toc.generation,
        "files": {name: list(file_checksum(path / name)) for name in generation_files(path, toc)},
    }
    write_meta(path, meta)


def recorded(path: Path) -> bool:
    """Whether ``mikke.json`` records the newest generation's files as they are now (sizes only)."""
    try:
        meta = read_meta(path)
        toc = read_toc(path)
        files = generation_files(path, toc)
    except Exception:  # damaged: a damaged table of contents can raise anything pickle can
        return False
    listed = meta.get("files", {})
    return (
        meta.get("generation") == toc.generation
        and set(listed) == set(files)
        and all((path / name).stat().st_size == listed[name][0] for name in files)
    )


@dataclass
class Generation:
    """One verified generation of the index, open for reading."""

    number: int
    identity: str
    searcher: Any
    files: list[str]
    stamp: Stamp


def _stat(file: str | Path) -> FileStat:
    try:
        stat = os.stat(file)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def stamp(path: Path, files: list[str] | None = None) -> Stamp:
    """What changes when the index at ``path`` does: the newest table of contents, and the stats
    of ``mikke.json`` and of ``files`` (all the index's files when None). Raises
    ``IndexMissingError`` when there is no index, ``IndexCorruptError`` when its table of
    contents is gone but ``mikke.json`` is there.

    Given a generation's ``files`` (its table of contents first), the folder is not listed (every
    search calls this): the stats also take the next generation's table of contents, which a commit
    writes (whoosh numbers each generation one more than the newest it found), and raise nothing.
    """
    if files is not None:
        return files[0], tuple(map(_stat, _watched(os.fspath(path), tuple(files))))
    try:
        names = os.listdir(path)
    except OSError:
        raise IndexMissingError(f"no index at {path}: run `mikke index` first") from None
    generation = latest_generation(names)
    if generation < 0:
        if META_FILE in names and STAGING_DIR not in names:  # recorded, not being built: the table of contents is gone
            recorded_generation = read_meta(path).get("generation")
            raise IndexCorruptError(path / toc_name(recorded_generation or 1), "is missing")
        raise IndexMissingError(f"no index at {path}: run `mikke index` first")
    files = sorted(name for name in names if _TOC.match(name) or _SEGMENT_FILE.match(name))
    return toc_name(generation), tuple(_stat(path / name) for name in (META_FILE, *files))


@functools.lru_cache(maxsize=16)
def _watched(folder: str, files: tuple[str, ...]) -> tuple[str, ...]:
    """The paths :func:`stamp` looks at for a generation's ``files`` (its table of contents first):
    ``mikke.json``, the files, and the next generation's table of contents (made once a generation).

    >>> _watched("idx", ("_MAIN_3.toc", "MAIN_a.seg"))
    ('idx/mikke.json', 'idx/_MAIN_3.toc', 'idx/MAIN_a.seg', 'idx/_MAIN_4.toc')
    """
    following = toc_name(int(files[0].removeprefix(f"_{INDEX_NAME}_").removesuffix(".toc")) + 1)
    return tuple(f"{folder}/{name}" for name in (META_FILE, *files, following))


def open_generation(path: Path, *, verify: bool = True) -> Generation:
    """Open the newest generation for reading, each of its files checked against ``mikke.json``:
    present, of the recorded size and (with ``verify``) of the recorded CRC-32.

    Raises ``IndexMissingError`` when there is no index and ``IndexCorruptError`` naming
    the first file that is damaged, missing or not recorded. A commit in another process
    can replace the generation while it is opened (a newer table of contents, then the old
    one's files deleted): the opening then starts again with the newer one.
    """
    for attempt in range(OPEN_ATTEMPTS):
        try:
            return _open_generation(path, verify)
        except _Replaced as replaced:  # a commit landed while the generation was opened
            if attempt == OPEN_ATTEMPTS - 1:
                raise replaced.error from None
            time.sleep(0.01)
        except FileNotFoundError:  # a commit in another process removed the generation just read
            if attempt == OPEN_ATTEMPTS - 1:
                raise IndexMissingError(f"no index at {path}: run `mikke index` first") from None
            time.sleep(0.01)
    raise AssertionError("unreachable")


class _Replaced(FileNotFoundError):
    """What was wrong with the generation being opened, when a newer one is there: a commit in
    another process (or, if it lasts, the damage ``error``). Either the directory lists a newer
    table of contents than it did, or ``mikke.json`` records a newer generation than it lists."""

    def __init__(self, error: IndexCorruptError) -> None:
        super().__init__(str(error))
        self.error = error


def _newer_listed(path: Path, number: int) -> bool:
    """Whether the directory now lists a newer table of contents than generation ``number``'s."""
    try:
        return latest_generation(os.listdir(path)) > number
    except OSError:
        return False


def _open_generation(path: Path, verify: bool) -> Generation:
    number, meta, toc, files, seen, problems = _check_files(path, verify)
    if problems:
        raise problems[0]
    storage = FileStorage(str(path), supports_mmap=False)
    try:
        searcher = open_searcher(storage, toc)  # the segments verified, not those of a newer table of contents
    except FileNotFoundError:
        raise
    except Exception as error:
        damaged = IndexCorruptError(path / (files[1] if len(files) > 1 else files[0]), _garbled(error))
        raise (_Replaced(damaged) if _newer_listed(path, number) else damaged) from None
    return Generation(number, str(meta.get("index_id", "")), searcher, files, seen)


def _check_files(
    path: Path, verify: bool
) -> tuple[int, dict[str, Any], TOC, list[str], Stamp, list[IndexCorruptError]]:
    """The newest generation's number, ``mikke.json``, files and stamp, and what is wrong with each
    of its segments' files; raises ``IndexCorruptError`` for ``mikke.json`` or the table of contents,
    and :class:`_Replaced` when anything is wrong but a newer generation is there."""
    number = latest_generation(os.listdir(path))
    try:
        found = _check_generation(path, number, verify)
    except IndexCorruptError as error:
        if _newer_listed(path, number):
            raise _Replaced(error) from None
        raise
    problems = found[-1]
    if problems and _newer_listed(path, number):
        raise _Replaced(problems[0])
    return found


def _check_generation(
    path: Path, number: int, verify: bool
) -> tuple[int, dict[str, Any], TOC, list[str], Stamp, list[IndexCorruptError]]:
    """:func:`_check_files` for generation ``number``."""
    meta = read_meta(path)
    if not meta:
        raise IndexCorruptError(path / META_FILE, "is missing")
    listed: dict[str, list[int]] = meta.get("files", {})
    if "checksum" not in meta or "files" not in meta:
        raise IndexCorruptError(path / META_FILE, "records no checksums (an older mikke wrote it)")
    toc_file = path / toc_name(number)
    if toc_name(number) in listed:
        _verify(toc_file, listed[toc_name(number)], verify)
    elif meta.get("generation") == number:
        raise IndexCorruptError(toc_file, f"is not recorded in {META_FILE}")
    if isinstance(meta.get("generation"), int) and meta["generation"] > number:
        raise _Replaced(IndexCorruptError(path / toc_name(meta["generation"]), "is missing"))
    try:
        toc = read_toc(path, number)
    except FileNotFoundError:
        raise
    except Exception as error:  # a damaged table of contents can raise anything pickle can
        raise IndexCorruptError(toc_file, _garbled(error)) from None
    files = generation_files(path, toc)
    seen = stamp(path, files)  # before the files are read: a change made while they are is seen next time
    current = meta.get("generation") == number
    problems = []
    for segment in toc.segments:
        main = segment.make_filename(".seg") if segment.is_compound() else None
        if main and main not in files:
            problems.append(IndexCorruptError(path / main, "is missing"))
    for name in sorted(set(listed) - set(files)) if current else []:
        problems.append(IndexCorruptError(path / name, "is missing"))
    for name in files[1:]:
        try:
            if name in listed:
                _verify(path / name, listed[name], verify)
            elif current:
                raise IndexCorruptError(path / name, f"is not recorded in {META_FILE}")
        except IndexCorruptError as error:
            problems.append(error)
    return number, meta, toc, files, seen, problems


def _verify(file: Path, expected: list[int], checksum: bool) -> None:
    size, crc = expected
    stat = _stat(file)
    if stat is None:
        raise IndexCorruptError(file, "is missing")
    if stat[0] != size:
        raise IndexCorruptError(file, f"has {stat[0]:,} bytes instead of {size:,} (truncated or replaced)")
    if checksum and file_checksum(file) != (size, crc):
        raise IndexCorruptError(file, "fails its checksum (damaged)")


def _garbled(error: BaseException) -> str:
    return f"does not decode ({type(error).__name__})"


def damage(path: Path) -> list[IndexCorruptError]:
    """What is wrong with the index at ``path``, checksums included: one error for ``mikke.json``
    or the table of contents, else one per damaged, missing or unrecorded segment file ([] when
    nothing is, or there is no index)."""
    try:
        return _check_files(path, verify=True)[-1]
    except IndexCorruptError as error:
        return [error]
    except _Replaced as replaced:
        return [replaced.error]
    except (IndexMissingError, FileNotFoundError):
        return []


def check(path: Path) -> str:
    """``mikke check``: verify every checksum and decode every segment of the index at ``path``
    (its stored fields, columns, terms and postings, and the postings copies against whoosh's).

    Returns a one-line verdict for a clean index; raises ``IndexCorruptError`` naming the first
    bad file, or ``IndexMissingError``.
    """
    generation = open_generation(path)
    documents = segments = 0
    try:
        for leaf, _ in generation.searcher.reader().leaf_readers():
            if not leaf.doc_count_all():
                continue
            segment = leaf.segment().segment_id()
            seg = path / f"{segment}.seg"
            try:
                _decode(leaf)
            except Exception as error:
                raise IndexCorruptError(seg, _garbled(error)) from None
            copy = postings_path(path, segment)
            if copy.exists() and not _same_postings(copy, leaf):
                raise IndexCorruptError(copy, "differs from its segment's postings")
            documents += leaf.doc_count_all()
            segments += 1
    finally:
        generation.searcher.close()
    size = sum((path / name).stat().st_size for name in generation.files) + (path / META_FILE).stat().st_size
    plural = "s" * (segments != 1)
    return (
        f"clean: {path}: index {generation.identity[:8]}, generation {generation.number}, {segments} segment{plural}, "
        f"{documents:,} documents; "
        f"{len(generation.files) + 1} files ({size / 1e6:.1f} MB) verified"
    )


def _decode(leaf: Any) -> None:
    for docnum in range(leaf.doc_count_all()):
        leaf.stored_fields(docnum)
    for field in leaf.schema.names():
        if leaf.has_column(field):
            list(leaf.column_reader(field, translate=False))
    for field in leaf.indexed_field_names():
        for term in leaf.lexicon(field):
            matcher = leaf.postings(field, term)
            while matcher.is_active():
                matcher.next()


def _same_postings(copy: Path, leaf: Any) -> bool:
    postings = SegmentPostings.open(copy)
    if postings is None:
        return False
    count = 0
    for field, term, ids, weights in whoosh_postings(leaf):
        found = postings.get(field, term.decode("utf-8"))
        if found is None or not np.array_equal(found[0], ids) or not np.array_equal(found[1], weights.astype("f4")):
            return False
        count += 1
    return count == postings.terms


def drop_segments(path: Path, segment_files: list[str]) -> None:
    """Publish a generation without the segments of ``segment_files`` (their posts are then missing
    from the index, and indexed again) and delete their files."""
    storage = FileStorage(str(path))
    toc = read_toc(path)
    dropped = {name.split(".")[0] for name in segment_files}
    kept = [segment for segment in toc.segments if segment.segment_id() not in dropped]
    TOC(toc.schema, kept, toc.generation + 1).write(storage, INDEX_NAME)
    whoosh_index.clean_files(storage, INDEX_NAME, toc.generation + 1, kept)
    for name in os.listdir(path):
        if name.split(".")[0] in dropped:
            (path / name).unlink(missing_ok=True)


def discard(path: Path) -> None:
    """Delete every file of the index at ``path`` (a damaged one rebuilt from scratch)."""
    for name in os.listdir(path):
        index_file = _TOC.match(name) or _TEMP_TOC.match(name) or _SEGMENT_FILE.match(name) or name == META_FILE
        if index_file and not name.endswith("WRITELOCK"):
            (path / name).unlink(missing_ok=True)


@contextmanager
def locked(path: Path, wait: float) -> Iterator[None]:
    """The job lock, ``.mikke.lock`` in the index directory; ``IndexBusyError`` after ``wait`` seconds."""
    lock = filelock.FileLock(str(path / LOCK_FILE))
    try:
        lock.acquire(timeout=wait)
    except filelock.Timeout:
        raise IndexBusyError(f"another `mikke index` job is running on {path} (waited {wait:g}s; see --wait)") from None
    try:
        yield
    finally:
        lock.release()


def publish_staged(staging: Path, path: Path) -> None:
    """Move a first build from the staging directory into place: its table of contents last."""
    names = sorted(os.listdir(staging), key=lambda name: bool(_TOC.match(name)))
    for name in names:
        if not name.endswith("WRITELOCK"):
            (staging / name).replace(path / name)
    shutil.rmtree(staging)


def repair(path: Path, full: bool) -> tuple[str, str]:
    """Verify every file of the index (:func:`damage`) and repair what is damaged; returns why the
    caller must rebuild ("" when it need not) and what was repaired. A postings copy is written
    again from its segment (deleted here, written by :func:`~mikke._postings.write_missing`), a
    segment is dropped and its posts indexed again, a damaged ``mikke.json`` means a full rebuild,
    and a damaged table of contents (or any damage before a ``--full`` run) a rebuild from scratch."""
    try:
        meta = read_meta(path)
    except IndexCorruptError:
        meta = {}
    if meta and "files" not in meta:  # recorded by an older mikke: nothing to verify against yet
        return "", ""
    problems = damage(path)
    if not problems:
        return "", ""
    names = [Path(problem.file).name for problem in problems]
    if full or names[0] == META_FILE or not names[0].startswith(f"{INDEX_NAME}_"):
        if names[0] != META_FILE or full:  # without mikke.json, a rebuild over the same table of contents
            discard(path)
        return "; ".join(f"{name} {problem.reason}" for name, problem in zip(names, problems, strict=True)), ""
    dropped = {name.split(".")[0] for name in names if not name.endswith(POSTINGS_SUFFIX)}
    said = []
    for problem, name in zip(problems, names, strict=True):
        if not name.endswith(POSTINGS_SUFFIX):
            said.append(f"{name} {problem.reason}: its posts are indexed again")
        elif name.split(".")[0] in dropped:
            said.append(f"{name} {problem.reason}: dropped with its segment")
        else:
            (path / name).unlink(missing_ok=True)
            said.append(f"{name} {problem.reason}: written again from its segment")
    if dropped:
        drop_segments(path, sorted(dropped))
    return "", "; ".join(said)


def clean_leftovers(path: Path) -> list[str]:
    """Delete what a killed job left behind; returns the names deleted.

    Call with the lock held: the staging directory, temporary files, and the
    tables of contents and segment files the current generation does not use
    (none of those when the table of contents does not read: the job repairs it).
    """
    storage = FileStorage(str(path))
    writelock = storage.lock(f"{INDEX_NAME}_WRITELOCK")  # whoosh's own lock, which a live writer holds
    if not writelock.acquire(blocking=False):
        raise IndexBusyError(FOREIGN_WRITER.format(path=path))
    try:
        before = set(os.listdir(path))
        exists = index_exists(path)
        if exists:
            try:
                toc = read_toc(path)
            except Exception:  # a damaged table of contents can raise anything pickle can
                toc = None
            if toc is not None:
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
