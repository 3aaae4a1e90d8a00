"""Hostile files: each time the rest of the corpus is indexed and the bad file is reported.

``mikke index`` exits 3 when it skipped files (each listed on stderr with its reason)
and 0 when everything was indexed; empty and front-matter-only files are valid posts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mikke import Config, Searcher, load_post
from mikke._corpus import MAX_POST_BYTES, MAX_POST_LINES
from mikke._markdown import MAX_PASSAGE_CHARS
from mikke.cli import main

GOOD = "_posts/2025-01-01-good.md"
GOOD_TEXT = "---\ntitle: 良い記事\ntags: [冷却]\n---\n# 液体冷却\n\nデータセンターの液体冷却について書きます。\n"

MakeCorpus = Callable[[dict[str, str | bytes]], Config]


def index(config: Config) -> tuple[int, dict[str, Any], str]:
    """``mikke index --json`` on ``config``: exit code, the JSON report, stderr."""
    args = ["--corpus", str(config.corpus), "--index", str(config.index), "index", "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, json.loads(result.stdout), result.stderr


def assert_good_post_searchable(config: Config) -> None:
    searcher = Searcher(config)
    try:
        hits = searcher.search("液体冷却").hits
    finally:
        searcher.close()
    assert hits and hits[0].path == GOOD


def assert_skipped(config: Config, path: str, reason: str) -> None:
    """The run exits 3, lists exactly ``path`` with a reason containing ``reason``, indexes the rest."""
    code, report, stderr = index(config)
    assert code == 3, stderr
    assert [(s["path"], reason in s["reason"]) for s in report["skipped"]] == [(path, True)], report["skipped"]
    assert f"skipped {path}: " in stderr
    assert report["added"] >= 1
    assert_good_post_searchable(config)


def test_empty_file_is_an_empty_post(make_corpus: MakeCorpus) -> None:
    config = make_corpus({GOOD: GOOD_TEXT, "_posts/2025-01-02-empty.md": ""})
    code, report, stderr = index(config)
    assert (code, report["added"], report["skipped"]) == (0, 2, []), stderr
    assert_good_post_searchable(config)


def test_front_matter_only_is_an_empty_post(make_corpus: MakeCorpus) -> None:
    config = make_corpus({GOOD: GOOD_TEXT, "about.md": "---\ntitle: 見出しだけ\nlayout: page\n---\n"})
    code, report, _ = index(config)
    assert (code, report["added"], report["skipped"]) == (0, 2, [])
    assert_good_post_searchable(config)


def test_broken_yaml(make_corpus: MakeCorpus) -> None:
    config = make_corpus({GOOD: GOOD_TEXT, "_posts/2025-01-02-bad.md": "---\ntitle: [閉じない\ntags: a\n---\n本文\n"})
    assert_skipped(config, "_posts/2025-01-02-bad.md", "invalid YAML front matter")


def test_yaml_bombs_and_impossible_dates_do_not_break_a_post(make_corpus: MakeCorpus) -> None:
    levels = [f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)]
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(levels)  # 9**9 strings if expanded
    text = f"---\n{bomb}title: *i\ntags: *i\ndate: 2024-02-30\n---\n液体冷却ではない記事。\n"
    config = make_corpus({GOOD: GOOD_TEXT, "_posts/2025-01-02-bomb.md": text})
    code, report, _ = index(config)
    assert (code, report["added"]) == (0, 2)
    post = load_post("_posts/2025-01-02-bomb.md", config)
    assert (post.title, post.tags, post.date) == ("bomb", (), dt.date(2025, 1, 2))  # file name, no tags


def test_invalid_utf8(make_corpus: MakeCorpus) -> None:
    config = make_corpus({GOOD: GOOD_TEXT, "latin1.md": "# Café\n\nSéance".encode("latin-1")})
    assert_skipped(config, "latin1.md", "not valid UTF-8 (byte 0xe9")


def test_utf16_with_bom_is_indexed(make_corpus: MakeCorpus) -> None:
    text = "---\ntitle: UTF-16の記事\n---\n冷却塔の仕組みを説明します。\n"
    config = make_corpus({GOOD: GOOD_TEXT, "utf16.md": text.encode("utf-16")})  # BOM + UTF-16-LE
    code, report, _ = index(config)
    assert (code, report["added"], report["skipped"]) == (0, 2, [])
    searcher = Searcher(config)
    hit = searcher.search("冷却塔").hits[0]
    searcher.close()
    assert (hit.path, hit.title) == ("utf16.md", "UTF-16の記事")


def test_binary_file_named_md(make_corpus: MakeCorpus) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    config = make_corpus({GOOD: GOOD_TEXT, "image.md": png})
    assert_skipped(config, "image.md", "binary file (contains NUL bytes)")


def test_20_mb_post_is_reported_as_too_large(make_corpus: MakeCorpus) -> None:
    config = make_corpus({GOOD: GOOD_TEXT})
    with (config.corpus / "huge.md").open("w", encoding="utf-8") as file:
        line = "液体冷却" * 100 + "\n\n"
        for _ in range(20 * 2**20 // len(line.encode())):
            file.write(line)
    size = (config.corpus / "huge.md").stat().st_size
    assert size > 19.9 * 2**20 and size > MAX_POST_BYTES
    assert_skipped(config, "huge.md", f"file too large: {size / 2**20:.1f} MiB, over the 1 MiB limit")


def test_100000_tiny_paragraphs_are_reported(make_corpus: MakeCorpus) -> None:
    text = "".join(f"{i}\n\n" for i in range(100_000))  # 0.7 MB: under the size limit
    config = make_corpus({GOOD: GOOD_TEXT, "many.md": text})
    assert_skipped(config, "many.md", f"too many lines: 200,001, over the {MAX_POST_LINES:,} line limit")


def test_many_paragraphs_under_the_limit_are_indexed(make_corpus: MakeCorpus) -> None:
    text = "".join(f"段落{i}の本文。\n\n" for i in range(2_000))
    config = make_corpus({GOOD: GOOD_TEXT, "many.md": text})
    code, report, _ = index(config)
    assert (code, report["skipped"]) == (0, [])
    assert report["passages"] >= 2_000


def test_very_long_line_without_punctuation(make_corpus: MakeCorpus) -> None:
    line = "".join(f"サーバー{i}番 " for i in range(15_000))  # 153,890 characters, one line, no sentence end
    config = make_corpus({GOOD: GOOD_TEXT, "line.md": line})
    code, report, _ = index(config)
    assert (code, report["skipped"]) == (0, [])
    searcher = Searcher(config)
    hits = searcher.search("サーバー14999番").hits
    searcher.close()
    assert hits and hits[0].path == "line.md" and len(hits[0].snippet.text) <= MAX_PASSAGE_CHARS


def test_symlink_loops(make_corpus: MakeCorpus) -> None:
    config = make_corpus({GOOD: GOOD_TEXT})
    os.symlink("loop.md", config.corpus / "loop.md")  # a file link to itself
    os.symlink("..", config.corpus / "_posts" / "up")  # a directory link back up: not followed
    assert_skipped(config, "loop.md", "cannot read file: Too many levels of symbolic links")


def test_file_deleted_while_indexing(make_corpus: MakeCorpus, monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_corpus({GOOD: GOOD_TEXT, "vanishing.md": "# 消える記事\n"})
    real_open = Path.open

    def delete_then_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == "vanishing.md":  # listed by the walk, gone by the time it is read
            self.unlink(missing_ok=True)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", delete_then_open)
    assert_skipped(config, "vanishing.md", "cannot read file: No such file or directory")


def test_file_that_cannot_be_read(make_corpus: MakeCorpus, monkeypatch: pytest.MonkeyPatch) -> None:
    # tests run as root, where chmod 000 does not stop reading: refuse the open instead
    config = make_corpus({GOOD: GOOD_TEXT, "locked.md": "# 読めない記事\n", "dir.md/inner.md": "# 中身\n"})
    real_open = Path.open

    def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == "locked.md":
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    assert_skipped(config, "locked.md", "cannot read file: Permission denied")  # dir.md/ is a directory: walked


def test_fifo_named_md_does_not_block(make_corpus: MakeCorpus) -> None:
    config = make_corpus({GOOD: GOOD_TEXT})
    os.mkfifo(config.corpus / "pipe.md")
    assert_skipped(config, "pipe.md", "not a regular file")
