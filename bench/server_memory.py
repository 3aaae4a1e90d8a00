"""Resident memory of ``mikke serve`` under concurrent clients, and after the load.

Indexes the corpus into a temp directory (or uses ``--index``), starts one ``mikke serve``
on a free loopback port, and for each client count sends the questions (NIILC's 1,000 by
default) as ``GET /api/search``, spread over that many concurrent keep-alive connections,
sampling the server's RSS (psutil) every 20 ms. Prints, for each count, the RSS before,
the peak during the load and the RSS after it (once the load has stopped for ``--settle``
seconds), the requests and the errors (any status but 200).

    python bench/server_memory.py
    python bench/server_memory.py ../shared/data/sites/react-ja --clients 1 6 20
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import psutil

from mikke import Config, update_index

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
DEFAULT_CORPUS = DATA / "sites" / "react-ja"
DEFAULT_QUESTIONS = DATA / "questions" / "niilc" / "questions.jsonl"
MIB = 2**20


def load_questions(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    if path.suffix == ".jsonl":
        return [json.loads(line)["text"] for line in lines if line.strip()]
    return [line for line in lines if line.strip()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(corpus: Path, index: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", "from mikke.cli import main; main()", "--corpus", str(corpus)]
    server = subprocess.Popen(
        [*command, "--index", str(index), "serve", "--port", str(port), "--no-access-log"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(1200):
        if server.poll() is not None:
            raise SystemExit(f"mikke serve exited with {server.returncode}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    raise SystemExit("mikke serve did not start")


def load(port: int, questions: list[str], clients: int) -> tuple[int, int]:
    """Send every question once over ``clients`` connections; (requests, errors)."""
    errors = [0] * clients

    def client(n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        for question in questions[n::clients]:
            try:
                connection.request("GET", "/api/search?q=" + urllib.parse.quote(question[:500]))
                response = connection.getresponse()
                response.read()
                errors[n] += response.status != 200
            except OSError:
                errors[n] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(questions), sum(errors)


def measure(process: psutil.Process, port: int, questions: list[str], clients: int, settle: float) -> dict[str, Any]:
    before = process.memory_info().rss
    peak = before
    done = threading.Event()
    result: list[tuple[int, int]] = []
    runner = threading.Thread(target=lambda: (result.append(load(port, questions, clients)), done.set()))
    started = time.perf_counter()
    runner.start()
    while not done.wait(0.02):
        peak = max(peak, process.memory_info().rss)
    runner.join()
    seconds = time.perf_counter() - started
    time.sleep(settle)
    requests, errors = result[0]
    return {
        "clients": clients,
        "before_mib": round(before / MIB, 1),
        "peak_mib": round(peak / MIB, 1),
        "after_mib": round(process.memory_info().rss / MIB, 1),
        "threads_after": process.num_threads(),
        "requests": requests,
        "errors": errors,
        "seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, nargs="?", default=DEFAULT_CORPUS, help="Corpus directory.")
    parser.add_argument("--index", type=Path, help="An index of the corpus (default: built in a temp directory).")
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS, help="Questions (.jsonl with text).")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 6, 20], help="Concurrent clients, one run each.")
    parser.add_argument("--settle", type=float, default=2.0, help="Seconds after a load before 'after' is read.")
    parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
    args = parser.parse_args()
    questions = load_questions(args.questions)
    with tempfile.TemporaryDirectory() as temp:
        index = args.index or Path(temp) / "index"
        if args.index is None:
            update_index(Config(corpus=args.corpus, index=index))
        port = free_port()
        server = start_server(args.corpus, index, port)
        try:
            process = psutil.Process(server.pid)
            started = round(process.memory_info().rss / MIB, 1)
            rows = [measure(process, port, questions, clients, args.settle) for clients in args.clients]
        finally:
            server.terminate()
            server.wait(timeout=30)
    if args.json:
        print(json.dumps({"corpus": str(args.corpus), "started_mib": started, "runs": rows}, indent=2))
        return
    print(f"corpus {args.corpus}: {len(questions)} questions; RSS after start (warm-up query) {started} MiB")
    header = ("clients", 7), ("before", 8), ("peak", 8), ("after", 8), ("threads", 7), ("requests", 8), ("errors", 6)
    print(" ".join(f"{name:>{width}}" for name, width in header) + f" {'s':>6}")
    for row in rows:
        print(
            f"{row['clients']:>7} {row['before_mib']:>8} {row['peak_mib']:>8} {row['after_mib']:>8} "
            f"{row['threads_after']:>7} {row['requests']:>8} {row['errors']:>6} {row['seconds']:>6}"
        )


if __name__ == "__main__":
    main()
