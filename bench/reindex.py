"""Benchmark the batch reindex job: full build, nothing changed, one post changed.

Copies the site to a temporary directory (so one post can be edited), then runs
``mikke index --json`` three times as a separate process each, as cron would:

1. full build into an empty index directory;
2. again with nothing changed;
3. again after appending one paragraph to one post.

For each run it prints the wall time of the whole command (process start and
imports included), the seconds the job reports, the peak RSS (of the largest
process, from ``wait4``, which covers the worker processes too; and of all the
processes together, sampled with psutil every 50 ms) and the index size; then the ratios to the
full build (target: both under 5%). It also times the parts of the
nothing-changed path in this process: walking the corpus, reading and hashing
every file, reading the stored hashes from the index.

Example:
    python bench/reindex.py
    python bench/reindex.py --site ../shared/data/sites/ms-dynamics365-ja --json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from mikke import Config, Searcher, iter_post_paths
from mikke._corpus import read_text
from mikke._indexing import stored_hashes

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SITE = ROOT.parent / "shared/data/sites/ms-dynamics365-ja"
#: Appended to one post for the one-changed run; the search afterwards must find it.
MARKER_WORD = "ベンチマーク追記検証語"
ADDED_PARAGRAPH = f"\n\nこの段落は{MARKER_WORD}を含む、再索引の速度を測るための追記です。\n"


def run_index(corpus: Path, index: Path) -> dict[str, Any]:
    """Run ``mikke index --json`` in a child process; its report, wall seconds and peak RSS."""
    command = [
        sys.executable,
        "-c",
        "from mikke.cli import main; main()",
        "--corpus",
        str(corpus),
        "--index",
        str(index),
        "index",
        "--json",
    ]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL)
        tree_peak = [0]
        sampler = threading.Thread(target=_sample_tree, args=(child.pid, tree_peak), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        sampler.join()
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        report = json.loads(out.read())
    if child.returncode not in (0, 3):  # 3: finished, some files skipped
        raise SystemExit(f"mikke index failed with exit code {child.returncode}")
    rss = {"rss_mb": usage.ru_maxrss / 1024, "tree_rss_mb": tree_peak[0] / 2**20}
    return {"wall_s": wall, **rss, "exit": child.returncode, **report}


def _sample_tree(pid: int, peak: list[int]) -> None:
    """Every 50 ms, the summed RSS of ``pid`` and its descendants (worker processes); keeps the peak."""
    try:
        root = psutil.Process(pid)
        while root.status() != psutil.STATUS_ZOMBIE:
            total = 0
            for process in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += process.memory_info().rss
            peak[0] = max(peak[0], total)
            time.sleep(0.05)
    except psutil.Error:
        pass


def machine() -> str:
    """CPU model, cores, memory and Python version."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), model)
    memory = psutil.virtual_memory().total / 2**30
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB, {system}"


def expect(run: dict[str, Any], updated: int) -> None:
    """Stop unless the run did exactly the work it was given (say, the code changed between runs)."""
    if (run["added"], run["updated"], run["deleted"]) != (0, updated, 0):
        raise SystemExit(f"expected {updated} updated and nothing else, got {run}")


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def nothing_changed_parts(config: Config) -> dict[str, float]:
    """Seconds for each part of a run that finds nothing to do, measured here."""
    started = time.perf_counter()
    paths = list(iter_post_paths(config))
    walked = time.perf_counter()
    for relpath in paths:
        read_text(config.corpus / relpath)
    hashed = time.perf_counter()
    stored_hashes(config.index)
    done = time.perf_counter()
    return {"walk_s": walked - started, "read_hash_s": hashed - walked, "stored_hashes_s": done - hashed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=DEFAULT_SITE, help="site directory (its posts are copied)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    if not args.site.is_dir():
        raise SystemExit(f"site not found: {args.site}")

    with tempfile.TemporaryDirectory(prefix="mikke-bench-") as tmp:
        corpus, index = Path(tmp) / "site", Path(tmp) / "index"
        shutil.copytree(args.site, corpus)
        config = Config(corpus=corpus, index=index)
        runs: dict[str, dict[str, Any]] = {}
        runs["full build"] = run_index(corpus, index)
        runs["full build"]["index_mb"] = dir_mb(index)
        runs["nothing changed"] = run_index(corpus, index)
        runs["nothing changed"]["index_mb"] = dir_mb(index)
        expect(runs["nothing changed"], updated=0)
        parts = nothing_changed_parts(config)

        paths = list(iter_post_paths(config))
        changed = max(paths, key=lambda p: (corpus / p).stat().st_size)  # the largest post: the worst case
        with (corpus / changed).open("a", encoding="utf-8") as post:
            post.write(ADDED_PARAGRAPH)
        runs["one changed"] = run_index(corpus, index)
        runs["one changed"]["index_mb"] = dir_mb(index)
        expect(runs["one changed"], updated=1)
        searcher = Searcher(config)
        try:
            found = {hit.path for hit in searcher.search(MARKER_WORD).hits}
        finally:
            searcher.close()
        if changed not in found:
            raise SystemExit(f"the changed post {changed} is not found by {MARKER_WORD!r} after the one-changed run")

    full = runs["full build"]["wall_s"]
    ratios = {
        "one_changed_over_full": runs["one changed"]["wall_s"] / full,
        "nothing_changed_over_full": runs["nothing changed"]["wall_s"] / full,
    }
    result = {
        "site": str(args.site),
        "posts": len(paths),
        "changed_post": changed,
        "runs": runs,
        "nothing_changed_parts": parts,
        "ratios": ratios,
        "machine": machine(),
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    print(f"site: {args.site} ({len(paths)} posts; changed: {changed})")
    print(f"machine: {result['machine']}\n")
    print(
        "| run | wall s | job s | peak RSS MB (largest process) | peak RSS MB (all processes) "
        "| added | updated | deleted | unchanged | skipped | passages | index MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in runs.items():
        print(
            f"| {name} | {r['wall_s']:.2f} | {r['seconds']:.2f} | {r['rss_mb']:.0f} | {r['tree_rss_mb']:.0f} "
            f"| {r['added']} | {r['updated']} "
            f"| {r['deleted']} | {r['unchanged']} | {len(r['skipped'])} | {r['passages']} | {r['index_mb']:.1f} |"
        )
    print(
        f"\nnothing-changed parts (in-process): walk {parts['walk_s']:.3f}s, read+hash {parts['read_hash_s']:.3f}s, "
        f"stored hashes {parts['stored_hashes_s']:.3f}s"
    )
    for name, ratio in ratios.items():
        print(f"{name}: {ratio:.2%} ({'meets' if ratio < 0.05 else 'misses'} the < 5% target)")


if __name__ == "__main__":
    main()
