"""Every CLI command through click's CliRunner: output shapes, errors and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

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
    assert set(data) == {"query", "total", "took_ms", "suggestion", "expansions", "hits"}
    assert data["query"] == "液体冷却" and data["total"] >= len(data["hits"]) > 0
    for rank, hit in enumerate(data["hits"], 1):
        assert set(hit) == {"rank", "score", "post", "section", "snippet"}
        assert hit["rank"] == rank and isinstance(hit["score"], float)
        assert set(hit["post"]) == {"path", "title", "url", "date", "tags", "categories"}
        assert hit["post"]["path"] == FUTURE_POST and hit["post"]["date"] == "2025-09-26"
        assert set(hit["section"]) == {"heading", "anchor", "url"}
        anchor = hit["section"]["anchor"]
        assert hit["section"]["url"] == (hit["post"]["url"] + "#" + anchor if anchor else hit["post"]["url"])
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
