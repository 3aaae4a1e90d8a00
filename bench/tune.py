"""Ranking tuning harness: each set's index built once, many ranking settings evaluated in one process.

The query sets are split deterministically into a dev half and a test half by a hash of the query
id (:func:`slice_of`); niilc's questions and keyword queries share their ids, so one question's
two forms land in the same half. Tune on ``dev``, confirm on ``test``, report ``all``.

A setting is ``NAME=VALUE``: a module constant of mikke's ranking modules (``K1=0.9``), a field
boost (``boost.title=2``) or a re-ranking stage's weight or depth (``stage.coverage.weight=3``;
``stage.trigrams.off=1`` drops one). Each ``--try`` is one configuration (settings joined by
commas), measured after the defaults.

With ``--variant typo`` (kana, synonym, prefix), only the queries the variant rewrites, rewritten.

Example:
    python bench/tune.py --sets niilc-q,niilc-k,jsquad --slice dev --try stage.coverage.weight=2 --try boost.title=8
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib
import importlib.util
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import variants
from mikke import Config, QueryError, Searcher
from peers import PEERS
from relevance import K, MikkeSystem, metrics, read_jsonl, read_qrels

DATA = next(
    (path for up in (1, 2) if (path := Path(__file__).resolve().parents[up] / "../shared/data/relevance").is_dir()),
    Path("../shared/data/relevance"),
)
#: name -> (corpus directory, queries file, first N queries or None)
SETS = {
    "niilc-q": ("niilc", "queries.jsonl", None),
    "niilc-k": ("niilc", "keywords.jsonl", None),
    "jsquad": ("jsquad", "queries.jsonl", None),
    "jaquad": ("jaquad", "queries.jsonl", 4000),
}
MODULES = ("mikke._ranking", "mikke._scoring", "mikke._search", "mikke._query", "mikke._analysis", "mikke._expand")


def slice_of(query_id: str) -> str:
    """``dev`` or ``test``, by the parity of the id's SHA-1: stable in any run.

    >>> slice_of("NIILC-ECQA2015-00001-01"), slice_of("NIILC-ECQA2015-00002-01")
    ('dev', 'test')
    """
    return "dev" if hashlib.sha1(query_id.encode()).digest()[0] % 2 == 0 else "test"


def searcher_for(corpus: str, workdir: Path) -> Searcher:
    """A searcher over ``corpus``'s index in ``workdir``, built the first time as bench/relevance.py builds it."""
    system = MikkeSystem(workdir / corpus)
    if not (workdir / corpus / "index").exists():
        system.build(read_jsonl(DATA / corpus / "corpus.jsonl"))
    return Searcher(Config(corpus=workdir / corpus / "corpus", index=workdir / corpus / "index"))


def queries_for(name: str, part: str, variant: str = "") -> tuple[list[dict[str, str]], dict[str, dict[str, int]]]:
    """The slice's queries of a set, with ``variant`` only those it rewrites, rewritten."""
    corpus, file, limit = SETS[name]
    qrels = read_qrels(DATA / corpus / "qrels.tsv")
    queries = [q for q in read_jsonl(DATA / corpus / file) if q["id"] in qrels][:limit]
    queries = [q for q in queries if part == "all" or slice_of(q["id"]) == part]
    if variant:
        rewritten = ((q, variants.rewrite(variant, q["id"], q["text"])) for q in queries)
        queries = [dict(q, text=text) for q, text in rewritten if text]
    return queries, qrels


def evaluate(searcher: Searcher, queries: list[dict[str, str]], qrels: dict[str, dict[str, int]]) -> dict[str, Any]:
    totals = [0.0, 0.0]
    misses = []
    for query in queries:
        try:
            hits = searcher.search(query["text"], limit=K, per_post=True).hits
        except QueryError:
            hits = ()
        ranked = [Path(hit.path).stem for hit in hits]
        rr, recall, _ = metrics(ranked, qrels[query["id"]])
        totals[0] += rr
        totals[1] += recall
        if rr < 1:
            misses.append((query["id"], query["text"], rr, ranked[:3]))
    n = max(len(queries), 1)
    return {"mrr": round(totals[0] / n, 4), "recall": round(totals[1] / n, 4), "n": len(queries), "misses": misses}


def peer_row(peer: str, names: list[str], part: str, variant: str = "") -> list[str]:
    """One peer's figures on the sets, built once per corpus."""
    row, systems = [peer], {}
    with tempfile.TemporaryDirectory(prefix="tune-") as workdir:
        for name in names:
            corpus = SETS[name][0]
            if corpus not in systems:
                systems[corpus] = PEERS[peer](Path(workdir) / corpus)
                systems[corpus].build(read_jsonl(DATA / corpus / "corpus.jsonl"))
            queries, qrels = queries_for(name, part, variant)
            totals = [0.0, 0.0]
            for query in queries:
                rr, recall, _ = metrics(systems[corpus].search(query["text"], K), qrels[query["id"]])
                totals[0] += rr
                totals[1] += recall
            row.append(f"{totals[0] / len(queries):.4f} ({totals[1] / len(queries):.3f})")
        for system in systems.values():
            system.close()
    print(" | ".join(row), flush=True)
    return row


def apply(setting: str, searcher: Searcher) -> None:
    name, _, value = setting.partition("=")
    if name.startswith("boost."):
        searcher.config.boosts[name[6:]] = float(value)  # type: ignore[index]
        return
    if name.startswith("stage."):  # stage.NAME.weight or stage.NAME.depth; stage.NAME.off drops it
        ranking = importlib.import_module("mikke._ranking")  # not in mikke before the pipeline
        _, stage_name, key = name.split(".")
        stages = tuple(
            stage if stage.name != stage_name else dataclasses.replace(stage, **{key: json.loads(value)})
            for stage in ranking.STAGES
            if stage.name != stage_name or key != "off"
        )
        vars(ranking)["STAGES"] = stages
        return
    for module_name in filter(importlib.util.find_spec, MODULES):
        module = importlib.import_module(module_name)
        if name == "REQUEST" and hasattr(module, name):  # REQUEST=off: request phrases kept
            setattr(module, name, re.compile(r"(?!)"))
            return
        if hasattr(module, name):
            old = getattr(module, name)
            setattr(module, name, type(old)(json.loads(value)) if not isinstance(old, str) else value)
            return
    raise SystemExit(f"no such setting: {name}")


def main() -> int:
    global DATA
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="niilc-q,niilc-k,jsquad")
    parser.add_argument("--slice", default="dev", choices=("dev", "test", "all"))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mikke-tune"), help="where the indexes are kept")
    parser.add_argument("--data", type=Path, default=DATA, help="the relevance sets' directory")
    parser.add_argument("--try", dest="tries", action="append", default=[], help="settings, comma-separated")
    parser.add_argument("--misses", type=int, default=0, help="print this many missed queries of the first set")
    parser.add_argument("--peers", default="", help="peers of bench/peers.py to measure on the same slices")
    parser.add_argument("--variant", default="", choices=("", *variants.VARIANTS), help="the queries it rewrites")
    args = parser.parse_args()
    DATA = args.data
    names = args.sets.split(",")
    rows = [peer_row(peer, names, args.slice, args.variant) for peer in filter(None, args.peers.split(","))]
    for config in ["", *args.tries]:
        snapshot = {m: dict(vars(importlib.import_module(m))) for m in MODULES if importlib.util.find_spec(m)}
        row = [config or "(defaults)"]
        for name in names:
            searcher = searcher_for(SETS[name][0], args.workdir)
            for setting in filter(None, config.split(",")):
                apply(setting, searcher)
            found = evaluate(searcher, *queries_for(name, args.slice, args.variant))
            searcher.close()
            row.append(f"{found['mrr']:.4f} ({found['recall']:.3f})")
            if args.misses and name == names[0]:
                for miss in found["misses"][: args.misses]:
                    print("  miss", *miss, file=sys.stderr)
        for module_name, values in snapshot.items():
            vars(importlib.import_module(module_name)).update(values)
        rows.append(row)
        print(" | ".join(row), flush=True)
    print(f"\n| configuration | {' | '.join(names)} |  ({args.slice}, MRR@10 (Recall@10))")
    print("|---|" + "---:|" * len(names))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
