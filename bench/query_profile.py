"""Where a search's time goes: parsing, scoring, ranking, snippets, per question.

Runs every question through the public ``Searcher.search`` (10 hits, snippets
included) on an existing index, timing its steps by wrapping the functions it
calls: ``parse_query`` (Sudachi on the question), ``Searcher.matches`` (scoring
every document in numpy, postings read from whoosh on first use, coverage and the
trigram re-ranking), ``make_snippet`` (each hit's window and highlights, from the
term offsets stored with its passage); the rest (choosing the hits, the total, stored
fields) is ``other``. Two passes over the same questions: ``first`` reads each term's
postings from whoosh the first time it is needed, ``again`` finds them in memory.

Example:
    mikke --corpus ../shared/data/sites/ms-dynamics365-ja --index /tmp/ix index
    python bench/query_profile.py --index /tmp/ix --queries ../shared/data/questions/niilc/questions.jsonl
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mikke import Config, QueryError, Searcher, _search
from perf import DEFAULT_QUERIES, read_queries

STEPS = ("parse", "score", "snippets", "other", "all")


def timed(spent: dict[str, float], step: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, adding its wall time to ``spent[step]``."""

    def run(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[step] += time.perf_counter() - started

    return run


def profile(searcher: Searcher, queries: list[str]) -> dict[str, list[float]]:
    """Milliseconds per step and question, for one pass over ``queries``."""
    per_step: dict[str, list[float]] = {step: [] for step in STEPS}
    spent = dict.fromkeys(STEPS, 0.0)
    originals = _search.parse_query, Searcher.matches, _search.make_snippet
    _search.parse_query = timed(spent, "parse", originals[0])  # type: ignore[assignment]
    Searcher.matches = timed(spent, "score", originals[1])  # type: ignore[method-assign]
    _search.make_snippet = timed(spent, "snippets", originals[2])  # type: ignore[assignment]
    try:
        for query in queries:
            spent.update(dict.fromkeys(STEPS, 0.0))
            started = time.perf_counter()
            try:
                searcher.search(query)
            except QueryError:
                continue
            spent["all"] = time.perf_counter() - started
            spent["other"] = spent["all"] - spent["parse"] - spent["score"] - spent["snippets"]
            for step in STEPS:
                per_step[step].append(spent[step] * 1000)
    finally:
        _search.parse_query, Searcher.matches, _search.make_snippet = originals  # type: ignore[method-assign]
    return per_step


def table(name: str, per_step: dict[str, list[float]]) -> str:
    total = sum(per_step["all"]) or 1.0
    rows = [
        f"{name}: {len(per_step['all'])} questions",
        "",
        "| step | mean ms | p50 ms | p95 ms | share |",
        "|---|---:|---:|---:|---:|",
    ]
    for step in STEPS:
        values = sorted(per_step[step])
        p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
        rows.append(
            f"| {step} | {statistics.mean(values):.2f} | {statistics.median(values):.2f} | {p95:.2f} "
            f"| {sum(values) / total:.0%} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True, help="an index built by mikke")
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES, help="queries: .jsonl (text) or lines")
    parser.add_argument("--limit", type=int, default=200, help="use only the first N queries")
    args = parser.parse_args(argv)
    searcher = Searcher(Config(index=args.index))
    queries = read_queries(args.queries, args.limit)
    print(table("first pass", profile(searcher, queries)))
    print()
    print(table("again", profile(searcher, queries)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
