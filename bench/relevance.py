"""Relevance benchmark: mikke against the peers of ``bench/peers.py`` on a retrieval set.

DIR holds ``corpus.jsonl`` (``{"id", "title", "text"}``), ``queries.jsonl``
(``{"id", "text"}``) and ``qrels.tsv`` (qid, docid, grade). Every system indexes
the whole corpus and answers every query; the metrics are computed over its top 10.

mikke is measured as a blog would run it: each record is written as a Markdown
post (front matter ``title``, body ``text``) into a temporary corpus, indexed with
``mikke.update_index`` and the default ``Config``, and each query string goes to
``Searcher.search(query, per_post=True)`` as typed; posts rank by their best passage.

Example:
    python bench/relevance.py --data ../shared/data/relevance/jsquad
    python bench/relevance.py --data ../shared/data/relevance/jaquad --limit 4000 --systems mikke,bm25s-sudachi
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mikke import Config, QueryError, Searcher, update_index
from peers import PEERS, available_peers

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "relevance" / "jsquad"
K = 10
MIKKE = "mikke"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every JSON object of a ``.jsonl`` file."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """qid -> {docid: grade} for the grades above zero."""
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            fields = line.split()
            if len(fields) >= 3 and int(fields[2]) > 0:
                qrels.setdefault(fields[0], {})[fields[1]] = int(fields[2])
    return qrels


def metrics(ranked: list[str], relevant: dict[str, int]) -> tuple[float, float, float]:
    """MRR@10, Recall@10 and nDCG@10 (graded gains) of one ranking.

    >>> metrics(["b", "a"], {"a": 1})
    (0.5, 1.0, 0.6309)
    """
    top = ranked[:K]
    rr = next((1.0 / rank for rank, doc in enumerate(top, 1) if doc in relevant), 0.0)
    recall = sum(1 for doc in set(top) if doc in relevant) / len(relevant)
    dcg = sum(relevant.get(doc, 0) / math.log2(rank + 1) for rank, doc in enumerate(top, 1))
    ideal = sum(g / math.log2(rank + 1) for rank, g in enumerate(sorted(relevant.values(), reverse=True)[:K], 1))
    return rr, recall, round(dcg / ideal, 4)


class MikkeSystem:
    """mikke through its public library API and default configuration."""

    name = MIKKE

    def __init__(self, workdir: Path) -> None:
        self.config = Config(corpus=workdir / "corpus", index=workdir / "index")
        self.searcher: Searcher | None = None

    def build(self, docs: list[dict[str, str]]) -> None:
        posts = self.config.corpus / "_posts"
        posts.mkdir(parents=True)
        for doc in docs:
            # JSON is YAML: the title is quoted safely whatever it holds.
            text = f"---\ntitle: {json.dumps(doc['title'], ensure_ascii=False)}\n---\n\n{doc['text']}\n"
            (posts / f"{doc['id']}.md").write_text(text, encoding="utf-8")
        report = update_index(self.config)
        if report.skipped:
            print(f"mikke skipped {len(report.skipped)} records: {report.skipped[:3]}", file=sys.stderr)
        self.searcher = Searcher(self.config)

    def search(self, query: str, k: int = K) -> list[str]:
        assert self.searcher is not None, "build() first"
        try:
            result = self.searcher.search(query, limit=k, per_post=True)
        except QueryError:
            return []
        return [Path(hit.path).stem for hit in result.hits]

    def close(self) -> None:
        if self.searcher is not None:
            self.searcher.close()
            self.searcher = None


SYSTEMS: dict[str, Callable[[Path], Any]] = {MIKKE: MikkeSystem, **PEERS}


def evaluate(
    system: Any, docs: list[dict[str, str]], queries: list[dict[str, str]], qrels: dict[str, dict[str, int]]
) -> dict[str, float]:
    """Build ``system`` over ``docs`` and score it on ``queries``."""
    started = time.perf_counter()
    system.build(docs)
    build_s = time.perf_counter() - started
    totals = [0.0, 0.0, 0.0]
    query_s = 0.0
    for query in queries:
        started = time.perf_counter()
        ranked = system.search(query["text"], K)
        query_s += time.perf_counter() - started
        for i, value in enumerate(metrics(ranked, qrels[query["id"]])):
            totals[i] += value
    n = max(len(queries), 1)
    return {
        "mrr@10": round(totals[0] / n, 4),
        "recall@10": round(totals[1] / n, 4),
        "ndcg@10": round(totals[2] / n, 4),
        "query_ms": round(query_s * 1000 / n, 3),
        "build_s": round(build_s, 1),
    }


def run(
    data: Path, queries_file: Path | None, qrels_file: Path | None, limit: int | None, systems: list[str]
) -> dict[str, Any]:
    """Every system over one corpus and question set; the ``--json`` shape plus ``build_s``."""
    docs = read_jsonl(data / "corpus.jsonl")
    qrels = read_qrels(qrels_file or data / "qrels.tsv")
    queries = [q for q in read_jsonl(queries_file or data / "queries.jsonl") if q["id"] in qrels]
    queries = queries[:limit] if limit else queries
    results: dict[str, dict[str, float]] = {}
    for name in systems:
        with tempfile.TemporaryDirectory(prefix=f"relevance-{name}-") as workdir:
            system = SYSTEMS[name](Path(workdir))
            try:
                results[name] = evaluate(system, docs, queries, qrels)
            finally:
                system.close()
        print(f"  {name}: done ({results[name]['build_s']} s build)", file=sys.stderr)
    return {"docs": len(docs), "queries": len(queries), "systems": results}


def table(result: dict[str, Any]) -> str:
    """The results as a Markdown table, best MRR@10 first."""
    rows = [
        f"{result['docs']:,} docs, {result['queries']:,} queries",
        "",
        "| system | MRR@10 | Recall@10 | nDCG@10 | query ms | build s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    ranked = sorted(result["systems"].items(), key=lambda item: -item[1]["mrr@10"])
    for name, m in ranked:
        rows.append(
            f"| {name} | {m['mrr@10']:.4f} | {m['recall@10']:.4f} | {m['ndcg@10']:.4f} "
            f"| {m['query_ms']:.2f} | {m['build_s']:.1f} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="directory with corpus/queries/qrels")
    parser.add_argument("--queries", type=Path, help="queries .jsonl (default DIR/queries.jsonl)")
    parser.add_argument("--qrels", type=Path, help="qrels .tsv (default DIR/qrels.tsv)")
    parser.add_argument("--limit", type=int, help="use only the first N queries")
    parser.add_argument("--systems", help=f"comma-separated subset of: {', '.join(SYSTEMS)}")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.systems:
        systems = [s.strip() for s in args.systems.split(",") if s.strip()]
        unknown = [s for s in systems if s not in SYSTEMS]
        if unknown:
            parser.error(f"unknown system(s): {', '.join(unknown)}; choose from {', '.join(SYSTEMS)}")
    else:
        systems = [MIKKE, *available_peers()]
        missing = sorted(set(PEERS) - set(systems))
        if missing:
            print(f"peers not available here (skipped): {', '.join(missing)}", file=sys.stderr)
    result = run(args.data, args.queries, args.qrels, args.limit, systems)
    if args.json:
        for m in result["systems"].values():
            del m["build_s"]
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
