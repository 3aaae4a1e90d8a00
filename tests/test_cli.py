"""Every CLI command through click's CliRunner: output shapes, errors and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
from click.testing import CliRunner

from conftest import FUTURE_POST, copy_sample
from mikke.cli import main


@pytest.fixture(scope="module")
def blog(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Global options pointing at a sample corpus whose index does not exist yet."""
    root = tmp_path_factory.mktemp("blog")
    copy_sample(root / "corpus")
    return ["--corpus", str(root / "corpus"), "--index", str(root / "index")]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_search_builds_a_missing_index_then_answers(blog: list[str]) -> None:
    code, out, err = run(*blog, "search", "液体冷却")
    assert code == 0, err
    assert "building it" in err
    assert "液体冷却" in out and "results" in out


def test_search_json_has_the_documented_shape(blog: list[str]) -> None:
    code, out, _ = run(*blog, "search", "液体冷却", "--json")
    assert code == 0
    assert "\\u" not in out  # Japanese unescaped
    data = json.loads(out)
    assert set(data) == {
        "query",
        "total",
        "took_ms",
        "group",
        "matched",
        "matched_words",
        "missing_words",
        "suggestion",
        "expansions",
        "hits",
    }
    assert data["query"] == "液体冷却" and data["total"] >= len(data["hits"]) > 0
    assert data["group"] == "passage" and data["matched"] == "all"
    assert data["matched_words"] == ["液体冷却"] and data["missing_words"] == []
    for rank, hit in enumerate(data["hits"], 1):
        assert set(hit) == {"rank", "score", "kind", "post", "section", "snippet"}
        assert hit["rank"] == rank and isinstance(hit["score"], float) and hit["kind"] == "text"
        assert set(hit["post"]) == {"path", "title", "url", "date", "tags", "categories"}
        if rank > 1:
            continue  # the first hit holds both words; later ones may hold 冷却 only
        assert hit["post"]["path"] == FUTURE_POST and hit["post"]["date"] == "2025-09-26"
        assert set(hit["section"]) == {"heading", "heading_html", "heading_highlights", "anchor", "url"}
        anchor = hit["section"]["anchor"]
        fragment = hit["section"]["url"].removeprefix(hit["post"]["url"] + "#")
        assert unquote(fragment) == anchor if anchor else fragment.startswith(":~:text=")  # the id, else the text
        snippet = hit["snippet"]
        marked = [snippet["text"][a:b] for a, b in snippet["highlights"]]
        assert "液体冷却" in marked
        assert "<mark>液体冷却</mark>" in snippet["html"]


@pytest.mark.parametrize("query", ["サーバ", "ＧＰＵ", "gpu", "センター"])
def test_acceptance_queries_return_hits(blog: list[str], query: str) -> None:
    code, out, _ = run(*blog, "search", query, "--json")
    data = json.loads(out)
    assert code == 0 and data["hits"]
    texts = [h["snippet"]["text"] for h in data["hits"]]
    assert len(texts) == len(set(texts))
    if query == "センター":
        assert all("データセンター" in t for t in texts[:3])


def test_search_options_are_passed_through(blog: list[str]) -> None:
    code, out, _ = run(*blog, "search", "GPU", "--tag", "AI", "--limit", "2", "--offset", "1", "--per-post", "--json")
    data = json.loads(out)
    assert code == 0 and [h["rank"] for h in data["hits"]] == [2]  # two posts, second page
    code, out, _ = run(*blog, "search", "GPU", "--since", "2030-01-01", "--json")
    assert json.loads(out)["hits"] == []


def test_search_explain_shows_the_parsed_query(blog: list[str]) -> None:
    code, out, _ = run(*blog, "search", "データセンター", "-冷却", "--explain")
    assert code == 0 and "query: データセンター(データ+センター) -冷却" in out


@pytest.mark.parametrize("query", ["", "は", "。、"])
def test_empty_or_stopword_query_is_a_one_line_error(blog: list[str], query: str) -> None:
    code, _, err = run(*blog, "search", query)
    assert code == 1 and err.startswith("Error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_bad_date_is_a_one_line_error(blog: list[str]) -> None:
    code, _, err = run(*blog, "search", "GPU", "--since", "yesterday")
    assert code == 1 and "must be a date" in err


def test_missing_corpus_is_a_one_line_error(tmp_path: Path) -> None:
    code, _, err = run("--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "ix"), "index")
    assert code == 1 and "corpus directory not found" in err and err.count("\n") == 1


def test_index_reports_counts_and_skips_malformed_posts(tmp_path: Path) -> None:
    corpus = copy_sample(tmp_path / "corpus")
    (corpus / "_posts" / "2025-01-01-broken.md").write_text("---\ntitle: [壊れた\n---\n本文\n", encoding="utf-8")
    (corpus / "_posts" / "2025-01-02-latin1.md").write_bytes("caf\xe9".encode("latin-1"))
    options = ["--corpus", str(corpus), "--index", str(tmp_path / "ix")]
    code, out, err = run(*options, "index", "--json")
    assert code == 3
    report = json.loads(out)
    assert report["added"] == 2 and report["passages"] > 50
    assert {s["path"] for s in report["skipped"]} == {"_posts/2025-01-01-broken.md", "_posts/2025-01-02-latin1.md"}
    assert "invalid YAML" in err and "not valid UTF-8" in err
    code, out, _ = run(*options, "search", "液体冷却", "--json")
    assert code == 0 and json.loads(out)["hits"]


def test_analyze_shows_terms_parts_and_offsets() -> None:
    code, out, _ = run("analyze", "データセンターのサーバ", "--json")
    tokens = json.loads(out)
    assert code == 0
    assert [(t["surface"], t["term"], t["part"]) for t in tokens] == [
        ("データセンター", "データセンター", False),
        ("データ", "データ", True),
        ("センター", "センター", True),
        ("サーバ", "サーバー", False),
    ]
    assert tokens[3]["start"] == 8 and tokens[3]["end"] == 11
    code, out, _ = run("analyze", "ＧＰＵ")
    assert "ＧＰＵ\tgpu" in out


def test_every_command_has_help_with_an_example() -> None:
    for command in main.commands:
        code, out, _ = run(command, "--help")
        assert code == 0 and "Example:" in out, command


def test_mistyped_option_is_a_usage_error_not_a_query(blog: list[str]) -> None:
    code, _, err = run(*blog, "search", "GPU", "--limt", "3")
    assert code == 2 and "no such option: --limt" in err


# --- the search options: one request type, the API's bounds ---------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--offset", "5000"], "offset must be a whole number from 0 to 1000, not '5000'"),
        (["--offset", "-1"], "offset must be a whole number from 0 to 1000, not '-1'"),
        (["--limit", "0"], "limit must be a whole number from 1 to 100, not '0'"),
        (["--limit", "ten"], "limit must be a whole number from 1 to 100, not 'ten'"),
        (["--group", "posts"], "group must be one of passage, post, not 'posts'"),
    ],
)
def test_out_of_bounds_options_fail_with_the_apis_message(blog: list[str], options: list[str], message: str) -> None:
    code, out, err = run(*blog, "search", "GPU", *options)
    assert code == 1 and err == f"Error: {message}\n" and out == ""


def test_every_search_option_comes_from_the_request_type() -> None:
    code, out, _ = run("search", "--help")
    assert code == 0
    for option in ["--limit", "--offset", "--tag", "--category", "--since", "--until", "--group", "--per-post"]:
        assert option in out
    assert "--prefix" in out and "--explain" in out and "(1-100)" in out and "(0-1000)" in out


def test_group_post_lists_each_post_once_with_its_sections(blog: list[str]) -> None:
    code, out, _ = run(*blog, "search", "AI", "--group", "post")
    assert code == 0
    titles = [line for line in out.splitlines() if line[:1].isdigit() and ". " in line]
    assert len(titles) == 2 and len(set(titles)) == 2  # the two sample posts, each once
    assert 2 <= out.count("   › ") <= 6 and out.rstrip().endswith("ms)") and "of 2 posts" in out
    code, out, _ = run(*blog, "search", "AI", "--group", "post", "--json")
    data = json.loads(out)
    assert data["group"] == "post" and data["total"] == 2
    for hit in data["hits"]:
        assert set(hit) == {"rank", "score", "post", "sections"}
        for section in hit["sections"]:
            assert set(section) == {
                "heading",
                "heading_html",
                "heading_highlights",
                "anchor",
                "url",
                "kind",
                "score",
                "snippet",
            }


def test_a_partial_match_says_which_words_are_missing(blog: list[str]) -> None:
    code, out, _ = run(*blog, "search", "ブロックチェーン")
    assert code == 0 and "「ブロックチェーン」 missing" in out.splitlines()[0]
    code, out, _ = run(*blog, "search", "ブロックチェーン", "--json")
    data = json.loads(out)
    assert data["matched"] == "some" and data["missing_words"] == ["ブロックチェーン"]


def test_explain_prints_each_hits_score_as_a_tree(blog: list[str]) -> None:
    code, out, _ = run(*blog, "search", "データセンター", "--explain", "--limit", "2")
    assert code == 0
    assert out.count("= score, product of:") == 2
    assert "= BM25F, sum of:" in out and "body:データセンター" in out
    assert "= coverage (" in out and "= trigrams (" in out and "= sentences (" in out
    code, out, _ = run(*blog, "search", "データセンター", "--explain", "--limit", "2", "--json")
    data = json.loads(out)
    assert data["explain"]["query"] == "データセンター(データ+センター)"
    for hit in data["hits"]:
        assert hit["explain"]["description"] == "score, product of:"
        assert round(hit["explain"]["value"], 4) == hit["score"]


# --- a closed pipe ---------------------------------------------------------------------


@pytest.mark.parametrize("as_json", [[], ["--json"]])
def test_a_closed_pipe_exits_0_quietly(blog: list[str], as_json: list[str]) -> None:
    # The reading end is closed before mikke writes a byte: its first write meets a broken pipe,
    # as it does after `| head -1` when the output is longer than the pipe holds.
    command = [sys.executable, "-c", "from mikke.cli import main; main()", *blog, "search", "AI", "--limit", "100"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    run(*blog, "index")  # the index exists: the subprocess only searches
    with subprocess.Popen(command + as_json, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        err = proc.stderr.read()
    assert proc.returncode == 0 and err == b""


def test_head_of_a_long_listing_exits_0(blog: list[str]) -> None:
    script = f"{sys.executable} -c 'from mikke.cli import main; main()' {' '.join(blog)} search AI --limit 100 --json"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {script} | head -1"], capture_output=True, env=env, check=False
    )
    assert done.returncode == 0 and done.stdout == b"{\n" and done.stderr == b""
