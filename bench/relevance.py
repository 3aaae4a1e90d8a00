"""Relevance benchmark: mikke against the peers of ``bench/peers.py`` on a retrieval set.

DIR holds ``corpus.jsonl`` (``{"id", "title", "text"}``), ``queries.jsonl``
(``{"id", "text"}``) and ``qrels.tsv`` (qid, docid, grade). Every system indexes
the whole corpus and answers every query; the metrics are computed over its top 10.

mikke is measured as a blog would run it: each record is written as a Markdown
post (front matter ``title``, body ``text``) into a temporary corpus, indexed with
``mikke.update_index`` and the default ``Config``, and each query string goes to
``Searcher.search(query, per_post=True)`` as typed; posts rank by their best passage.

``--variant kana|synonym|prefix|typo`` (several comma-separated, or ``all``: one build
serves them all) rewrites each query as a person might type it (``bench/variants.py``) and
scores every system on the rewritten queries beside the same queries as written, over the
queries the variant could rewrite. mikke answers the ``prefix`` variant as the search box
asks it, with ``prefix=True`` (the last word may be unfinished); everything else without.
``--slice dev|test`` keeps one half of the queries, split by a hash of their ids (for tuning
on one half, checking on the other).

Example:
    python bench/relevance.py --data ../shared/data/relevance/jsquad
    python bench/relevance.py --data ../shared/data/relevance/jaquad --limit 4000 --systems mikke,bm25s-sudachi
    python bench/relevance.py --data ../shared/data/relevance/niilc --variant kana --slice dev --json
"""

from __future__ import annotations

import argparse
import hashlib
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
from peers import PEERS, available_peers, peer_status
from variants import SYNONYMS, VARIANTS, rewrite

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "relevance" / "jsquad"
K = 10
MIKKE = "mikke"
SLICES = ("dev", "test")


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
        #: The last word may be unfinished, as the search box asks (the ``prefix`` variant sets it).
        self.typing = False

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
            result = self.searcher.search(query, limit=k, per_post=True, prefix=self.typing)
        except QueryError:
            return []
        return [Path(hit.path).stem for hit in result.hits]

    def close(self) -> None:
        if self.searcher is not None:
            self.searcher.close()
            self.searcher = None


SYSTEMS: dict[str, Callable[[Path], Any]] = {MIKKE: MikkeSystem, **PEERS}


def in_slice(qid: str, name: str) -> bool:
    """Whether query ``qid`` is in the ``dev`` or the ``test`` half (a hash of the id decides).

    >>> [in_slice("q1", "dev"), in_slice("q1", "test")]
    [False, True]
    """
    return hashlib.sha256(qid.encode("utf-8")).digest()[0] % 2 == SLICES.index(name)


Answers = dict[str, tuple[list[str], float]]  # query id -> (ranked doc ids, seconds)


def answer(system: Any, queries: list[dict[str, str]]) -> Answers:
    """A built ``system``'s top ``K`` for each query, and the time it took."""
    answers: Answers = {}
    for query in queries:
        started = time.perf_counter()
        ranked = system.search(query["text"], K)
        answers[query["id"]] = (ranked, time.perf_counter() - started)
    return answers


def summarize(answers: Answers, ids: list[str], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """MRR@10, Recall@10, nDCG@10 and query time, each the mean over the queries ``ids``."""
    totals = [0.0, 0.0, 0.0, 0.0]
    for qid in ids:
        ranked, seconds = answers[qid]
        for i, value in enumerate((*metrics(ranked, qrels[qid]), seconds)):
            totals[i] += value
    n = max(len(ids), 1)
    return {
        "mrr@10": round(totals[0] / n, 4),
        "recall@10": round(totals[1] / n, 4),
        "ndcg@10": round(totals[2] / n, 4),
        "query_ms": round(totals[3] * 1000 / n, 3),
    }


def select_queries(
    queries: list[dict[str, str]], qrels: dict[str, dict[str, int]], limit: int | None, part: str | None
) -> list[dict[str, str]]:
    """The judged queries, the first ``limit`` of them, then one ``part`` (slice) of those."""
    judged = [q for q in queries if q["id"] in qrels]
    judged = judged[:limit] if limit else judged
    return [q for q in judged if in_slice(q["id"], part)] if part else judged


def rewritten(queries: list[dict[str, str]], variant: str) -> list[dict[str, str]]:
    """The queries ``variant`` rewrites, rewritten (same ids)."""
    pairs = [(q["id"], rewrite(variant, q["id"], q["text"])) for q in queries]
    return [{"id": qid, "text": new} for qid, new in pairs if new is not None]


def evaluate(
    system: Any,
    docs: list[dict[str, str]],
    queries: list[dict[str, str]],
    qrels: dict[str, dict[str, int]],
    variants: dict[str, list[dict[str, str]]],
) -> dict[str, Any]:
    """Build ``system`` over ``docs``; score it on ``queries`` and on each variant beside its originals."""
    started = time.perf_counter()
    system.build(docs)
    build_s = time.perf_counter() - started
    written = answer(system, queries)
    result: dict[str, Any] = summarize(written, [q["id"] for q in queries], qrels)
    if variants:
        result["variants"] = {}
        for name, rewrites in variants.items():
            ids = [q["id"] for q in rewrites]
            if name == "prefix" and hasattr(system, "typing"):
                system.typing = True  # a half-typed word comes from the search box, which says so
            result["variants"][name] = {
                "as_written": summarize(written, ids, qrels),
                "rewritten": summarize(answer(system, rewrites), ids, qrels),
            }
            if hasattr(system, "typing"):
                system.typing = False
    result["build_s"] = round(build_s, 1)
    return result


def run(
    data: Path,
    queries_file: Path | None,
    qrels_file: Path | None,
    limit: int | None,
    systems: list[str],
    variants: list[str] | None = None,
    part: str | None = None,
) -> dict[str, Any]:
    """Every system over one corpus and question set; the ``--json`` shape plus ``build_s``."""
    docs = read_jsonl(data / "corpus.jsonl")
    qrels = read_qrels(qrels_file or data / "qrels.tsv")
    queries = select_queries(read_jsonl(queries_file or data / "queries.jsonl"), qrels, limit, part)
    result: dict[str, Any] = {"docs": len(docs), "queries": len(queries)}
    if part:
        result["slice"] = part
    rewrites = {name: rewritten(queries, name) for name in variants or []}
    if rewrites:
        result["variants"] = {name: len(qs) for name, qs in rewrites.items()}
        text = {q["id"]: q["text"] for q in queries}
        for name, qs in rewrites.items():
            example = f", e.g. {text[qs[0]['id']]} -> {qs[0]['text']}" if qs else ""
            print(f"  {name}: {len(qs)} of {len(queries)} queries rewritten{example}", file=sys.stderr)
    result["systems"] = {}
    for name in systems:
        with tempfile.TemporaryDirectory(prefix=f"relevance-{name}-") as workdir:
            system = SYSTEMS[name](Path(workdir))
            try:
                result["systems"][name] = evaluate(system, docs, queries, qrels, rewrites)
            finally:
                system.close()
        print(f"  {name}: done ({result['systems'][name]['build_s']} s build)", file=sys.stderr)
    return result


def table(result: dict[str, Any]) -> str:
    """The results as Markdown tables, best MRR@10 first: the queries, then each variant's."""
    head = f"{result['docs']:,} docs, {result['queries']:,} queries"
    if "slice" in result:
        head += f" ({result['slice']} slice)"
    rows = [
        head,
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
    for v, n in result.get("variants", {}).items():
        rows += [
            "",
            f"{v}: the {n:,} of the {result['queries']:,} queries that it rewrites, as written and rewritten",
            "",
            f"| system | MRR@10 as written | MRR@10 {v} | ratio "
            f"| Recall@10 as written | Recall@10 {v} | query ms {v} |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        scores = sorted(
            ((name, m["variants"][v]) for name, m in ranked), key=lambda item: -item[1]["rewritten"]["mrr@10"]
        )
        for name, pair in scores:
            before, after = pair["as_written"], pair["rewritten"]
            ratio = after["mrr@10"] / before["mrr@10"] if before["mrr@10"] else 0.0
            rows.append(
                f"| {name} | {before['mrr@10']:.4f} | {after['mrr@10']:.4f} | {ratio:.3f} "
                f"| {before['recall@10']:.4f} | {after['recall@10']:.4f} | {after['query_ms']:.2f} |"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="directory with corpus/queries/qrels")
    parser.add_argument("--queries", type=Path, help="queries .jsonl (default DIR/queries.jsonl)")
    parser.add_argument("--qrels", type=Path, help="qrels .tsv (default DIR/qrels.tsv)")
    parser.add_argument("--limit", type=int, help="use only the first N queries")
    parser.add_argument("--systems", help=f"comma-separated subset of: {', '.join(SYSTEMS)}")
    parser.add_argument(
        "--variant",
        help=f"also score the queries rewritten: one or more (comma-separated) of {', '.join(VARIANTS)}, or all",
    )
    parser.add_argument("--slice", choices=SLICES, help="only one half of the queries, split by a hash of their ids")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.systems:
        systems = [s.strip() for s in args.systems.split(",") if s.strip()]
        unknown = [s for s in systems if s not in SYSTEMS]
        if unknown:
            parser.error(f"unknown system(s): {', '.join(unknown)}; choose from {', '.join(SYSTEMS)}")
        status = peer_status()
        unavailable = [f"{s} ({status[s]})" for s in systems if status.get(s)]
        if unavailable:
            parser.error(f"not available here: {'; '.join(unavailable)}")
    else:
        systems = [MIKKE, *available_peers()]
        for name, reason in peer_status().items():
            if reason:
                print(f"{name} skipped: {reason}", file=sys.stderr)
    variants = (
        list(VARIANTS) if args.variant == "all" else [v.strip() for v in (args.variant or "").split(",") if v.strip()]
    )
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s): {', '.join(unknown)}; choose from {', '.join(VARIANTS)} or all")
    if "synonym" in variants and not SYNONYMS.is_file():
        parser.error(f"the synonym variant needs Sudachi's synonyms.txt: not found at {SYNONYMS} (set MIKKE_SYNONYMS)")
    for path in (args.data / "corpus.jsonl", args.queries or args.data / "queries.jsonl"):
        if not path.is_file():
            parser.error(f"no such file: {path}")
    result = run(args.data, args.queries, args.qrels, args.limit, systems, variants, args.slice)
    if args.json:
        for m in result["systems"].values():
            del m["build_s"]
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
