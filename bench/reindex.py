"""Benchmark the batch reindex job: full build, nothing changed, one post changed.

Copies the site to a temporary directory (so one post can be edited), then runs
``mikke index --json`` three times as a separate process each, as cron would:

1. full build into an empty index directory;
2. again with nothing changed;
3. again after appending one paragraph to one post.

For each run it prints the wall time of the whole command (process start and
imports included), the seconds the job reports, the peak RSS of the process
(from ``wait4``, children included) and the index size; then the ratios to the
full build (target: both under 5%). It also times the parts of the
nothing-changed path in this process: walking the corpus, reading and hashing
every file, reading the stored hashes from the index.

Example:
    python bench/reindex.py
    python bench/reindex.py --site ../shared/data/sites/ms-dynamics365-ja --json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        report = json.loads(out.read())
    if child.returncode not in (0, 3):  # 3: finished, some files skipped
        raise SystemExit(f"mikke index failed with exit code {child.returncode}")
    return {"wall_s": wall, "rss_mb": usage.ru_maxrss / 1024, "exit": child.returncode, **report}


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
        parts = nothing_changed_parts(config)

        paths = list(iter_post_paths(config))
        changed = max(paths, key=lambda p: (corpus / p).stat().st_size)  # the largest post: the worst case
        with (corpus / changed).open("a", encoding="utf-8") as post:
            post.write(ADDED_PARAGRAPH)
        runs["one changed"] = run_index(corpus, index)
        runs["one changed"]["index_mb"] = dir_mb(index)
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
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    print(f"site: {args.site} ({len(paths)} posts; changed: {changed})")
    print(f"machine: {result['machine']}\n")
    print(
        "| run | wall s | job s | peak RSS MB | added | updated | deleted | unchanged | skipped | passages | index MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in runs.items():
        print(
            f"| {name} | {r['wall_s']:.2f} | {r['seconds']:.2f} | {r['rss_mb']:.0f} | {r['added']} | {r['updated']} "
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
