"""Performance benchmark: index build against the tokenizer's limit, query latency against the peers.

One run reports, over one corpus and one query file:

* ``tokenize_s``: every passage's text through mikke's analyzer in this process, nothing
  written (the practical lower bound of a build); ``build_s``: a full ``update_index``
  from scratch in a fresh process (file discovery and Markdown parsing included), its
  ratio to ``tokenize_s``, the peak RSS of that process and its children, and the
  index size over the passage text size; ``cpu_ratio`` is the build's CPU time (all its
  processes) over tokenize-only's: on N free cores the build can reach ``cpu_ratio / N``.
  A shared machine's speed drifts from minute to minute, so ``--rounds`` builds (``ROUNDS``) run in
  turn with tokenize-only runs, each build's ratio taken against the mean of the runs just
  before and after it; the figures are the median round's and ``rounds`` lists every round;
* query latency p50/p95 over the query file for mikke (one warm ``Searcher``, the public
  ``Searcher.search`` with snippets, 10 hits) and, on the same passages and queries, the
  peers of ``bench/peers.py`` under the relevance benchmark's names; each peer indexes
  one document per passage (its post's title and the passage text), the units mikke ranks.
  Each query is searched by every system in turn, so that all see the same minute's machine;
* the same build and mikke p50 at about 4k, 16k and 64k passages, made from the corpus
  by copying posts under new ids until the size is reached.

``--corpus`` is a site directory (every post mikke's default configuration finds) or a
``corpus.jsonl`` of ``{"id", "title", "text"}`` records, each written as one Markdown
post as ``bench/relevance.py`` does. ``--queries`` is ``.jsonl`` with a ``text`` field or
plain lines. ``--build-only`` stops after the build (tokenize-only, build, ratios), for
iterating on the build.

Example:
    python bench/perf.py --corpus ../shared/data/sites/ms-dynamics365-ja \\
        --queries ../shared/data/questions/niilc/questions.jsonl
    python bench/perf.py --corpus ../shared/data/relevance/jaquad/corpus.jsonl \\
        --queries ../shared/data/relevance/jaquad/queries.jsonl --limit 4000 --json
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mikke import Config, PostError, QueryError, Searcher, analyzer, iter_post_paths, load_post
from peers import PEERS, available_peers

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
DEFAULT_CORPUS = DATA / "sites" / "ms-dynamics365-ja"
DEFAULT_QUERIES = DATA / "questions" / "niilc" / "questions.jsonl"
GROWTH_SIZES = (4_000, 16_000, 64_000)
MIKKE = "mikke"
SQLITE = "sqlite-fts5-trigram"
LUCENE = "lucene-kuromoji"
K = 10
#: Builds, each between two tokenize-only runs; the median round is reported.
ROUNDS = 3
#: Queries run once before timing, so caches and lazily created objects are warm.
WARMUP = 20

#: A full build in a fresh interpreter, as ``mikke index --full`` runs it; prints its own timing.
_BUILD = """
import json, sys, time
from pathlib import Path
from mikke import Config, update_index
started = time.perf_counter()
report = update_index(Config(corpus=Path(sys.argv[1]), index=Path(sys.argv[2])), full=True)
print(json.dumps({"seconds": time.perf_counter() - started, "passages": report.passages}))
"""


def read_queries(path: Path, limit: int | None = None) -> list[str]:
    """Query strings from ``.jsonl`` (its ``text`` field) or plain lines, blanks skipped."""
    with path.open(encoding="utf-8") as lines:
        if path.suffix == ".jsonl":
            texts = [json.loads(line)["text"] for line in lines if line.strip()]
        else:
            texts = [line.strip() for line in lines if line.strip()]
    return texts[:limit] if limit else texts


def write_jsonl_corpus(records: list[dict[str, str]], root: Path) -> None:
    """Each record as one Markdown post (front matter title, body text), like bench/relevance.py."""
    posts = root / "_posts"
    posts.mkdir(parents=True, exist_ok=True)
    for record in records:
        text = f"---\ntitle: {json.dumps(record['title'], ensure_ascii=False)}\n---\n\n{record['text']}\n"
        (posts / f"{record['id']}.md").write_text(text, encoding="utf-8")


def load_passages(corpus: Path) -> dict[str, list[tuple[str, str]]]:
    """relpath -> [(post title, passage text)] for every post mikke's defaults index."""
    config = Config(corpus=corpus)
    posts: dict[str, list[tuple[str, str]]] = {}
    for relpath in iter_post_paths(config):
        try:
            post = load_post(relpath, config)
        except PostError:
            continue
        posts[relpath] = [(post.title, passage.text) for _, passage in post.passages()]
    return posts


def grow(corpus: Path, posts: dict[str, list[tuple[str, str]]], size: int, root: Path) -> int:
    """Copy posts (cycling, each copy under ``copyN/``) into ``root`` until ``size`` passages."""
    total, copy = 0, 0
    while total < size:
        for relpath, passages in posts.items():
            if total >= size:
                break
            target = root / f"copy{copy}" / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(corpus / relpath, target)
            total += len(passages)
        copy += 1
    return total


def tokenize_only(texts: list[str]) -> tuple[float, float]:
    """Seconds and CPU seconds to run every text through mikke's analyzer, tokens consumed and dropped."""
    analyze = analyzer()
    started, cpu_started = time.perf_counter(), time.process_time()
    for text in texts:
        for _ in analyze(text, positions=True, chars=True):
            pass
    return time.perf_counter() - started, time.process_time() - cpu_started


def build_rounds(corpus: Path, texts: list[str], index: Path, rounds: int) -> dict[str, Any]:
    """Tokenize-only and full builds in turn, each build between two tokenize-only runs (this
    machine's speed drifts from minute to minute: the runs on both sides of a build measure its
    minute); the ``--json`` build figures are those of the round whose ratio is the median, the
    peak RSS the highest, and ``rounds`` gives every round's. The last build stays in ``index``."""
    tokenized = [tokenize_only(texts)]
    log(f"tokenize-only {tokenized[0][0]:.1f} s")
    figures = []
    for number in range(1, rounds + 1):
        shutil.rmtree(index, ignore_errors=True)
        build_s, cpu_s, peak_mb = build(corpus, index)
        tokenized.append(tokenize_only(texts))
        (before_s, before_cpu), (after_s, after_cpu) = tokenized[-2:]
        tokenize_s, tokenize_cpu_s = (before_s + after_s) / 2, (before_cpu + after_cpu) / 2
        figures.append(
            {
                "tokenize_s": round(tokenize_s, 6),
                "build_s": round(build_s, 6),
                "ratio": round(build_s / tokenize_s, 2),
                "peak_rss_mb": round(peak_mb, 1),
                "tokenize_cpu_s": round(tokenize_cpu_s, 2),
                "build_cpu_s": round(cpu_s, 2),
                "cpu_ratio": round(cpu_s / tokenize_cpu_s, 2),
            }
        )
        log(f"round {number}: build {build_s:.1f} s, tokenize-only {after_s:.1f} s, ratio {figures[-1]['ratio']:.2f}")
    median = sorted(figures, key=lambda f: f["ratio"])[rounds // 2]  # of two, the higher
    index_mb, text_mb = dir_mb(index), sum(len(t.encode()) for t in texts) / 2**20
    return {
        **median,
        "peak_rss_mb": max(f["peak_rss_mb"] for f in figures),
        "index_mb": round(index_mb, 3),
        "text_mb": round(text_mb, 3),
        "index_per_text": round(index_mb / max(text_mb, 1e-9), 2),
        "rounds": figures,
    }


def build(corpus: Path, index: Path) -> tuple[float, float, float]:
    """Full build in a fresh process: (seconds, CPU seconds and peak RSS in MB of it and its children)."""
    with subprocess.Popen([sys.executable, "-c", _BUILD, str(corpus), str(index)], stdout=subprocess.PIPE) as proc:
        parent = psutil.Process(proc.pid)
        peak, cpu = 0, {}
        while proc.poll() is None:
            try:
                tree = [parent, *parent.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree))
                cpu.update({p.pid: sum(p.cpu_times()[:2]) for p in tree})
            except psutil.Error:
                pass
            time.sleep(0.05)
        out = proc.stdout.read() if proc.stdout else b""
    if proc.returncode != 0:
        raise SystemExit(f"build failed (exit {proc.returncode})")
    return float(json.loads(out)["seconds"]), sum(cpu.values()), peak / 2**20


def dir_mb(path: Path) -> float:
    """Total size of the files under ``path`` in MB."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def latencies(searches: dict[str, Callable[[str], Any]], queries: list[str]) -> dict[str, dict[str, float]]:
    """p50/p95 milliseconds of each of ``searches`` over ``queries`` after a warm-up. Every query is
    searched by each system in turn, each system first in turn: a shared machine's speed drifts
    from minute to minute, and systems timed one after the other would compare their minutes."""
    names = list(searches)
    for query in queries[:WARMUP]:
        for name in names:
            searches[name](query)
    times: dict[str, list[float]] = {name: [] for name in names}
    for n, query in enumerate(queries):
        turn = n % len(names)
        for name in names[turn:] + names[:turn]:
            started = time.perf_counter()
            searches[name](query)
            times[name].append((time.perf_counter() - started) * 1000)
    cuts = {name: statistics.quantiles(found, n=100, method="inclusive") for name, found in times.items()}
    return {name: {"p50_ms": round(cut[49], 3), "p95_ms": round(cut[94], 3)} for name, cut in cuts.items()}


def mikke_search(searcher: Searcher) -> Callable[[str], Any]:
    """mikke through ``Searcher.search`` (10 hits with snippets); a rejected query still counts."""

    def search(query: str) -> Any:
        try:
            return searcher.search(query, limit=K)
        except QueryError:
            return None

    return search


def query_latencies(
    index: Path, docs: list[dict[str, str]], peers: list[str], queries: list[str], work: Path
) -> dict[str, dict[str, float]]:
    """mikke over ``index`` and each of ``peers`` built over ``docs``, timed together (:func:`latencies`)."""
    with contextlib.ExitStack() as stack:
        searcher = Searcher(Config(index=index))
        stack.callback(searcher.close)
        searches = {MIKKE: mikke_search(searcher)}
        for name in peers:
            peer = PEERS[name](Path(stack.enter_context(tempfile.TemporaryDirectory(dir=work))))
            stack.callback(peer.close)
            peer.build(docs)
            searches[name] = functools.partial(peer.search, k=K)
            log(f"{name} built")
        return latencies(searches, queries)


def passage_docs(posts: dict[str, list[tuple[str, str]]]) -> list[dict[str, str]]:
    """One peer document per passage, with its post's title."""
    return [
        {"id": f"{relpath}#{n}", "title": title, "text": text}
        for relpath, passages in posts.items()
        for n, (title, text) in enumerate(passages)
    ]


def run(
    corpus_arg: Path,
    queries: list[str],
    peers: list[str],
    sizes: tuple[int, ...],
    growth_queries: int,
    work: Path,
    build_only: bool = False,
    rounds: int = ROUNDS,
) -> dict[str, Any]:
    """The whole benchmark (``build_only``: tokenize-only and the build); returns the ``--json`` shape."""
    if corpus_arg.is_dir():
        corpus = corpus_arg
    else:
        corpus = work / "corpus"
        with corpus_arg.open(encoding="utf-8") as lines:
            write_jsonl_corpus([json.loads(line) for line in lines if line.strip()], corpus)
    log(f"reading {corpus}")
    posts = load_passages(corpus)
    texts = [text for passages in posts.values() for _, text in passages]
    log(f"{len(posts):,} posts, {len(texts):,} passages")
    index = work / "index"
    result: dict[str, Any] = {
        "corpus": {"posts": len(posts), "passages": len(texts), "queries": len(queries)},
        "build": build_rounds(corpus, texts, index, rounds),
        "machine": {"cpus": psutil.cpu_count(), "load_avg_1m": round(psutil.getloadavg()[0], 2)},
        "queries": {},
        "growth": [],
    }
    if build_only:
        return result
    result["queries"] = query_latencies(index, passage_docs(posts), peers, queries, work)
    shutil.rmtree(index)
    for size in sizes:
        with tempfile.TemporaryDirectory(dir=work) as grown:
            passages = grow(corpus, posts, size, Path(grown) / "corpus")
            seconds, _, _ = build(Path(grown) / "corpus", Path(grown) / "index")
            p50 = query_latencies(Path(grown) / "index", [], [], queries[:growth_queries], work)[MIKKE]["p50_ms"]
        result["growth"].append({"passages": passages, "build_s": round(seconds, 2), "mikke_p50_ms": p50})
        log(f"growth {passages:,} passages done")
    return result


def log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def table(result: dict[str, Any]) -> str:
    """The results as Markdown tables, with each target's ratio and verdict."""
    b, q, corpus = result["build"], result["queries"], result["corpus"]
    rows = [
        f"{corpus['posts']:,} posts, {corpus['passages']:,} passages, {corpus['queries']:,} queries "
        f"({result['machine']['cpus']} CPUs, load average {result['machine']['load_avg_1m']} after the builds)",
        "",
        "| tokenize-only s | build s | build / tokenize | CPU s: tokenize, build | CPU build / tokenize "
        "| peak RSS MB | index MB | text MB | index / text |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {b['tokenize_s']:.1f} | {b['build_s']:.1f} | {b['ratio']:.2f} "
        f"| {b['tokenize_cpu_s']:.1f}, {b['build_cpu_s']:.1f} | {b['cpu_ratio']:.2f} | {b['peak_rss_mb']:.0f} "
        f"| {b['index_mb']:.1f} | {b['text_mb']:.1f} | {b['index_per_text']:.2f} |",
    ]
    if len(b["rounds"]) > 1:
        rows += [
            "",
            f"The build figures are the median round's of {len(b['rounds'])} (peak RSS: the highest):",
            "",
            "| round | tokenize-only s | build s | build / tokenize | CPU build / tokenize | peak RSS MB |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        rows += [
            f"| {n} | {r['tokenize_s']:.1f} | {r['build_s']:.1f} | {r['ratio']:.2f} | {r['cpu_ratio']:.2f} "
            f"| {r['peak_rss_mb']:.0f} |"
            for n, r in enumerate(b["rounds"], 1)
        ]
    if q:
        rows += ["", "| system | p50 ms | p95 ms | mikke p50 / this | mikke p95 / this |", "|---|---:|---:|---:|---:|"]
    mikke = q.get(MIKKE, {})
    for name, m in q.items():
        rows.append(
            f"| {name} | {m['p50_ms']:.2f} | {m['p95_ms']:.2f} "
            f"| {mikke['p50_ms'] / m['p50_ms']:.2f} | {mikke['p95_ms'] / m['p95_ms']:.2f} |"
        )
    if result["growth"]:
        rows += ["", "| passages | build s | mikke p50 ms |", "|---:|---:|---:|"]
    rows += [f"| {g['passages']:,} | {g['build_s']:.1f} | {g['mikke_p50_ms']:.2f} |" for g in result["growth"]]
    rows += ["", "targets:", f"- build / tokenize-only = {b['ratio']:.2f} (at most 1.5: {verdict(b['ratio'] <= 1.5)})"]
    rows.append(f"- peak RSS = {b['peak_rss_mb']:.0f} MB (under 1024: {verdict(b['peak_rss_mb'] < 1024)})")
    if SQLITE in q:
        p50, p95 = mikke["p50_ms"] / q[SQLITE]["p50_ms"], mikke["p95_ms"] / q[SQLITE]["p95_ms"]
        rows.append(f"- mikke p50 / {SQLITE} p50 = {p50:.2f} (at most 1: {verdict(p50 <= 1)})")
        rows.append(f"- mikke p95 / {SQLITE} p95 = {p95:.2f} (at most 2: {verdict(p95 <= 2)})")
    growth = result["growth"]
    if len(growth) >= 2 and growth[0]["mikke_p50_ms"] > 0:
        size = growth[-1]["passages"] / growth[0]["passages"]
        time_ = growth[-1]["mikke_p50_ms"] / growth[0]["mikke_p50_ms"]
        rows.append(f"- p50 grows {time_:.2f}x for {size:.1f}x passages (less than linear: {verdict(time_ < size)})")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="site directory or corpus.jsonl")
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES, help="queries: .jsonl (text) or lines")
    parser.add_argument("--limit", type=int, help="use only the first N queries")
    parser.add_argument(
        "--peers", help=f"comma-separated peers (default: {SQLITE}, {LUCENE} and the Groonga peers available)"
    )
    parser.add_argument(
        "--sizes", default=",".join(map(str, GROWTH_SIZES)), help="growth sizes in passages ('' for none)"
    )
    parser.add_argument("--growth-queries", type=int, default=1000, help="queries timed at each growth size")
    parser.add_argument(
        "--build-only", action="store_true", help="only tokenize-only and the build (no queries, peers or growth)"
    )
    parser.add_argument(
        "--rounds", type=int, default=ROUNDS, help="builds, each between two tokenize-only runs; the median is reported"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    available = available_peers()
    if args.peers is not None:
        peers = [p.strip() for p in args.peers.split(",") if p.strip()]
        unknown = [p for p in peers if p not in available]
        if unknown:
            parser.error(f"peer(s) not available: {', '.join(unknown)}; available: {', '.join(available)}")
    else:
        peers = [p for p in available if p in (SQLITE, LUCENE) or p.startswith("groonga")]
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    sizes = tuple(int(s) for s in args.sizes.split(",") if s.strip())
    queries = read_queries(args.queries, args.limit)
    with tempfile.TemporaryDirectory(prefix="mikke-perf-") as work:
        result = run(args.corpus, queries, peers, sizes, args.growth_queries, Path(work), args.build_only, args.rounds)
    print(json.dumps(result, ensure_ascii=False) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
