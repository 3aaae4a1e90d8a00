"""HTTP load on ``mikke serve``: requests per second and latency over loopback.

For each corpus: index it into a temp directory; for each instance count N,
start N ``mikke serve`` processes on free loopback ports over that index (as
behind an nginx upstream), then send a bounded number of ``GET /api/search``
requests from a few concurrent clients (one keep-alive connection each, spread
over the instances), the queries taken in turn from a question file. Prints
requests/s, p50/p95/max latency (client side, whole round trip), the server's
own search time (``took_ms``) and the error count (any status but 200, or a
failed request).

    python bench/http_load.py
    python bench/http_load.py --corpus ../shared/data/sites/chrome-dev-ja --requests 2000 --clients 8 --instances 2
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

from mikke import Config, update_index

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
DEFAULT_CORPORA = [REPO / "corpus", DATA / "sites" / "react-ja"]
DEFAULT_QUERIES = DATA / "questions" / "niilc" / "questions.jsonl"
TOOK = re.compile(rb'"took_ms":\s*([0-9.]+)')


def load_queries(path: Path, count: int) -> list[str]:
    """The first ``count`` questions: ``text`` of each JSON line, or plain lines."""
    queries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            queries.append(json.loads(line)["text"] if line.startswith("{") else line.strip())
        if len(queries) == count:
            break
    return queries


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(config: Config, port: int) -> subprocess.Popen[bytes]:
    """``mikke serve`` in a subprocess, returned once /healthz answers."""
    command = [sys.executable, "-c", "from mikke.cli import main; main()", "--corpus", str(config.corpus)]
    command += [
        "--index",
        str(config.index),
        "serve",
        "--port",
        str(port),
        "--no-access-log",
    ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"mikke serve did not start on port {port}")


def client(port: int, paths: list[str], latencies: list[float], took: list[float], errors: list[str]) -> None:
    """Send ``paths`` in order over one keep-alive connection; ``took`` gets the server's ``took_ms``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for path in paths:
        started = time.perf_counter()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                errors.append(f"{response.status} {path}")
            elif match := TOOK.search(body):
                took.append(float(match.group(1)))
        except (OSError, http.client.HTTPException) as error:
            errors.append(f"{error!r} {path}")
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies.append((time.perf_counter() - started) * 1000)
    connection.close()


def run_load(ports: list[int], queries: list[str], requests: int, clients: int) -> dict[str, Any]:
    """``requests`` searches split over ``clients`` threads (client i talks to ``ports[i % len(ports)]``)."""
    paths = [f"/api/search?q={urllib.parse.quote(queries[i % len(queries)])}&limit=10" for i in range(requests)]
    latencies: list[float] = []
    took: list[float] = []
    errors: list[str] = []
    threads = [
        threading.Thread(target=client, args=(ports[i % len(ports)], paths[i::clients], latencies, took, errors))
        for i in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "requests": requests,
        "clients": clients,
        "rps": round(requests / seconds, 1),
        "p50_ms": round(cuts[49], 1),
        "p95_ms": round(cuts[94], 1),
        "max_ms": round(max(latencies), 1),
        "search_p50_ms": round(statistics.median(took), 1) if took else None,
        "search_p95_ms": round(statistics.quantiles(took, n=100)[94], 1) if len(took) > 1 else None,
        "errors": len(errors),
        "first_errors": errors[:5],
    }


def bench_corpus(corpus: Path, queries: list[str], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Index ``corpus`` once, then load each number of server instances in turn."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="mikke-http-") as tmp:
        config = Config(corpus=corpus, index=Path(tmp) / "index")
        report = update_index(config)
        for instances in args.instances:
            ports = [free_port() for _ in range(instances)]
            servers = [start_server(config, port) for port in ports]
            try:
                run_load(ports, queries, args.warmup, args.clients)
                result = run_load(ports, queries, args.requests, args.clients)
            finally:
                for server in servers:
                    server.terminate()
                    server.wait(timeout=30)
            rows.append(
                {
                    "corpus": corpus.name,
                    "posts": report.added,
                    "passages": report.passages,
                    "instances": instances,
                    **result,
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, action="append", help="Corpus directory (repeatable).")
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES, help="Questions (.jsonl with text, or lines).")
    parser.add_argument("--distinct", type=int, default=500, help="Distinct queries taken from the file.")
    parser.add_argument("--requests", type=int, default=1000, help="Measured requests per corpus.")
    parser.add_argument("--clients", type=int, default=4, help="Concurrent clients.")
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2], help="Server processes, one run each.")
    parser.add_argument("--warmup", type=int, default=100, help="Unmeasured requests first.")
    parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
    args = parser.parse_args()
    queries = load_queries(args.queries, args.distinct)
    rows = [row for corpus in (args.corpus or DEFAULT_CORPORA) for row in bench_corpus(corpus, queries, args)]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    print(f"{len(queries)} distinct queries from {args.queries.name}, {args.clients} clients, loopback")
    columns = ["corpus", "posts", "passages", "instances", "requests", "rps", "p50_ms", "p95_ms", "max_ms"]
    columns += ["search_p50_ms", "search_p95_ms", "errors"]
    print("| " + " | ".join(columns) + " |")
    print("|---" + "|---:" * (len(columns) - 1) + "|")
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")
        for error in row["first_errors"]:
            print(f"  error: {error}", file=sys.stderr)


if __name__ == "__main__":
    main()
