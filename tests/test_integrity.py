"""A damaged index is reported, never searched, and repaired by the next ``mikke index``.

Each kind of file (whoosh's table of contents and segment, the postings copy, ``mikke.json``)
is damaged in place at the same size, truncated and deleted; ``mikke check`` names it, a
search exits 1 with one line, the API answers 503 ``index_corrupt``, and ``mikke index``
repairs it, after which the results are those of before. A live server notices an index
deleted and built again, and one truncated under it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC

from conftest import FUTURE_POST, IMPACT_POST, SAMPLE_POSTS
from mikke import Config, IndexCorruptError, Searcher, update_index
from mikke._store import INDEX_NAME, META_FILE, check, read_meta, read_toc
from mikke.cli import main
from mikke.web import create_app

QUERIES = ["液体冷却", "データセンター", "GPU", "AIインフラの将来はどうなるのか"]

Damage = Callable[[Path], None]


def flip_middle(file: Path) -> None:
    """32 bytes in the middle of the file inverted: the same size, different content."""
    data = bytearray(file.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 32] = bytes(255 - byte for byte in data[middle : middle + 32])
    file.write_bytes(bytes(data))


def zero_middle(file: Path) -> None:
    """A quarter of the file zeroed in the middle, at the same size."""
    data = bytearray(file.read_bytes())
    quarter = len(data) // 4
    data[quarter : 2 * quarter] = bytes(quarter)
    file.write_bytes(bytes(data))


def truncate(file: Path) -> None:
    """The file cut to two thirds, in place (the same inode, as a crashed copy leaves it)."""
    with open(file, "r+b") as handle:
        handle.truncate(file.stat().st_size * 2 // 3)


def delete(file: Path) -> None:
    file.unlink()


def garbage(file: Path) -> None:
    file.write_bytes(b"\x00garbage" * 50)


DAMAGES: dict[str, Damage] = {
    "flipped": flip_middle,
    "zeroed": zero_middle,
    "truncated": truncate,
    "deleted": delete,
    "garbage": garbage,
}
#: Which file of the index each kind names: a glob in the index directory.
KINDS = {"toc": "_MAIN_*.toc", "seg": "MAIN_*.seg", "postings": "MAIN_*.postings", "meta": META_FILE}


def build(root: Path) -> Config:
    """The sample posts indexed in two runs (two segments, each with its postings copy)."""
    corpus = root / "corpus"
    (corpus / "_posts").mkdir(parents=True)
    config = Config(corpus=corpus, index=root / "index")
    shutil.copy(SAMPLE_POSTS.parent / FUTURE_POST, corpus / FUTURE_POST)
    update_index(config)
    shutil.copy(SAMPLE_POSTS.parent / IMPACT_POST, corpus / IMPACT_POST)
    update_index(config)
    assert len(list(config.index.glob("*.seg"))) == 2
    return config


def results(config: Config) -> list[list[tuple[str, str, float, str]]]:
    searcher = Searcher(config)
    try:
        found = [searcher.search(q, limit=50).hits for q in QUERIES]
    finally:
        searcher.close()
    return [[(h.path, h.anchor, h.score, h.snippet.text) for h in hits] for hits in found]


def cli(config: Config, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--corpus", str(config.corpus), "--index", str(config.index), *args])
    return result.exit_code, result.stdout, result.stderr


def call(app: Any, url: str) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mikke.test") as client:
            return await client.get(url)

    return asyncio.run(send())


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, list[list[tuple[str, str, float, str]]]]:
    config = build(tmp_path_factory.mktemp("pristine"))
    return config, results(config)


@pytest.fixture
def copy(pristine: tuple[Config, Any], tmp_path: Path) -> Config:
    """A copy of the pristine index and its corpus, to damage."""
    config, _ = pristine
    shutil.copytree(config.corpus, tmp_path / "corpus")
    shutil.copytree(config.index, tmp_path / "index")
    return Config(corpus=tmp_path / "corpus", index=tmp_path / "index")


def test_a_search_notices_the_next_table_of_contents_before_the_old_one_goes(copy: Config) -> None:
    searcher = Searcher(copy)
    old = searcher.current()
    toc = read_toc(copy.index)
    assert searcher.current() is old  # nothing changed
    # A commit in another process: the next table of contents is written, the old one not deleted yet.
    TOC(toc.schema, toc.segments, toc.generation + 1).write(FileStorage(str(copy.index)), INDEX_NAME)
    assert (copy.index / f"_MAIN_{toc.generation}.toc").exists()
    assert searcher.current() is not old
    assert searcher.search("液体冷却").hits
    searcher.close()


def test_a_clean_index_checks_clean(copy: Config) -> None:
    code, out, _ = cli(copy, "check")
    assert code == 0 and out.startswith("clean: ") and out.count("\n") == 1, out
    assert "2 segments" in out and "6 files" in out, out


@pytest.mark.parametrize("damage", ["flipped", "zeroed", "truncated", "deleted"])
@pytest.mark.parametrize("kind", ["toc", "seg", "postings", "meta"])
def test_each_damaged_file_is_named_reported_and_repaired(
    copy: Config, pristine: tuple[Config, Any], kind: str, damage: str
) -> None:
    _, before = pristine
    file = sorted(copy.index.glob(KINDS[kind]))[-1]
    DAMAGES[damage](file)

    code, out, _ = cli(copy, "check")
    assert code == 1 and out.startswith("corrupt: ") and file.name in out and out.count("\n") == 1, out

    code, out, err = cli(copy, "search", "データセンター")
    assert code == 1 and out == "", out
    assert err.count("\n") == 1 and file.name in err and "`mikke index`" in err, err

    app = create_app(copy)
    for url in ("/api/search?q=GPU", "/api/facets?q=GPU", "/healthz"):
        response = call(app, url)
        assert response.status_code == 503, (url, response.text)
        body = response.json()
        assert body["ok"] is False and body["code"] == "index_corrupt" and file.name in body["error"]

    code, out, err = cli(copy, "index")
    assert code == 0, err
    assert file.name in err and ("Repaired: " in err or "Full rebuild: " in err), err
    assert cli(copy, "check")[0] == 0
    assert results(copy) == before
    for url in ("/api/search?q=GPU", "/healthz"):  # the same app, without a restart
        assert call(app, url).status_code == 200


@pytest.mark.parametrize(
    ("kind", "repair"),
    [
        ("postings", "Repaired: MAIN_"),  # the copy written again from its segment
        ("seg", "its posts are indexed again"),  # the segment dropped, its posts indexed again
        ("toc", "Full rebuild: _MAIN_"),  # nothing to go by: everything
        ("meta", "Full rebuild: mikke.json"),
    ],
)
def test_index_says_what_it_repaired(copy: Config, kind: str, repair: str) -> None:
    flip_middle(sorted(copy.index.glob(KINDS[kind]))[0])
    code, out, err = cli(copy, "index")
    assert code == 0 and repair in err, err
    if kind == "seg":
        assert "1 added" in out and "1 unchanged" in out, out


def test_zeroed_postings_never_give_different_results(copy: Config) -> None:
    searcher = Searcher(copy)
    assert searcher.search("データセンター").total > 0
    for file in copy.index.glob("*.postings"):
        zero_middle(file)
    with pytest.raises(IndexCorruptError, match=r"MAIN_\w+\.postings fails its checksum"):
        searcher.search("データセンター")
    searcher.close()


def test_garbage_table_of_contents_and_index_full(copy: Config, pristine: tuple[Config, Any]) -> None:
    _, before = pristine
    garbage(next(copy.index.glob("_MAIN_*.toc")))
    code, _, err = cli(copy, "search", "GPU")
    assert code == 1 and err.count("\n") == 1 and ".toc" in err, err
    code, _, err = cli(copy, "index", "--full")
    assert code == 0 and "Full rebuild: _MAIN_" in err, err
    assert results(copy) == before
    assert cli(copy, "check")[0] == 0


def test_a_rebuild_from_scratch_gets_a_new_identity(copy: Config) -> None:
    first = read_meta(copy.index)["index_id"]
    update_index(copy)
    assert read_meta(copy.index)["index_id"] == first  # an update keeps it
    shutil.rmtree(copy.index)
    update_index(copy)
    assert read_meta(copy.index)["index_id"] != first


def test_a_long_lived_searcher_notices_an_index_deleted_and_built_again(copy: Config) -> None:
    searcher = Searcher(copy)
    assert searcher.search("データセンター").total > 0
    generation = read_meta(copy.index)["generation"]
    shutil.rmtree(copy.index)
    (copy.corpus / IMPACT_POST).unlink()  # the new index holds one post only
    update_index(copy)
    assert read_meta(copy.index)["generation"] <= generation  # the generation number alone would not tell
    paths = {hit.path for hit in searcher.search("データセンター", limit=50).hits}
    assert paths == {FUTURE_POST}
    searcher.close()


def test_the_checksums_cover_mikke_json_itself(copy: Config) -> None:
    text = (copy.index / META_FILE).read_text(encoding="utf-8")
    (copy.index / META_FILE).write_text(text.replace('"base_url": ""', '"base_url": "x"'), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match=r"mikke\.json fails its checksum"):
        check(copy.index)


def test_a_damaged_new_generation_is_503_everywhere_until_repaired(copy: Config) -> None:
    app = create_app(copy)
    assert call(app, "/healthz").status_code == 200
    post = copy.corpus / FUTURE_POST
    post.write_text(post.read_text(encoding="utf-8") + "\n\n液浸冷却の追記。\n", encoding="utf-8")
    before = {path.name for path in copy.index.glob("*.seg")}
    update_index(copy)
    new = next(path for path in copy.index.glob("*.seg") if path.name not in before)
    flip_middle(new)
    for url in ("/api/search?q=液浸冷却", "/api/facets?q=GPU", "/healthz"):
        response = call(app, url)
        assert response.status_code == 503 and response.json()["code"] == "index_corrupt", response.text
        assert new.name in response.json()["error"]
    update_index(copy)
    assert call(app, "/healthz").status_code == 200
    hits = call(app, "/api/search?q=液浸冷却").json()["hits"]
    assert {hit["post"]["path"] for hit in hits} == {FUTURE_POST}


# --- a live server (a real uvicorn process) ------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(copy: Config) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = ["--corpus", str(copy.corpus), "--index", str(copy.index), "serve", "--port", str(port)]
    process = subprocess.Popen(
        [sys.executable, "-c", "from mikke.cli import main; main()", *command, "--no-access-log"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    try:
        yield base
        assert process.poll() is None, "the server died"
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
        assert "Traceback" not in output, output


def test_a_file_truncated_under_a_live_server(server: str, copy: Config, pristine: tuple[Config, Any]) -> None:
    before = httpx.get(f"{server}/api/search", params={"q": "データセンター", "limit": 50}).json()
    for file in copy.index.glob("MAIN_*.*"):
        truncate(file)
    for url in ("/api/search?q=データセンター", "/api/search?q=冷却", "/healthz"):
        response = httpx.get(server + url)
        assert response.status_code == 503 and response.json()["code"] == "index_corrupt", response.text
    code, _, err = cli(copy, "index")
    assert code == 0, err
    after = httpx.get(f"{server}/api/search", params={"q": "データセンター", "limit": 50}).json()
    assert [hit["post"]["path"] for hit in after["hits"]] == [hit["post"]["path"] for hit in before["hits"]]
    assert httpx.get(f"{server}/healthz").status_code == 200


def test_an_index_deleted_and_built_again_under_a_live_server(server: str, copy: Config) -> None:
    assert httpx.get(f"{server}/api/search", params={"q": "データセンター"}).json()["total"] > 0
    shutil.rmtree(copy.index)
    response = httpx.get(f"{server}/api/search", params={"q": "データセンター"})
    assert response.status_code == 503 and response.json()["code"] == "index_unavailable"
    (copy.corpus / IMPACT_POST).unlink()
    update_index(copy)
    data = httpx.get(f"{server}/api/search", params={"q": "データセンター", "limit": 50}).json()
    assert {hit["post"]["path"] for hit in data["hits"]} == {FUTURE_POST}
