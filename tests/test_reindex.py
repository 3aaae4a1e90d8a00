"""The batch reindex job: incremental, atomic beside searches, crash-safe, one job at a time.

The fixture blog has three small Japanese posts. State OLD: 冷却 (mentions 液体冷却)
and gpu (mentions GPUサーバ). State NEW: 冷却 rewritten to speak of 空気冷却, gpu
deleted, energy (再生可能エネルギー) added. Queries tell the two states apart.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import filelock
import pytest
from click.testing import CliRunner
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC

import mikke._indexing as indexing
import mikke._store as store
from mikke import Config, IndexMissingError, Searcher, update_index
from mikke._indexing import stored_hashes
from mikke._store import INDEX_NAME, LOCK_FILE, META_FILE
from mikke.cli import EXIT_BUSY, EXIT_SKIPPED, main

COOLING = "_posts/2025-01-10-cooling.md"
GPU = "_posts/2025-01-11-gpu.md"
ENERGY = "_posts/2025-01-12-energy.md"


def post(title: str, tags: str, body: str) -> str:
    return f'---\ntitle: "{title}"\ntags: [{tags}]\ncategories: ["技術"]\n---\n\n{body}\n'


OLD = {
    COOLING: post(
        "データセンターの液体冷却",
        "冷却",
        "## 液体冷却の仕組み\n\n閉ループ直接液体冷却はサーバーの熱を水で運び出す。\n\n"
        "## 導入の効果\n\n電力使用効率が下がり、ラックの密度を上げられる。",
    ),
    GPU: post("GPUサーバの調達", "GPU", "## 調達の難しさ\n\nGPUサーバは納期が長く、早めの発注が欠かせない。"),
}
NEW = {
    COOLING: OLD[COOLING].replace("液体冷却", "空気冷却").replace("水で", "風で"),
    ENERGY: post(
        "再生可能エネルギーで動かす",
        "電力",
        "## 北欧の事例\n\n再生可能エネルギーが豊富な地域にデータセンターを置く例が増えている。",
    ),
}
QUERIES = ("液体冷却", "空気冷却", "GPU", "再生可能エネルギー", "データセンター")


def write_state(corpus: Path, state: dict[str, str]) -> None:
    """Make the corpus hold exactly ``state`` (writing only what differs)."""
    for existing in corpus.glob("_posts/*.md"):
        if existing.relative_to(corpus).as_posix() not in state:
            existing.unlink()
    for name, text in state.items():
        path = corpus / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def found(searcher: Searcher) -> list[list[list[str]]]:
    """What each query finds, (path, snippet) pairs: what a reader sees of the index."""
    return [sorted([h.path, h.snippet.text] for h in searcher.search(q, limit=50).hits) for q in QUERIES]


def signature(config: Config) -> list[list[list[str]]]:
    """What a fresh reader finds."""
    searcher = Searcher(config)
    try:
        return found(searcher)
    finally:
        searcher.close()


def generation(index: Path) -> int:
    return TOC._latest_generation(FileStorage(str(index)), INDEX_NAME)


def assert_clean(index: Path) -> None:
    """Only the current generation's files (each segment's postings copy too) and the job's own files are left."""
    toc = TOC.read(FileStorage(str(index)), INDEX_NAME)
    segments = {f"{segment.segment_id()}{suffix}" for segment in toc.segments for suffix in (".seg", ".postings")}
    expected = {f"_{INDEX_NAME}_{toc.generation}.toc", META_FILE} | segments
    optional = {LOCK_FILE, f"{INDEX_NAME}_WRITELOCK"}
    assert expected <= set(os.listdir(index)) <= expected | optional


@pytest.fixture
def config(tmp_path: Path) -> Config:
    corpus = tmp_path / "corpus"
    write_state(corpus, OLD)
    return Config(corpus=corpus, index=tmp_path / "index")


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What the searches return in each state, from indexes built from scratch."""
    found = {}
    for name, state in (("old", OLD), ("new", NEW)):
        root = tmp_path_factory.mktemp(name)
        write_state(root / "corpus", state)
        reference = Config(corpus=root / "corpus", index=root / "index")
        update_index(reference)
        found[name] = signature(reference)
    assert found["old"] != found["new"]
    return found


# Incremental runs


def test_incremental_add_change_delete(config: Config, expected: dict[str, Any], tmp_path: Path) -> None:
    first = update_index(config)
    assert (first.added, first.updated, first.deleted, first.unchanged) == (2, 0, 0, 0)
    assert signature(config) == expected["old"]

    write_state(config.corpus, {**OLD, ENERGY: NEW[ENERGY]})
    added = update_index(config)
    assert (added.added, added.updated, added.deleted, added.unchanged) == (1, 0, 0, 2)

    write_state(config.corpus, {**OLD, **NEW})
    changed = update_index(config)
    assert (changed.added, changed.updated, changed.deleted, changed.unchanged) == (0, 1, 0, 2)

    write_state(config.corpus, NEW)
    deleted = update_index(config)
    assert (deleted.added, deleted.updated, deleted.deleted, deleted.unchanged) == (0, 0, 1, 2)
    assert signature(config) == expected["new"]
    assert deleted.passages == update_index(config.with_options(index=tmp_path / "fresh")).passages
    assert stored_hashes(config.index).keys() == {COOLING, ENERGY}


def test_only_added_and_changed_posts_are_parsed(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    update_index(config)
    parsed: list[str] = []
    real_parse = indexing.parse_post
    monkeypatch.setattr(indexing, "parse_post", lambda path, *args: parsed.append(path) or real_parse(path, *args))
    write_state(config.corpus, NEW)
    update_index(config)
    assert parsed == [COOLING, ENERGY]


def test_nothing_changed_writes_nothing(config: Config) -> None:
    update_index(config)
    before = {name: (config.index / name).stat().st_mtime_ns for name in os.listdir(config.index)}
    os.utime(config.corpus / COOLING)  # a newer mtime alone is not a change
    report = update_index(config)
    assert (report.added, report.updated, report.deleted, report.unchanged) == (0, 0, 0, 2)
    after = {name: (config.index / name).stat().st_mtime_ns for name in os.listdir(config.index)}
    assert {k: v for k, v in after.items() if k != LOCK_FILE} == {k: v for k, v in before.items() if k != LOCK_FILE}


def test_change_is_found_by_content_hash_even_with_the_same_size_and_mtime(config: Config) -> None:
    update_index(config)
    path = config.corpus / COOLING
    stat = path.stat()
    path.write_text(OLD[COOLING].replace("液体冷却", "液浸冷却"), encoding="utf-8")  # same length
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    assert update_index(config).updated == 1
    searcher = Searcher(config)
    assert searcher.search("液浸冷却").hits[0].path == COOLING
    searcher.close()


def test_stored_hashes_are_the_file_hashes(config: Config) -> None:
    update_index(config)
    write_state(config.corpus, NEW)
    update_index(config)  # a second segment, with the old cooling marker deleted
    assert stored_hashes(config.index) == {
        name: hashlib.sha256((config.corpus / name).read_bytes()).hexdigest() for name in NEW
    }


def test_a_long_lived_searcher_sees_the_committed_update_and_only_it(config: Config, expected: dict[str, Any]) -> None:
    update_index(config)
    searcher = Searcher(config)  # as `mikke serve` keeps one
    try:
        assert found(searcher) == expected["old"]
        write_state(config.corpus, NEW)
        update_index(config)
        assert found(searcher) == expected["new"]  # no restart, and no passage of the old version
        write_state(config.corpus, OLD)
        update_index(config, full=True)
        assert found(searcher) == expected["old"]
    finally:
        searcher.close()


# Incompatible index


def test_changed_setting_rebuilds_and_says_why(config: Config) -> None:
    update_index(config)
    moved = config.with_options(base_url="https://blog.example.jp")
    report = update_index(moved)
    assert "base_url changed from '' to 'https://blog.example.jp'" in report.rebuilt
    assert report.added == 2
    searcher = Searcher(moved)
    assert searcher.search("液体冷却").hits[0].url.startswith("https://blog.example.jp/")
    searcher.close()
    assert update_index(moved).rebuilt == ""


def test_schema_version_change_rebuilds_with_the_new_schema(
    config: Config, monkeypatch: pytest.MonkeyPatch, expected: dict[str, Any]
) -> None:
    from whoosh.fields import STORED

    update_index(config)
    real_schema = indexing.build_schema

    def next_schema():  # type: ignore[no-untyped-def]
        schema = real_schema()
        schema.add("added_in_v99", STORED())
        return schema

    monkeypatch.setattr(indexing, "SCHEMA_VERSION", 99)
    monkeypatch.setattr(indexing, "build_schema", next_schema)
    report = update_index(config)
    assert report.rebuilt.startswith("schema changed from ")
    assert report.rebuilt.endswith(" to 99")
    assert "added_in_v99" in indexing.open_index(config.index).schema
    assert json.loads((config.index / META_FILE).read_text())["schema"] == 99
    assert signature(config) == expected["old"]


def test_missing_metadata_rebuilds(config: Config) -> None:
    update_index(config)
    (config.index / META_FILE).unlink()
    assert update_index(config).rebuilt == f"{META_FILE} is missing"


def test_cli_tells_why_it_rebuilds(config: Config) -> None:
    update_index(config)
    options = ["--corpus", str(config.corpus), "--index", str(config.index)]
    result = CliRunner().invoke(main, [*options, "index", "--json"], env={"MIKKE_BASE_URL": "https://x.example"})
    assert result.exit_code == 0, result.output
    assert "Full rebuild: base_url changed from '' to 'https://x.example'" in result.stderr
    assert json.loads(result.stdout)["added"] == 2


# Operator interface


def test_json_report_shape_and_skipped_exit_code(config: Config) -> None:
    (config.corpus / "_posts" / "2025-01-13-broken.md").write_bytes(b"---\ntitle: [oops\n---\n\xff\xfe\x00bin")
    options = ["--corpus", str(config.corpus), "--index", str(config.index)]
    result = CliRunner().invoke(main, [*options, "index", "--json"])
    assert result.exit_code == EXIT_SKIPPED
    report = json.loads(result.stdout)
    assert list(report) == ["added", "updated", "deleted", "unchanged", "skipped", "passages", "seconds"]
    assert report["added"] == 2
    assert report["skipped"] == [{"path": "_posts/2025-01-13-broken.md", "reason": report["skipped"][0]["reason"]}]
    assert "UTF-8" in report["skipped"][0]["reason"] or "binary" in report["skipped"][0]["reason"]
    assert isinstance(report["seconds"], float)


def test_quiet_prints_nothing(config: Config) -> None:
    options = ["--corpus", str(config.corpus), "--index", str(config.index)]
    result = CliRunner().invoke(main, [*options, "index", "--quiet"])
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""


def test_progress_bar_only_on_a_terminal(config: Config) -> None:
    import pty

    options = ["--corpus", str(config.corpus), "--index", str(config.index)]
    outputs = []
    for extra in ([], ["--quiet"]):
        master, slave = pty.openpty()
        child = subprocess.run(
            [sys.executable, "-c", "from mikke.cli import main; main()", *options, "index", "--full", *extra],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
            timeout=60,
        )
        os.close(slave)
        try:
            outputs.append(os.read(master, 65536).decode())
        except OSError:  # EIO: the terminal got no output at all
            outputs.append("")
        os.close(master)
        assert child.returncode == 0
    assert "Indexing" in outputs[0] and "100%" in outputs[0]
    assert outputs[1] == ""


def test_unwritable_index_directory_is_a_one_line_error(config: Config, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    options = ["--corpus", str(config.corpus), "--index", str(tmp_path / "file" / "index")]
    result = CliRunner().invoke(main, [*options, "index"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot update the index in ")
    assert "Traceback" not in result.output


# Two jobs at once


def test_second_job_exits_with_its_code_when_the_lock_is_held(config: Config) -> None:
    config.index.mkdir()
    options = ["--corpus", str(config.corpus), "--index", str(config.index)]
    with filelock.FileLock(str(config.index / LOCK_FILE)):
        result = CliRunner().invoke(main, [*options, "index", "--wait", "0.2"])
    assert result.exit_code == EXIT_BUSY
    assert "another `mikke index` job is running" in result.stderr
    assert "Traceback" not in result.output


def test_second_job_waits_for_the_first(config: Config) -> None:
    config.index.mkdir()
    lock = filelock.FileLock(str(config.index / LOCK_FILE), thread_local=False)  # released by the timer thread
    lock.acquire()
    threading.Timer(0.5, lock.release).start()
    options = ["--corpus", str(config.corpus), "--index", str(config.index)]
    result = CliRunner().invoke(main, [*options, "index", "--json", "--wait", "30"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["added"] == 2


def test_a_foreign_whoosh_writer_is_reported_not_raised(config: Config) -> None:
    update_index(config)
    write_state(config.corpus, NEW)
    writer = indexing.open_index(config.index).writer()
    try:
        options = ["--corpus", str(config.corpus), "--index", str(config.index)]
        result = CliRunner().invoke(main, [*options, "index"])
    finally:
        writer.cancel()
    assert result.exit_code == EXIT_BUSY
    assert "another program is writing" in result.stderr
    assert "Traceback" not in result.output


def test_two_jobs_started_together_both_succeed(config: Config, expected: dict[str, Any]) -> None:
    command = [sys.executable, "-c", "from mikke.cli import main; main()"]
    options = ["--corpus", str(config.corpus), "--index", str(config.index), "index", "--json"]
    jobs = [subprocess.Popen([*command, *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = [job.communicate(timeout=120) for job in jobs]
    assert [job.returncode for job in jobs] == [0, 0], results
    reports = [json.loads(out) for out, _ in results]
    assert sorted(r["added"] for r in reports) == [0, 2]  # one did the work, the other found nothing to do
    assert all(b"Traceback" not in err for _, err in results)
    assert signature(config) == expected["old"]


# Killed jobs

KILLER = r"""
import os, pathlib, signal, sys
from whoosh import writing
from whoosh.filedb import compound, filestore
from mikke import Config, update_index
import mikke._indexing as indexing
import mikke._store as store
import mikke._postings as postings

point, corpus, index, full = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "full"

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

def on_call(number, real):
    calls = []
    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == number:
            die()
        return real(*args, **kwargs)
    return wrapper

def then_die(real):
    def wrapper(*args, **kwargs):
        real(*args, **kwargs)
        die()
    return wrapper

if point.startswith("parallel-"):  # the same point, on worker processes (as a large full build runs)
    indexing.PARALLEL_MIN_POSTS = 1
    point = point.removeprefix("parallel-")
if point == "analysis":        # parsing/analysing the second changed post
    indexing.parse_post = on_call(2, indexing.parse_post)
elif point == "postings":      # segment files written, not yet assembled into one
    writing.SegmentWriter._flush_segment = then_die(writing.SegmentWriter._flush_segment)
elif point == "assemble":      # half-way through writing the compound segment file
    compound.copyfileobj = on_call(2, compound.copyfileobj)
elif point == "toc":           # new table of contents written, not yet renamed into place
    real_rename = filestore.FileStorage.rename_file
    def rename(self, old, new, safe=False):
        if new.endswith(".toc"):
            die()
        return real_rename(self, old, new, safe)
    filestore.FileStorage.rename_file = rename
elif point == "cleanup":       # committed; the old generation's files not yet deleted
    def commit_toc(self, segments):
        from whoosh.index import TOC
        TOC(self.schema, segments, self.generation).write(self.storage, self.indexname)
        die()
    writing.SegmentWriter._commit_toc = commit_toc
elif point == "meta":          # committed and cleaned; mikke.json not yet written
    indexing.record = die
elif point == "copy":          # committed; the new segment's postings copy half written
    def write(self, path):
        path.with_name(path.stem + postings.TEMPORARY_SUFFIX).write_bytes(postings.MAGIC)
        die()
    postings.PostingsWriter.write = write
elif point == "publish":       # first build: segments moved into place, table of contents not yet
    real_replace = pathlib.Path.replace
    def replace(self, target):
        if self.name.endswith(".toc"):
            die()
        return real_replace(self, target)
    pathlib.Path.replace = replace
update_index(Config(corpus=pathlib.Path(corpus), index=pathlib.Path(index)), full=full)
print("not killed")
"""


def kill_job_at(point: str, config: Config, full: bool = False) -> None:
    job = subprocess.run(
        [sys.executable, "-c", KILLER, point, str(config.corpus), str(config.index), "full" if full else "update"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert job.returncode == -signal.SIGKILL, job.stdout + job.stderr


@pytest.mark.parametrize(
    ("point", "full", "after_kill"),
    [
        ("analysis", False, "old"),
        ("analysis", True, "old"),
        ("postings", False, "old"),
        ("assemble", False, "old"),
        ("assemble", True, "old"),
        ("parallel-toc", True, "old"),
        ("toc", False, "old"),
        ("cleanup", False, "new"),
        ("meta", True, "new"),
        ("copy", False, "new"),
    ],
)
def test_killed_job_leaves_a_working_index_and_the_next_run_finishes(
    config: Config, expected: dict[str, Any], point: str, full: bool, after_kill: str
) -> None:
    update_index(config)
    write_state(config.corpus, NEW)
    kill_job_at(point, config, full)
    # Readers see the state before the job (or after it, once it has committed).
    assert signature(config) == expected[after_kill]
    rerun = update_index(config)
    if after_kill == "old" and not full:
        assert (rerun.added, rerun.updated, rerun.deleted) == (1, 1, 1)
    elif after_kill == "new":
        assert (rerun.added, rerun.updated, rerun.deleted, rerun.unchanged) == (0, 0, 0, 2)
    assert signature(config) == expected["new"]
    assert_clean(config.index)


@pytest.mark.parametrize("point", ["analysis", "assemble", "toc", "publish"])
def test_killed_first_build_leaves_no_index_and_the_next_run_builds_it(
    config: Config, expected: dict[str, Any], point: str
) -> None:
    kill_job_at(point, config)
    with pytest.raises(IndexMissingError):
        Searcher(config)
    assert update_index(config).added == 2
    assert signature(config) == expected["old"]
    assert_clean(config.index)


# Searches during reindexing, from another process

SEARCHER = r"""
import json, pathlib, sys, traceback
from mikke import Config, Searcher
from mikke._store import index_exists
corpus, index, ready, stop = map(pathlib.Path, sys.argv[1:5])
queries = json.loads(sys.argv[5])
config = Config(corpus=corpus, index=index)
server = Searcher(config)  # long-lived, as in `mikke serve`: picks up each commit
seen, failures, last, rounds = set(), [], {}, 0

def signature(searcher):  # each search is one whole state; the next may see a newer one
    return [sorted([h.path, h.snippet.text] for h in searcher.search(q, limit=50).hits) for q in queries]

while True:
    stopping = stop.exists()
    for kind in ("server", "cli"):
        try:
            if kind == "server":
                sig = signature(server)
            else:  # a fresh reader per search, as `mikke search` opens one
                assert index_exists(index), "index vanished"
                searcher = Searcher(config)
                try:
                    sig = signature(searcher)
                finally:
                    searcher.close()
            seen.update(json.dumps([i, found]) for i, found in enumerate(sig))
            last[kind] = sig
        except Exception:
            failures.append(traceback.format_exc())
    rounds += 1
    ready.with_suffix(".tmp").write_text(str(rounds))
    ready.with_suffix(".tmp").replace(ready)
    if stopping:
        break
report = {"rounds": rounds, "seen": sorted(seen), "failures": failures[:5], "failed": len(failures), "last": last}
print(json.dumps(report))
"""


def test_searches_in_another_process_never_fail_during_reindexes(
    config: Config, expected: dict[str, Any], tmp_path: Path
) -> None:
    update_index(config)
    ready, stop = tmp_path / "ready", tmp_path / "stop"
    searcher = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SEARCHER,
            str(config.corpus),
            str(config.index),
            str(ready),
            str(stop),
            json.dumps(QUERIES),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the searcher did not start"
        rounds_before = int(ready.read_text())
        for round_ in range(12):
            write_state(config.corpus, NEW if round_ % 2 == 0 else OLD)
            update_index(config, full=round_ % 4 == 3)
        write_state(config.corpus, NEW)
        update_index(config)
        rounds_during = int(ready.read_text()) - rounds_before
        stop.touch()
        out, err = searcher.communicate(timeout=120)
    finally:
        if searcher.poll() is None:
            searcher.kill()
            searcher.wait()
    assert searcher.returncode == 0, err
    result = json.loads(out)
    assert result["failed"] == 0, result["failures"]
    assert rounds_during >= 2  # the searches really ran beside the jobs
    allowed = {json.dumps([i, found]) for state in expected.values() for i, found in enumerate(state)}
    assert set(result["seen"]) <= allowed  # every search saw one whole state or the other
    assert len(result["seen"]) > len(QUERIES)  # and both states were seen
    assert result["last"] == {"server": expected["new"], "cli": expected["new"]}


# A search opening the index while a job commits, at each step of the opening

#: Where the opening is paused for a whole job (a rebuild, so every old segment file goes):
#: after it lists the directory, after it reads ``mikke.json``, after it reads the table of
#: contents, and after it lists the segments' files.
OPENING_STEPS = ("latest_generation", "read_meta", "read_toc", "generation_files")


@pytest.mark.parametrize("step", OPENING_STEPS)
def test_a_search_opening_the_index_while_a_job_commits_opens_the_new_generation(
    config: Config, expected: dict[str, Any], monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    update_index(config)
    before = generation(config.index)
    real = getattr(store, step)
    paused: list[str] = []

    def then_commit(*args: Any, **kwargs: Any) -> Any:
        answer = real(*args, **kwargs)
        if not paused:  # once, and not inside the job itself
            paused.append(step)
            monkeypatch.setattr(store, step, real)
            write_state(config.corpus, NEW)
            update_index(config, full=True)
        return answer

    monkeypatch.setattr(store, step, then_commit)
    opened = store.open_generation(config.index)
    opened.searcher.close()
    assert paused == [step]
    assert opened.number == generation(config.index) > before
    assert f"_{INDEX_NAME}_{before}.toc" not in os.listdir(config.index)  # the generation first listed is gone
    assert signature(config) == expected["new"]
