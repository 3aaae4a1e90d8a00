"""The search box in a real browser: Playwright drives Debian's Chromium against a live ``mikke serve``.

A blog page served from one local port embeds the box; ``mikke serve`` runs on
another (so every search is a real cross-origin request, allowed by
``--allow-origin``). Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO
from test_web import web_corpus

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not CHROMIUM.exists():
    pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Browser, Page, Request, Route, expect, sync_playwright  # noqa: E402
from playwright.sync_api import Error as PlaywrightError  # noqa: E402

BLOG_PAGE = """<!doctype html>
<html lang="ja">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>テストブログ</title>
  <link rel="stylesheet" href="{api}/widget.css">
  <style>
    body {{ margin: 0; font-family: "Noto Sans CJK JP", sans-serif; background: #f6f8fa; color: #1f2328; }}
    header {{ background: #fff; border-bottom: 1px solid #d1d9e0; padding: 0.9rem 1.25rem; font-weight: 700; }}
    main {{ max-width: 46rem; margin: 0 auto; padding: 2rem 1.25rem; }}
    h1 {{ font-size: 1.4rem; margin: 0 0 1rem; }}
  </style>
</head>
<body>
  <header>テストブログ</header>
  <main>
    <h1>サイト内検索</h1>
    <div id="mikke-search" data-endpoint="{api}/api/search" data-limit="5"></div>
  </main>
  <script src="{api}/widget.js" defer></script>
</body>
</html>
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class BlogHandler(BaseHTTPRequestHandler):
    """The blog: the page with the box at ``/``, a stand-in article at any other path."""

    api = ""

    def do_GET(self) -> None:
        if self.path == "/":
            body = BLOG_PAGE.format(api=self.api)
        else:
            body = f"<!doctype html><meta charset=utf-8><title>記事</title><h1>{self.path[:200]}</h1>"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(blog origin, API origin): a page server thread and ``mikke serve`` in a subprocess."""
    config = web_corpus(tmp_path_factory.mktemp("browser"))
    api_port = free_port()
    api = f"http://127.0.0.1:{api_port}"
    handler = type("Handler", (BlogHandler,), {"api": api})
    blog_server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    blog = f"http://127.0.0.1:{blog_server.server_address[1]}"
    threading.Thread(target=blog_server.serve_forever, daemon=True).start()
    command = [sys.executable, "-c", "from mikke.cli import main; main()"]
    command += ["--corpus", str(config.corpus), "--index", str(config.index)]
    command += ["serve", "--port", str(api_port), "--allow-origin", blog, "--no-access-log"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{api}/healthz", timeout=2) as response:
                    if json.load(response)["ok"]:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"mikke serve did not start: {server.stderr.read().decode()}") from None
                time.sleep(0.2)
        yield blog, api
    finally:
        server.terminate()
        server.wait(timeout=20)
        server.stderr.close()
        blog_server.shutdown()
        blog_server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, servers: tuple[str, str]) -> Iterator[Page]:
    """The blog page, with the box mounted, in a fresh desktop-sized context; fails on page errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(servers[0] + "/")
    expect(page.locator(".mikke-input")).to_be_visible()
    yield page
    context.close()
    assert not errors


def search_requests(page: Page) -> list[str]:
    """Every /api/search URL the page requests from now on."""
    seen: list[str] = []

    def record(request: Request) -> None:
        if "/api/search" in request.url:
            seen.append(request.url)

    page.on("request", record)
    return seen


def api_search(api: str, query: str) -> dict[str, Any]:
    url = f"{api}/api/search?q={urllib.parse.quote(query)}&limit=5"
    with urllib.request.urlopen(url) as response:
        data: dict[str, Any] = json.load(response)
        return data


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_typing_shows_highlighted_results(page: Page) -> None:
    requests = search_requests(page)
    page.locator(".mikke-input").press_sequentially("液体冷却", delay=30)
    results = page.locator(".mikke-result")
    expect(results.first).to_be_visible()
    expect(results.first.locator("mark").filter(has_text=re.compile("^液体冷却$")).first).to_be_visible()
    expect(page.locator(".mikke-status")).to_contain_text("件")
    input_box = page.locator(".mikke-input")
    expect(input_box).to_have_attribute("role", "combobox")
    expect(input_box).to_have_attribute("aria-expanded", "true")
    expect(page.locator(".mikke-results")).to_have_attribute("role", "listbox")
    expect(results.first).to_have_attribute("role", "option")
    assert len(requests) < 4, "typing is debounced: fewer requests than keystrokes"
    assert "q=%E6%B6%B2%E4%BD%93%E5%86%B7%E5%8D%B4&" in requests[-1]
    screenshot(page, "search-desktop-1280.png")


def test_nothing_is_sent_while_an_ime_composes(page: Page) -> None:
    requests = search_requests(page)
    page.locator(".mikke-input").focus()
    ime = page.context.new_cdp_session(page)
    for reading in ["え", "えき", "えきた", "えきたい"]:
        ime.send(
            "Input.imeSetComposition", {"text": reading, "selectionStart": len(reading), "selectionEnd": len(reading)}
        )
        page.wait_for_timeout(150)
    page.wait_for_timeout(600)
    assert requests == [], "a request was sent during composition"
    expect(page.locator(".mikke-input")).to_have_value("えきたい")
    ime.send("Input.insertText", {"text": "液体"})
    expect(page.locator(".mikke-result mark").filter(has_text=re.compile("^液体")).first).to_be_visible()
    assert len(requests) == 1 and "q=%E6%B6%B2%E4%BD%93&" in requests[0]


def test_a_stale_response_is_dropped(page: Page, servers: tuple[str, str]) -> None:
    held: list[Route] = []

    def hold_first(route: Route) -> None:
        if not held:
            held.append(route)
        else:
            route.continue_()

    page.route(servers[1] + "/api/search?**", hold_first)
    box = page.locator(".mikke-input")
    box.press_sequentially("液体", delay=30)
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(100)
    assert len(held) == 1
    box.fill("GPU")
    expect(page.locator(".mikke-result mark").filter(has_text=re.compile("^GPU$")).first).to_be_visible()
    stale = {"query": "液体", "total": 1, "took_ms": 1.0, "hits": [{"post": {"title": "STALE"}, "section": {}}]}
    with contextlib.suppress(PlaywrightError):  # the box may have aborted it already
        held[0].fulfill(json=stale, headers={"Access-Control-Allow-Origin": servers[0]})
    page.wait_for_timeout(500)
    expect(page.locator(".mikke-results")).not_to_contain_text("STALE")
    expect(box).to_have_value("GPU")


def test_pick_a_result_with_the_keyboard(page: Page, servers: tuple[str, str]) -> None:
    blog, api = servers
    expected = api_search(api, "冷却")["hits"][1]["section"]["url"]
    box = page.locator(".mikke-input")
    box.press_sequentially("冷却", delay=30)
    expect(page.locator(".mikke-result").nth(1)).to_be_visible()
    box.press("ArrowDown")
    box.press("ArrowDown")
    second = page.locator(".mikke-result").nth(1)
    expect(second).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", second.get_attribute("id") or "")
    box.press("ArrowUp")
    box.press("ArrowDown")
    with page.expect_navigation():
        box.press("Enter")
    assert page.url == blog + expected
    assert page.url.split("#")[1] and page.url.endswith("#" + expected.split("#")[1])
    expect(page.locator("h1")).to_contain_text(expected.split("#")[0][:40])


def test_escape_closes_and_more_results_load_on_demand(page: Page) -> None:
    box = page.locator(".mikke-input")
    box.press_sequentially("AI", delay=30)
    results = page.locator(".mikke-result")
    expect(results).to_have_count(5)
    page.locator(".mikke-more").click()
    expect(results).to_have_count(10)
    box.press("Escape")
    expect(page.locator(".mikke-results")).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")


def test_no_results_state(page: Page) -> None:
    page.locator(".mikke-input").press_sequentially("ぬか漬け", delay=30)
    expect(page.locator(".mikke-status")).to_contain_text("見つかりません")
    expect(page.locator(".mikke-result")).to_have_count(0)


def test_an_xss_post_renders_as_text(page: Page) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.locator(".mikke-input").press_sequentially("脆弱性", delay=30)
    result = page.locator(".mikke-result").first
    expect(result).to_contain_text("<img src=x onerror=alert('title')>脆弱性テスト")
    expect(result).to_contain_text("<script>alert('body')</script>")
    expect(result.locator("mark").first).to_have_text("脆弱性")
    assert page.locator(".mikke-results img, .mikke-results script").count() == 0
    page.wait_for_timeout(500)
    assert dialogs == []
    assert page.evaluate("document.title") == "テストブログ"
    screenshot(page, "search-xss-1280.png")


def test_the_demo_page_works_under_its_content_security_policy(browser: Browser, servers: tuple[str, str]) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="dark")
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
    page.goto(servers[1] + "/")
    page.locator(".mikke-input").press_sequentially("GPU", delay=30)
    expect(page.locator(".mikke-result mark").first).to_have_text(re.compile("^gpu$", re.I))
    assert console == []
    screenshot(page, "demo-dark-1280.png")
    context.close()


def test_mobile_layout(browser: Browser, servers: tuple[str, str]) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(servers[0] + "/")
    page.locator(".mikke-input").press_sequentially("データセンター", delay=30)
    expect(page.locator(".mikke-result").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"
    box = page.locator(".mikke-results").bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
    screenshot(page, "search-mobile-390.png")
    context.close()
