"""The HTTP API: every parameter and error, CORS, the static files, reindex pickup, ``mikke serve``."""

from __future__ import annotations

import asyncio
import html
import json
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from starlette.applications import Starlette

from conftest import FUTURE_POST, IMPACT_POST, REPO, copy_sample
from mikke import Config, ConfigError, IndexMissingError, update_index
from mikke.cli import main
from mikke.web import create_app

BLOG = "https://blog.example.jp"
XSS_PATH = "_posts/2025-10-01-xss.md"
#: A post whose title, heading and body carry script and onerror payloads as text.
XSS_POST = """---
title: "&lt;img src=x onerror=alert('title')&gt;脆弱性テスト"
date: 2025-10-01
tags: ["セキュリティ"]
categories: ["検証"]
---

## 攻撃例

脆弱性の例として `<script>alert('body')</script>` と `<img src=x onerror=alert('img')>` を載せます。
"""


def web_corpus(root: Path) -> Config:
    """The sample blog plus the XSS post, indexed."""
    config = Config(corpus=copy_sample(root / "corpus"), index=root / "index")
    (config.corpus / XSS_PATH).write_text(XSS_POST, encoding="utf-8")
    update_index(config)
    return config


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return web_corpus(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="module")
def app(config: Config) -> Starlette:
    return create_app(config, [BLOG])


def call(app: Starlette, url: str, method: str = "GET", **headers: str) -> httpx.Response:
    """One request through the ASGI app (no network)."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mikke.test") as client:
            return await client.request(method, url, headers=headers)

    return asyncio.run(send())


def ok(app: Starlette, url: str) -> dict[str, Any]:
    response = call(app, url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    data: dict[str, Any] = response.json()
    return data


def paths(data: dict[str, Any]) -> list[str]:
    return [hit["post"]["path"] for hit in data["hits"]]


# --- /api/search -----------------------------------------------------------------


def test_search_returns_the_cli_json(app: Starlette, config: Config) -> None:
    api = ok(app, "/api/search?q=液体冷却")
    cli = CliRunner().invoke(
        main, ["--corpus", str(config.corpus), "--index", str(config.index), "search", "液体冷却", "--json"]
    )
    expected = json.loads(cli.output)
    api.pop("took_ms"), expected.pop("took_ms")
    assert api == expected
    first = api["hits"][0]
    assert first["post"]["path"] == FUTURE_POST and "<mark>液体冷却</mark>" in first["snippet"]["html"]


def test_limit_and_offset_page_through_the_same_ranking(app: Starlette) -> None:
    whole = ok(app, "/api/search?q=AI&limit=6")["hits"]
    first = ok(app, "/api/search?q=AI&limit=3")["hits"]
    second = ok(app, "/api/search?q=AI&limit=3&offset=3")["hits"]
    assert len(whole) == 6
    assert [h["snippet"]["text"] for h in first + second] == [h["snippet"]["text"] for h in whole]
    assert [h["rank"] for h in second] == [4, 5, 6]


def test_tag_and_category_filters(app: Starlette) -> None:
    assert set(paths(ok(app, "/api/search?q=脆弱性 OR GPU&tag=セキュリティ"))) == {XSS_PATH}
    assert XSS_PATH not in paths(ok(app, "/api/search?q=脆弱性 OR GPU&category=投資分析&limit=50"))
    either = ok(app, "/api/search?q=脆弱性 OR GPU&tag=セキュリティ&tag=チップ&limit=50")
    assert {XSS_PATH, FUTURE_POST} <= set(paths(either))
    assert ok(app, "/api/search?q=GPU&tag=存在しないタグ")["hits"] == []


def test_date_filters(app: Starlette) -> None:
    query = "/api/search?q=脆弱性 OR GPU&limit=50"
    assert set(paths(ok(app, query + "&since=2025-10-01"))) == {XSS_PATH}
    assert XSS_PATH not in paths(ok(app, query + "&until=2025-09-30"))
    assert set(paths(ok(app, query + "&since=2025-09-26&until=2025-09-26"))) == {FUTURE_POST, IMPACT_POST}


@pytest.mark.parametrize("value", ["1", "true", "on", ""])
def test_per_post_keeps_one_passage_per_post(app: Starlette, value: str) -> None:
    found = paths(ok(app, f"/api/search?q=AI&limit=20&per_post={value}"))
    assert len(found) == len(set(found)) == 2
    assert len(paths(ok(app, "/api/search?q=AI&limit=20&per_post=false"))) > 2


def test_results_that_match_nothing_are_an_empty_page(app: Starlette) -> None:
    data = ok(app, "/api/search?q=ぬか漬け")
    assert (data["query"], data["total"], data["hits"]) == ("ぬか漬け", 0, [])


def test_snippet_html_is_escaped_before_marking(app: Starlette) -> None:
    hit = ok(app, "/api/search?q=脆弱性&tag=セキュリティ")["hits"][0]
    assert hit["post"]["title"] == "<img src=x onerror=alert('title')>脆弱性テスト"
    assert "<script>" in hit["snippet"]["text"]
    html = hit["snippet"]["html"]
    assert "<mark>脆弱性</mark>" in html
    assert "&lt;script&gt;alert(&#x27;body&#x27;)&lt;/script&gt;" in html
    assert "<script" not in html and "<img" not in html


def test_a_query_that_looks_like_a_path_is_only_a_query(app: Starlette) -> None:
    assert ok(app, "/api/search?q=../../etc/passwd")["query"] == "../../etc/passwd"


# --- errors ------------------------------------------------------------------------

BAD_REQUESTS = {
    "/api/search": ("empty query", "empty_query"),
    "/api/search?q=": ("empty query", "empty_query"),
    "/api/search?q=%20%E3%80%80": ("empty query", "empty_query"),
    "/api/search?q=" + "あ" * 501: ("too long", "query_too_long"),
    "/api/search?q=の": ("nothing to search for", "empty_query"),
    "/api/search?q=AI&limit=0": ("limit", "bad_parameter"),
    "/api/search?q=AI&limit=101": ("limit", "bad_parameter"),
    "/api/search?q=AI&limit=-1": ("limit", "bad_parameter"),
    "/api/search?q=AI&limit=ten": ("limit", "bad_parameter"),
    "/api/search?q=AI&limit=1e3": ("limit", "bad_parameter"),
    "/api/search?q=AI&offset=-1": ("offset", "bad_parameter"),
    "/api/search?q=AI&offset=1001": ("offset", "bad_parameter"),
    "/api/search?q=AI&since=2025/09/26": ("since", "bad_parameter"),
    "/api/search?q=AI&since=20250926": ("since", "bad_parameter"),
    "/api/search?q=AI&until=2025-02-30": ("until", "bad_parameter"),
    "/api/search?q=AI&since=2025-10-01&until=2025-09-01": ("after", "bad_parameter"),
    "/api/search?q=AI&per_post=maybe": ("per_post", "bad_parameter"),
    "/api/search?q=AI&tag=": ("tag", "bad_parameter"),
    "/api/search?q=AI&category=" + "x" * 101: ("category", "bad_parameter"),
    "/api/search?q=AI" + "&tag=t" * 21: ("tag", "bad_parameter"),
    "/api/search?q=AI&q=GPU": ("more than once", "bad_parameter"),
    "/api/search?q=AI&limit=1&limit=2": ("more than once", "bad_parameter"),
    "/api/search?q=AI&sort=date": ("unknown parameter", "bad_parameter"),
    "/api/search?q=AI&group=posts": ("group must be one of passage, post", "bad_parameter"),
    "/api/search?q=AI&explain=maybe": ("explain", "bad_parameter"),
    "/api/search?q=" + "冷却%20" * 65: ("words (at most 64)", "query_too_long"),
    "/api/facets?q=": ("empty query", "empty_query"),
    "/api/facets?q=AI&limit=5": ("unknown parameter", "bad_parameter"),
}


@pytest.mark.parametrize("url", list(BAD_REQUESTS))
def test_bad_parameters_are_400_with_the_error_shape(app: Starlette, url: str) -> None:
    response = call(app, url)
    assert response.status_code == 400
    body = response.json()
    message, code = BAD_REQUESTS[url]
    assert body["ok"] is False and set(body) == {"ok", "code", "error"}
    assert message in body["error"] and body["code"] == code


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "/nowhere", 404),
        ("GET", "/static/../pyproject.toml", 404),
        ("GET", "/widget.js/../../etc/passwd", 404),
        ("POST", "/api/search?q=AI", 405),
        ("DELETE", "/healthz", 405),
    ],
)
def test_other_errors_share_the_shape(app: Starlette, method: str, url: str, status: int) -> None:
    response = call(app, url, method)
    assert response.status_code == status
    assert response.json()["ok"] is False
    assert response.json()["code"] == {404: "not_found", 405: "method_not_allowed"}[status]


def test_an_unexpected_failure_is_a_json_500(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(result: object) -> dict[str, Any]:
        raise RuntimeError("boom")

    monkeypatch.setattr("mikke.web.result_to_dict", broken)
    response = call(create_app(config), "/api/search?q=AI")
    assert response.status_code == 500
    assert response.json() == {"ok": False, "code": "internal", "error": "internal error"}


def test_a_removed_index_is_a_503_until_it_is_rebuilt(tmp_path: Path) -> None:
    config = Config(corpus=copy_sample(tmp_path / "corpus"), index=tmp_path / "index")
    update_index(config)
    app = create_app(config)
    shutil.rmtree(config.index)
    for url in ["/api/search?q=AI", "/healthz"]:
        response = call(app, url)
        assert response.status_code == 503 and "mikke index" in response.json()["error"]
        assert response.json()["code"] == "index_unavailable"
    update_index(config)
    assert ok(app, "/api/search?q=AI")["hits"]


def test_an_app_needs_an_index(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError):
        create_app(Config(corpus=tmp_path, index=tmp_path / "index"))


@pytest.mark.parametrize("origin", ["blog.example.jp", "https://blog.example.jp/path", "javascript:alert(1)"])
def test_bad_origins_are_refused(config: Config, origin: str) -> None:
    with pytest.raises(ConfigError):
        create_app(config, [origin])


# --- /api/facets, /healthz -------------------------------------------------------------


def test_facets_count_matching_posts(app: Starlette) -> None:
    data = ok(app, "/api/facets?q=GPU")
    assert data["posts"] == 2
    assert {"name": "チップ", "count": 2} in data["tags"]
    assert data["categories"] == [{"name": "投資分析", "count": 2}]
    only_xss = ok(app, "/api/facets?q=脆弱性")
    assert only_xss["posts"] == 1
    assert only_xss["tags"] == [{"name": "セキュリティ", "count": 1}]
    assert only_xss["categories"] == [{"name": "検証", "count": 1}]


def test_healthz(app: Starlette) -> None:
    assert ok(app, "/healthz") == {"ok": True}


# --- CORS ---------------------------------------------------------------------------


def test_cors_only_for_configured_origins(app: Starlette) -> None:
    allowed = call(app, "/api/search?q=AI", Origin=BLOG)
    assert allowed.headers["access-control-allow-origin"] == BLOG
    assert allowed.headers["vary"] == "Origin"
    other = call(app, "/api/search?q=AI", Origin="https://evil.example")
    assert other.status_code == 200 and "access-control-allow-origin" not in other.headers
    error = call(app, "/api/search?q=", Origin=BLOG)
    assert error.status_code == 400 and error.headers["access-control-allow-origin"] == BLOG


def test_preflight(app: Starlette) -> None:
    preflight = {"Access-Control-Request-Method": "GET"}
    allowed = call(app, "/api/search", "OPTIONS", Origin=BLOG, **preflight)
    assert allowed.status_code == 204 and allowed.headers["access-control-allow-methods"] == "GET"
    refused = call(app, "/api/search", "OPTIONS", Origin="https://evil.example", **preflight)
    assert refused.status_code == 403 and refused.json()["ok"] is False


def test_no_cors_without_configured_origins(config: Config) -> None:
    response = call(create_app(config), "/api/search?q=AI", Origin=BLOG)
    assert "access-control-allow-origin" not in response.headers


def test_any_origin_with_a_star(config: Config) -> None:
    response = call(create_app(config, ["*"]), "/api/search?q=AI", Origin="https://anywhere.example")
    assert response.headers["access-control-allow-origin"] == "*"


# --- the search box files -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "media_type", "marker"),
    [
        ("/widget.js", "text/javascript; charset=utf-8", "mikke-search"),
        ("/widget.css", "text/css; charset=utf-8", ".mikke-result"),
        ("/", "text/html; charset=utf-8", 'id="mikke-search"'),
    ],
)
def test_static_files_with_cache_headers(app: Starlette, path: str, media_type: str, marker: str) -> None:
    response = call(app, path)
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "max-age" in response.headers["cache-control"]
    assert marker in response.text
    again = call(app, path, **{"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


# --- a reindex is picked up without a restart -----------------------------------------------


def test_a_committed_reindex_is_seen_without_a_restart(tmp_path: Path) -> None:
    config = Config(corpus=copy_sample(tmp_path / "corpus"), index=tmp_path / "index")
    update_index(config)
    app = create_app(config)
    assert ok(app, "/api/search?q=ぬか漬け")["total"] == 0
    post = "---\ntitle: 漬物の話\ndate: 2025-11-01\n---\n\n## Recipe\n\nぬか漬けは毎日かき混ぜます。\n"
    (config.corpus / "_posts" / "2025-11-01-tsukemono.md").write_text(post, encoding="utf-8")
    update_index(config)
    hits = ok(app, "/api/search?q=ぬか漬け")["hits"]
    assert [h["post"]["title"] for h in hits] == ["漬物の話"]
    assert hits[0]["section"]["url"].endswith("#recipe")


# --- mikke serve ------------------------------------------------------------------------


def test_serve_builds_a_missing_index_and_runs_uvicorn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **options: calls.append({"app": app, **options}))
    corpus, index = copy_sample(tmp_path / "corpus"), tmp_path / "index"
    args = ["--corpus", str(corpus), "--index", str(index), "serve", "--port", "8123", "--allow-origin", BLOG]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "building it" in result.output
    [run] = calls
    assert (run["host"], run["port"]) == ("127.0.0.1", 8123)
    assert call(run["app"], "/api/search?q=AI", Origin=BLOG).headers["access-control-allow-origin"] == BLOG


def test_serve_refuses_a_bad_origin(tmp_path: Path, config: Config) -> None:
    args = ["--corpus", str(config.corpus), "--index", str(config.index), "serve", "--allow-origin", "blog"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "--allow-origin" in result.output


def test_serve_has_help() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0 and "Example:" in result.output and "--allow-origin" in result.output


def test_the_jekyll_include_loads_the_box_from_the_served_routes(app: Starlette) -> None:
    include = (REPO / "integrations" / "jekyll" / "_includes" / "mikke-search.html").read_text(encoding="utf-8")
    routes = re.findall(r"append: '(/[\w./]+)'", include)
    assert sorted(routes) == ["/api/search", "/widget.css", "/widget.js"]
    for route in routes:
        assert call(app, route + ("?q=AI" if route.startswith("/api/") else "")).status_code == 200
    assert "id=\"{{ include.id | default: 'mikke-search'" in include


# --- grouped results, partial matches, kinds, headings, explain ----------------------------


def test_group_post_has_the_shared_shape(app: Starlette) -> None:
    data = ok(app, "/api/search?q=AI&group=post&limit=20")
    flat = ok(app, "/api/search?q=AI&limit=100")
    assert data["group"] == "post" and data["total"] == len({h["post"]["path"] for h in flat["hits"]}) == 2
    for rank, hit in enumerate(data["hits"], 1):
        assert set(hit) == {"rank", "score", "post", "sections"} and hit["rank"] == rank
        assert set(hit["post"]) == {"path", "title", "url", "date", "tags", "categories"}
        assert 1 <= len(hit["sections"]) <= 3 and hit["sections"][0]["score"] == hit["score"]
        for section in hit["sections"]:
            assert section["kind"] == "text" and section["url"].startswith(hit["post"]["url"])
            assert set(section["snippet"]) == {"text", "highlights", "html"}
            assert "<mark>AI</mark>" in section["snippet"]["html"]
    assert ok(app, "/api/search?q=AI&group=passage")["group"] == "passage"


def test_a_partial_match_is_labelled(app: Starlette) -> None:
    some = ok(app, "/api/search?q=ブロックチェーン&group=post")
    assert some["hits"] and some["matched"] == "some"
    assert (some["matched_words"], some["missing_words"]) == (["チェーン"], ["ブロックチェーン"])
    full = ok(app, "/api/search?q=サプライチェーン")
    assert full["matched"] == "all" and full["matched_words"] == ["サプライチェーン"] and full["missing_words"] == []


def test_the_offset_bound_reads_as_in_the_cli(app: Starlette) -> None:
    response = call(app, "/api/search?q=AI&offset=5000")
    assert response.status_code == 400
    assert response.json()["error"] == "offset must be a whole number from 0 to 1000, not '5000'"


def test_explain_adds_a_tree_to_each_hit(app: Starlette) -> None:
    data = ok(app, "/api/search?q=液体冷却&explain=true&limit=3")
    assert data["explain"]["query"] == "液体 冷却"
    for hit in data["hits"]:
        tree = hit["explain"]
        assert tree["description"] == "score, product of:" and round(tree["value"], 4) == hit["score"]
        assert [d["description"].split(" ")[0] for d in tree["details"]] == [
            "BM25F,",
            "coverage",
            "trigrams",
            "sentences",
            "pairs",
        ]
    grouped = ok(app, "/api/search?q=液体冷却&explain=1&group=post")
    assert all("explain" in s for h in grouped["hits"] for s in h["sections"])
    assert "explain" not in ok(app, "/api/search?q=液体冷却")["hits"][0]


def test_heading_matches_are_marked_after_escaping(tmp_path: Path) -> None:
    post = "---\ntitle: 記録\n---\n\n## `<b>`とスキル & 技術\n\n新しいスキルを学ぶ。\n\n```sh\necho スキル\n```\n"
    config = Config(corpus=tmp_path / "corpus", index=tmp_path / "index")
    (config.corpus / "_posts").mkdir(parents=True)
    (config.corpus / "_posts/2025-01-01-skill.md").write_text(post, encoding="utf-8")
    update_index(config)
    hits = ok(create_app(config), "/api/search?q=スキル")["hits"]
    sections = {hit["snippet"]["text"]: hit["section"] for hit in hits}
    assert {hit["snippet"]["text"]: hit["kind"] for hit in hits} == {
        "新しいスキルを学ぶ。": "text",
        "echo スキル": "code",
    }
    section = sections["新しいスキルを学ぶ。"]
    start, end = section["heading_highlights"][0]
    assert section["heading"][start:end] == "スキル"
    assert section["heading_html"] == html.escape(section["heading"][:start]) + "<mark>スキル</mark>" + html.escape(
        section["heading"][end:]
    )
    assert section["heading"] == "<b>とスキル & 技術"
    assert section["heading_html"] == "&lt;b&gt;と<mark>スキル</mark> &amp; 技術"
