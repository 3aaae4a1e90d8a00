"""Faults an operator meets: file names that are not UTF-8, unreadable directories, an empty or
unreadable corpus root, a full disk, many concurrent clients, oversized and idle connections.

Reading permissions are tested in a child process without the capabilities that let root
read anything (``setpriv``), as CI runs as root; the full disk on a small tmpfs, which only
root can mount.
"""

from __future__ import annotations

import errno
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import pytest
import uvicorn

from conftest import copy_sample
from mikke import Config, MikkeError, Searcher, update_index
from mikke._parallel import PARALLEL_MIN_POSTS
from mikke._postings import TEMPORARY_SUFFIX, PostingsWriter
from mikke._server import MAX_HEAD_BYTES, LimitedProtocol
from mikke.web import create_app

BAD_NAME = os.fsdecode(b"bad\xff.md")  # as os.listdir gives a Shift_JIS or Latin-1 name
BAD_SHOWN = "bad\\xff.md"
NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search"]
#: The server's resident memory must stay under this with 20 concurrent clients (issue 19: 600 MiB on
#: react-ja; one Sudachi dictionary per thread took 3.0 GB there).
MEMORY_BOUND = 600 * 2**20
MIKKE = [sys.executable, "-c", "from mikke.cli import main; main()"]


def post(title: str, body: str) -> str:
    return f"---\ntitle: {title}\n---\n\n{body}\n"


def corpus(root: Path, posts: int, under: str = "") -> Config:
    """``posts`` small posts (half of them under ``under``/ when given) and one with a bad name."""
    base = root / "corpus"
    for n in range(posts):
        folder = base / under if under and n % 2 else base
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"post{n:03d}.md").write_text(post(f"記事{n}", f"液体冷却の記事{n}です。サーバー{n}台。"), "utf-8")
    (base / BAD_NAME).write_text(post("壊れた名前", "液体冷却。"), "utf-8")
    return Config(corpus=base, index=root / "index")


def mikke(config: Config, *args: str, user: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ``mikke`` command (as ``user`` prefix, e.g. without root's read-anything capabilities),
    the corpus given by ``MIKKE_CORPUS`` (``--corpus`` refuses an unreadable directory itself)."""
    command = [*(user or []), *MIKKE, "--index", str(config.index), *args]
    env = {**os.environ, "MIKKE_CORPUS": str(config.corpus)}
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


def indexed(config: Config) -> set[str]:
    searcher = Searcher(config)
    try:
        return {hit.path for hit in searcher.search("液体冷却", limit=100).hits}
    finally:
        searcher.close()


def can_drop_read_rights(tmp_path: Path) -> str:
    """Why reading permissions cannot be tested here ("" when they can)."""
    if os.geteuid() != 0:
        return ""  # not root: chmod alone blocks reads
    if not shutil.which("setpriv"):
        return "running as root and setpriv (util-linux) is missing: root reads any directory"
    locked = tmp_path / "probe"
    locked.mkdir()
    locked.chmod(0)
    try:
        probe = subprocess.run([*NO_DAC, "ls", str(locked)], capture_output=True)
    finally:
        locked.chmod(0o755)
    return "" if probe.returncode else "running as root and setpriv could not drop CAP_DAC_READ_SEARCH"


@pytest.fixture
def no_read_rights(tmp_path: Path) -> list[str]:
    """The command prefix that makes a child process subject to file permissions."""
    reason = can_drop_read_rights(tmp_path)
    if reason:
        pytest.skip(reason)
    return NO_DAC if os.geteuid() == 0 else []


# --- file names ---------------------------------------------------------------------


@pytest.mark.parametrize("posts", [5, PARALLEL_MIN_POSTS])  # a first build, in one process and in parallel
def test_a_name_that_is_not_utf8_is_skipped_and_listed(tmp_path: Path, posts: int) -> None:
    config = corpus(tmp_path, posts)
    first = mikke(config, "index", "--quiet")
    assert first.returncode == 3, first.stderr
    assert first.stderr == f"skipped {BAD_SHOWN}: file name is not valid UTF-8\n"
    assert len(indexed(config)) == min(posts, 100)
    (config.corpus / "post000.md").write_text(post("更新", "液体冷却を更新。"), "utf-8")
    (config.corpus / "new.md").write_text(post("新規", "液体冷却の新記事。"), "utf-8")
    again = mikke(config, "index", "--json")  # the incremental path
    assert again.returncode == 3, again.stderr
    report = json.loads(again.stdout)
    assert (report["added"], report["updated"], report["skipped"]) == (
        1,
        1,
        [{"path": BAD_SHOWN, "reason": "file name is not valid UTF-8"}],
    )
    assert "new.md" in indexed(config)


# --- unreadable directories and the mass-delete guard ----------------------------------


def test_posts_under_an_unreadable_directory_stay(tmp_path: Path, no_read_rights: list[str]) -> None:
    config = corpus(tmp_path, 10, under="private")
    assert mikke(config, "index").returncode == 3
    private = config.corpus / "private"
    private.chmod(0)
    try:
        run = mikke(config, "index", user=no_read_rights)
        rebuild = mikke(config, "index", "--full", user=no_read_rights)
    finally:
        private.chmod(0o755)
    assert run.returncode == 3, run.stderr
    assert "skipped private/: cannot read directory: Permission denied (5 indexed posts under it kept)" in run.stderr
    assert "0 deleted" in run.stdout
    assert rebuild.returncode == 1
    assert rebuild.stderr == (
        "Error: refusing to delete 5 of the 10 posts in the index: a rebuild cannot keep the posts under "
        "directories that cannot be read: private/ (Permission denied); check the corpus, or pass "
        "--allow-mass-delete to delete them\n"
    )
    assert len(indexed(config)) == 10


def test_an_indexed_post_whose_file_cannot_be_read_stays(tmp_path: Path, no_read_rights: list[str]) -> None:
    config = corpus(tmp_path, 4)
    assert mikke(config, "index").returncode == 3
    locked = config.corpus / "post001.md"
    locked.chmod(0)
    try:
        run = mikke(config, "index", "--json", user=no_read_rights)
    finally:
        locked.chmod(0o644)
    assert run.returncode == 3, run.stderr
    report = json.loads(run.stdout)
    assert (report["deleted"], report["unchanged"], report["passages"]) == (0, 3, 4)
    assert {"path": "post001.md", "reason": "cannot read file: Permission denied (its indexed version kept)"} in (
        report["skipped"]
    )
    assert "post001.md" in indexed(config)


def test_an_unreadable_corpus_root_deletes_nothing(tmp_path: Path, no_read_rights: list[str]) -> None:
    config = corpus(tmp_path, 6)
    assert mikke(config, "index").returncode == 3
    config.corpus.chmod(0)
    try:
        run = mikke(config, "index", user=no_read_rights)
        rebuild = mikke(config, "index", "--full", user=no_read_rights)
    finally:
        config.corpus.chmod(0o755)
    # Its _config.yml cannot be read either, so no URL could be trusted: both runs refuse.
    for refused in (run, rebuild):
        assert refused.returncode == 1, refused.stderr
        assert f"Error: the corpus directory {config.corpus} cannot be read (Permission denied)" in refused.stderr
    assert len(indexed(config)) == 6


def test_an_empty_corpus_root_needs_allow_mass_delete(tmp_path: Path) -> None:
    config = corpus(tmp_path, 6)
    assert mikke(config, "index").returncode == 3
    for path in config.corpus.iterdir():  # an unmounted mount point: the directory is there, empty
        path.unlink()
    for args in (["index"], ["index", "--full"]):
        refused = mikke(config, *args)
        assert refused.returncode == 1
        assert refused.stderr == (
            f"Error: refusing to delete 6 of the 6 posts in the index: the corpus directory {config.corpus} has "
            "no posts (empty, or a mount point not mounted?); check the corpus, or pass --allow-mass-delete to "
            "delete them\n"
        )
        assert len(indexed(config)) == 6
    allowed = mikke(config, "index", "--allow-mass-delete")
    assert allowed.returncode == 0 and "6 deleted" in allowed.stdout
    assert indexed(config) == set()


def test_deleting_up_to_half_needs_no_option_and_a_missing_root_is_an_error(tmp_path: Path) -> None:
    config = corpus(tmp_path, 6)
    update_index(config)
    for n in range(3):
        (config.corpus / f"post{n:03d}.md").unlink()
    assert update_index(config).deleted == 3  # half: allowed
    (config.corpus / "post003.md").unlink()
    (config.corpus / "post004.md").unlink()
    refused = mikke(config, "index")
    assert refused.returncode == 1 and "refusing to delete 2 of the 3 posts" in refused.stderr
    assert "they are no longer in" in refused.stderr and "(1 posts found there)" in refused.stderr
    shutil.rmtree(config.corpus)
    missing = mikke(config, "index")
    assert missing.returncode == 1
    assert missing.stderr == f"Error: corpus directory not found: {config.corpus} (set --corpus or MIKKE_CORPUS)\n"
    assert len(indexed(config)) == 3


# --- a full disk --------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (root only)."""
    if os.geteuid() != 0:
        pytest.skip("a full disk is tested on a small tmpfs, which only root can mount")
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True)
    if mount.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def fill(disk: Path) -> None:
    """Leave a few KiB free on ``disk``."""
    free = shutil.disk_usage(disk).free
    (disk / "filler").write_bytes(b"\0" * max(0, free - 8192))


def test_a_full_disk_gives_one_line_and_leaves_no_files(tmp_path: Path, small_disk: Path) -> None:
    config = corpus(tmp_path, PARALLEL_MIN_POSTS)
    config = Config(corpus=config.corpus, index=small_disk / "index")
    (small_disk / "filler").write_bytes(b"\0" * (shutil.disk_usage(small_disk).free - 64 * 1024))
    first = mikke(config, "index")  # the parallel first build: its workers hit the full disk
    error = f"Error: cannot update the index in {config.index}: No space left on device\n"
    assert (first.returncode, first.stderr) == (1, error)
    assert sorted(os.listdir(config.index)) == [".mikke.lock", "MAIN_WRITELOCK"]

    (small_disk / "filler").unlink()
    assert mikke(config, "index").returncode == 3
    before = sorted(os.listdir(config.index))
    fill(small_disk)
    for n in range(0, PARALLEL_MIN_POSTS, 2):  # an update in one process: whoosh's segment writer
        (config.corpus / f"post{n:03d}.md").write_text(post(f"更新{n}", "液体冷却を更新しました。" * 50), "utf-8")
    for args in (["index"], ["index", "--full"]):  # and a parallel rebuild over the index
        failed = mikke(config, *args)
        assert (failed.returncode, failed.stderr) == (1, error), args
        assert sorted(os.listdir(config.index)) == before, args
    assert len(indexed(config)) == 100  # the index before the failed jobs, intact


@pytest.mark.parametrize("where", ["postings copy", "mikke.json"])
def test_a_full_disk_at_each_file_leaves_no_temporary_files(
    tmp_path: Path, where: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """ENOSPC injected where mikke writes its own files: in the parallel workers' postings
    copies (a first build of many posts), and in ``mikke.json``, each half-written first."""
    config = corpus(tmp_path, PARALLEL_MIN_POSTS)

    def full_disk(path: Path) -> None:
        path.write_bytes(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if where == "postings copy":
        monkeypatch.setattr(
            PostingsWriter, "write", lambda self, path: full_disk(path.with_name(path.stem + TEMPORARY_SUFFIX))
        )
    else:
        write_text = Path.write_text

        def write_meta(path: Path, *args: Any, **kwargs: Any) -> int:
            if path.name == "mikke.json.tmp":
                full_disk(path)
            return write_text(path, *args, **kwargs)

        monkeypatch.setattr(Path, "write_text", write_meta)
    with pytest.raises(MikkeError) as failed:
        update_index(config)
    assert str(failed.value) == f"cannot update the index in {config.index}: No space left on device"
    assert not any(name.endswith(".tmp") or name == ".mikke-new" for name in os.listdir(config.index))
    assert "Traceback" not in capfd.readouterr().err  # none from the workers either
    monkeypatch.undo()
    assert update_index(config).added == PARALLEL_MIN_POSTS


# --- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Config:
    root = tmp_path_factory.mktemp("served")
    config = Config(corpus=copy_sample(root / "corpus"), index=root / "index")
    update_index(config)
    return config


QUERIES = ["液体冷却", "データセンター", "AI インフラ", "資金調達", "GPU", "電力", "ヨーロッパ", "サーバー"]


def test_server_memory_stays_bounded_under_20_clients(served: Config) -> None:
    port = free_port()
    command = [*MIKKE, "--corpus", str(served.corpus), "--index", str(served.index)]
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--no-access-log"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(port, server)
        process = psutil.Process(server.pid)
        peak = 0

        def client(n: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            for query in QUERIES * 3:
                connection.request("GET", "/api/search?q=" + quote(query))
                response = connection.getresponse()
                assert response.status == 200
                response.read()
            connection.close()

        clients = [threading.Thread(target=client, args=(n,)) for n in range(20)]
        for thread in clients:
            thread.start()
        while any(thread.is_alive() for thread in clients):
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.05)
        for thread in clients:
            thread.join()
        peak = max(peak, process.memory_info().rss)
        assert peak < MEMORY_BOUND, f"peak RSS {peak / 2**20:.0f} MiB with 20 clients"
        assert process.num_threads() < 20  # the thread pool is bounded
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_until_up(port: int, server: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if server.poll() is not None:
            raise AssertionError(f"mikke serve exited with {server.returncode}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    raise AssertionError("mikke serve did not start")


class QuickProtocol(LimitedProtocol):
    head_timeout = 1.0


@pytest.fixture(scope="module")
def uvicorn_port(served: Config) -> Iterator[int]:
    """A real uvicorn on 127.0.0.1 with mikke's limits (a 1 s head timeout, 1 s keep-alive)."""
    port = free_port()
    config = uvicorn.Config(
        create_app(served),
        host="127.0.0.1",
        port=port,
        http=QuickProtocol,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        timeout_keep_alive=1,
        log_level="critical",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(600):
        if server.started:
            break
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(timeout=30)


def exchange(port: int, data: bytes) -> bytes:
    """Send ``data`` and read the answer until the server closes (a reset fails the test)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(data)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def error_of(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_an_oversized_url_gets_414(uvicorn_port: int) -> None:
    url = "/api/search?q=" + "a" * 2**20
    status, body = error_of(exchange(uvicorn_port, f"GET {url} HTTP/1.1\r\nHost: x\r\n\r\n".encode()))
    assert status == 414
    message = f"URL too long: the request line is over {MAX_HEAD_BYTES} bytes"
    assert body == {"ok": False, "code": "uri_too_long", "error": message}


def test_oversized_headers_get_431(uvicorn_port: int) -> None:
    request = b"GET /api/search?q=AI HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 200_000 + b"\r\n\r\n"
    status, body = error_of(exchange(uvicorn_port, request))
    assert status == 431
    assert body["code"] == "headers_too_large" and body["ok"] is False


def test_a_normal_request_passes(uvicorn_port: int) -> None:
    answer = exchange(uvicorn_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connected, silent
        b"GET /api/search?q=AI HTTP/1.1\r\nHost: x\r\n",  # a half-sent head (slowloris)
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",  # answered, then idle on keep-alive
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\n",  # answered, then half-sent
    ],
)
def test_idle_and_half_sent_connections_are_closed(uvicorn_port: int, sent: bytes) -> None:
    bound = time.monotonic() + 30  # the limits are 1 s here; a connection still open after 30 s fails
    with socket.create_connection(("127.0.0.1", uvicorn_port), timeout=0.2) as connection:
        connection.sendall(sent)
        answer = b""
        while time.monotonic() < bound:
            try:
                chunk = connection.recv(65536)
            except TimeoutError:
                if sent.endswith(b"\r\n") and not sent.endswith(b"\r\n\r\n"):
                    connection.sendall(b"X")  # a slowloris trickle does not keep it open
                continue
            if not chunk:
                break
            answer += chunk
        else:
            raise AssertionError("the connection was still open after 30 s")
    assert answer.count(b"HTTP/1.1 200 ") == sent.count(b"/healthz HTTP/1.1\r\nHost: x\r\n\r\n")


def test_threads_share_one_dictionary_and_analyse_at_once() -> None:
    from mikke._analysis import _dictionary, chunk_terms

    texts = [f"東京都{n}区のデータセンターで液体冷却を試験した" for n in range(40)]
    expected = {text: chunk_terms.__wrapped__(text) for text in texts}
    dictionaries, results = set(), {}

    def work(n: int) -> None:
        dictionaries.add(id(_dictionary()))
        for text in texts[n::8] * 20:
            results[text] = chunk_terms.__wrapped__(text)  # uncached: Sudachi runs in every call

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == expected
    assert len(dictionaries) == 1
