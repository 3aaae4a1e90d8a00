"""Per-query comparison: the queries of a set where a peer ranks the relevant document above mikke.

For each query of the slice it prints the relevant document's rank in mikke and in each peer
(11 = not in the top 10) where some peer ranks it higher, with how each system analysed the
query (mikke's parsed query, the terms of lucene-kuromoji's analyzer) and the relevant
document, and then the counts: queries a peer wins, ties, queries mikke wins.

Example:
    python bench/compare.py --sets niilc-q,niilc-k --slice dev --peers lucene-kuromoji,bm25s-sudachi
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mikke import QueryError
from mikke._query import parse_query
from peers import PEERS
from relevance import K, read_jsonl
from tune import DATA, SETS, apply, queries_for, searcher_for

MISSED = K + 1


def rank_of(ranked: list[str], relevant: dict[str, int]) -> int:
    """The 1-based rank of the first relevant document in ``ranked``, or :data:`MISSED`.

    >>> rank_of(["a", "b"], {"b": 1}), rank_of(["a"], {"c": 1})
    (2, 11)
    """
    return next((n for n, doc in enumerate(ranked, 1) if relevant.get(doc, 0) > 0), MISSED)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="niilc-q,niilc-k")
    parser.add_argument("--slice", default="dev", choices=("dev", "test", "all"))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mikke-tune"), help="where mikke's indexes are kept")
    parser.add_argument("--peers", default="lucene-kuromoji,bm25s-sudachi")
    parser.add_argument("--try", dest="settings", default="", help="mikke's settings, as bench/tune.py's --try")
    args = parser.parse_args()
    names, peer_names = args.sets.split(","), args.peers.split(",")
    with tempfile.TemporaryDirectory(prefix="compare-") as workdir:
        systems: dict[tuple[str, str], object] = {}
        for name in names:
            corpus = SETS[name][0]
            docs = {doc["id"]: doc for doc in read_jsonl(DATA / corpus / "corpus.jsonl")}
            for peer in peer_names:
                if (peer, corpus) not in systems:
                    system = PEERS[peer](Path(workdir) / f"{peer}-{corpus}")
                    system.build(list(docs.values()))
                    systems[peer, corpus] = system
            searcher = searcher_for(corpus, args.workdir)
            for setting in filter(None, args.settings.split(",")):
                apply(setting, searcher)
            queries, qrels = queries_for(name, args.slice)
            counts = {peer: [0, 0, 0] for peer in peer_names}
            print(f"## {name} ({args.slice}, {len(queries)} queries)")
            for query in queries:
                relevant = qrels[query["id"]]
                try:
                    hits = searcher.search(query["text"], limit=K, per_post=True).hits
                except QueryError:
                    hits = ()
                mine = rank_of([Path(hit.path).stem for hit in hits], relevant)
                theirs = {}
                for peer in peer_names:
                    theirs[peer] = rank_of(systems[peer, corpus].search(query["text"], K), relevant)  # type: ignore[attr-defined]
                    counts[peer][(theirs[peer] > mine) - (theirs[peer] < mine) + 1] += 1
                if min(theirs.values()) >= mine:
                    continue
                doc = docs[next(iter(relevant))]
                print(
                    f"- {query['id']} {query['text']!r} mikke {mine} " + " ".join(f"{p} {r}" for p, r in theirs.items())
                )
                try:
                    print(f"    mikke: {parse_query(query['text']).describe()}")
                except QueryError:
                    print("    mikke: (nothing to search)")
                if ("lucene-kuromoji", corpus) in systems:
                    print(f"    lucene: {' '.join(systems['lucene-kuromoji', corpus].terms(query['text']))}")  # type: ignore[attr-defined]
                print(f"    doc: {doc['title']} | {doc['text'][:160]}")
                if hits:
                    print(f"    mikke top: {hits[0].title} | {hits[0].snippet.text[:100]}")
            for peer, (wins, ties, losses) in counts.items():
                print(f"{name}: {peer} ranks higher on {wins}, the same on {ties}, lower on {losses}")
            searcher.close()
        for system in systems.values():
            system.close()  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main())
