"""Where mikke's time goes: the profiles behind docs/performance.md.

``steps``: each step of mikke's search path, timed one after the other on an
existing index (parse, whoosh ranking strict then relaxed, ``Results.docs()`` for
the total, distinct keys, stored fields and snippets of 10 hits).
``ab``: query latency before (whoosh's ``searcher.search`` then ``docs()``) and
after (``mikke._matching.run_query``) in one process on one index, checking
that every question gets the same total, hits and snippets.
``build``: cProfile of a serial build of the first N posts of a site.

Example:
    python bench/perf_profile.py steps --index INDEX --queries ../shared/data/questions/niilc/questions.jsonl
    python bench/perf_profile.py ab --index INDEX --queries ../shared/data/relevance/jsquad/queries.jsonl
    python bench/perf_profile.py build --corpus ../shared/data/sites/ms-dynamics365-ja --posts 300
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from whoosh import scoring

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mikke._indexing as indexing
import mikke._search as search
from mikke import Config, QueryError, Searcher, iter_post_paths, update_index
from mikke._matching import prefer_union_trees, run_query
from mikke._query import build_query, is_relaxable, parse_query
from mikke._snippets import make_snippet
from perf import read_queries


def cuts(times: list[float]) -> tuple[float, float]:
    """p50 and p95."""
    q = statistics.quantiles(times, n=100, method="inclusive")
    return q[49], q[94]


def steps(index: Path, queries: list[str]) -> None:
    """Each step of the search path, timed apart, as a Markdown table."""
    config = Config(index=index)
    searcher = indexing.open_index(index).searcher(weighting=scoring.BM25F())
    keys = searcher.reader().column_reader("digest")
    names = ["parse", "rank (whoosh matching and scoring)", "total (Results.docs())", "distinct keys"]
    names += ["stored fields + snippets", "all"]
    times: dict[str, list[float]] = {name: [] for name in names}
    relaxed = 0
    for text in queries:
        started = time.perf_counter()
        try:
            parsed = parse_query(text)
        except QueryError:
            continue
        parse = time.perf_counter() - started
        rank = count = 0.0
        for strict in (True, False):
            a = time.perf_counter()
            results = searcher.search(prefer_union_trees(build_query(parsed, config.boosts, strict=strict)), limit=30)
            b = time.perf_counter()
            docs = results.docs()
            rank, count = rank + b - a, count + time.perf_counter() - b
            if docs or not is_relaxable(parsed):
                break
            relaxed += 1
        a = time.perf_counter()
        len({keys[d] for d in docs})
        b = time.perf_counter()
        for _, docnum in results.top_n[:10]:
            make_snippet(searcher.stored_fields(docnum)["text"], parsed.terms())
        c = time.perf_counter()
        for name, seconds in zip(names, (parse, rank, count, b - a, c - b, c - started), strict=True):
            times[name].append(seconds * 1000)
    print(f"{len(times['all'])} queries, {relaxed} relaxed (no passage had every word)\n")
    print("| step | mean ms | p50 ms | p95 ms | share of time |\n|---|---:|---:|---:|---:|")
    total = sum(times["all"])
    for name, values in times.items():
        p50, p95 = cuts(values)
        print(f"| {name} | {statistics.mean(values):.1f} | {p50:.1f} | {p95:.1f} | {sum(values) / total:.0%} |")


def ab(index: Path, queries: list[str], per_post: bool) -> None:
    """Latency before and after ``run_query`` on one index, and whether results are identical."""
    after = run_query

    def before(searcher: Any, q: Any, limit: int, filter_query: Any = None) -> Any:
        return searcher.search(q, limit=limit, filter=filter_query)

    mikke = Searcher(Config(index=index))
    outputs: dict[str, list[Any]] = {}
    for name, run in (("before", before), ("after", after)):
        setattr(search, "run_query", run)  # noqa: B010
        for text in queries[:20]:
            _search(mikke, text, per_post)
        times, outputs[name] = [], []
        for text in queries:
            started = time.perf_counter()
            outputs[name].append(_search(mikke, text, per_post))
            times.append((time.perf_counter() - started) * 1000)
        p50, p95 = cuts(times)
        print(f"{name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    setattr(search, "run_query", after)  # noqa: B010
    same = sum(a == b for a, b in zip(outputs["before"], outputs["after"], strict=True))
    print(f"identical total, hits and snippets: {same} of {len(queries)}")


def _search(searcher: Searcher, text: str, per_post: bool) -> Any:
    try:
        result = searcher.search(text, per_post=per_post)
    except QueryError as error:
        return str(error)
    return result.total, [(hit.path, hit.anchor, hit.snippet) for hit in result.hits]


def build(corpus: Path, posts: int) -> None:
    """cProfile of a serial full build of the first ``posts`` posts."""
    with tempfile.TemporaryDirectory() as work:
        copy = Path(work) / "corpus"
        for relpath in list(iter_post_paths(Config(corpus=corpus)))[:posts]:
            (copy / relpath).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(corpus / relpath, copy / relpath)
        setattr(indexing, "PARALLEL_MIN_POSTS", sys.maxsize)  # noqa: B010  # one process: one profile sees all
        profile = cProfile.Profile()
        report = profile.runcall(update_index, Config(corpus=copy, index=Path(work) / "index"), full=True)
    stats: Any = pstats.Stats(profile)
    total = stats.total_tt

    def cumulative(where: str) -> float:
        return float(sum(v[3] for k, v in stats.stats.items() if where in f"{k[0]}:{k[2]}"))

    print(
        f"{report.passages:,} passages, {total:.1f} CPU s under cProfile\n\n| part | CPU s | share |\n|---|---:|---:|"
    )
    parts: list[tuple[str, Callable[[], float]]] = [
        ("parsing posts (front matter, Markdown to passages)", lambda: cumulative("_corpus.py:parse_post")),
        ("Sudachi (`_units`)", lambda: cumulative("_analysis.py:_units")),
        (
            "rest of analysis and whoosh's per-document postings",
            lambda: cumulative("writing.py:add_document") - cumulative("_analysis.py:_units"),
        ),
        ("commit: sorting postings, writing the segment", lambda: cumulative("writing.py:commit")),
    ]
    for label, seconds in parts:
        print(f"| {label} | {seconds():.1f} | {seconds() / total:.0%} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["steps", "ab", "build"])
    parser.add_argument("--index", type=Path, help="an index built by mikke (steps, ab)")
    parser.add_argument("--queries", type=Path, help="questions: .jsonl (text) or lines (steps, ab)")
    parser.add_argument("--limit", type=int, default=200, help="first N questions (steps, ab)")
    parser.add_argument("--per-post", action="store_true", help="search with per_post (ab)")
    parser.add_argument("--corpus", type=Path, help="site directory (build)")
    parser.add_argument("--posts", type=int, default=300, help="first N posts (build)")
    args = parser.parse_args(argv)
    if args.mode == "build":
        if args.corpus is None:
            parser.error("build needs --corpus")
        build(args.corpus, args.posts)
        return 0
    if args.index is None or args.queries is None:
        parser.error(f"{args.mode} needs --index and --queries")
    queries = read_queries(args.queries, args.limit)
    if args.mode == "steps":
        steps(args.index, queries)
    else:
        ab(args.index, queries, args.per_post)
    return 0


if __name__ == "__main__":
    sys.exit(main())
