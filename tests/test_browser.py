"""The search box in a real browser, on a real Jekyll site.

``tests/jekyll_site.py`` builds the site (minima, the sample posts and the
fixture posts, the include in its layout); a static server serves its ``_site``
from one local port and ``mikke serve`` runs on another, so every search is a
real cross-origin request allowed by ``--allow-origin``. Playwright drives
Debian's Chromium. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from conftest import REPO
from jekyll_site import Site, jekyll_missing, make_site
from mikke import Config, update_index
from test_web import XSS_PATH, XSS_POST

sys.path.insert(0, str(REPO / "bench"))
from peers import CHROMIUM, CHROMIUM_ARGS

ARTIFACTS = REPO / "test-artifacts"

#: The post the same-page tests read, as Jekyll's default permalink writes it.
FUTURE_URL = "/" + urllib.parse.quote("投資分析") + "/2025/09/26/nscale-funding-ai-infrastructure-future.html"
ABOUT_URL = "/about/"

if not CHROMIUM.exists():
    pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
if jekyll_missing():
    pytest.skip(f"browser tests need a built site: {jekyll_missing()}", allow_module_level=True)

from playwright.sync_api import Browser, Dialog, FloatRect, Locator, Page, Request, Route, expect, sync_playwright  # noqa: E402
from playwright.sync_api import Error as PlaywrightError  # noqa: E402


@dataclass(frozen=True)
class Servers:
    """The built site's origin and ``mikke serve``'s."""

    blog: str
    api: str
    site: Site


def free_port() -> int:
    with ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler) as server:
        port: int = server.server_address[1]
        return port


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """The site built with Jekyll, served statically, and ``mikke serve`` over its posts."""
    root = tmp_path_factory.mktemp("browser")
    api_port = free_port()
    api = f"http://127.0.0.1:{api_port}"
    site = make_site(root, "defaults", endpoint=api)
    (site.source / XSS_PATH).write_text(XSS_POST, encoding="utf-8")  # indexed, not in the built site
    config = Config(corpus=site.source, index=root / "index")
    update_index(config)

    handler = functools.partial(QuietHandler, directory=str(site.site))
    static = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    blog = f"http://127.0.0.1:{static.server_address[1]}"
    threading.Thread(target=static.serve_forever, daemon=True).start()
    command = [sys.executable, "-c", "from mikke.cli import main; main()"]
    command += ["--corpus", str(config.corpus), "--index", str(config.index)]
    command += ["serve", "--port", str(api_port), "--allow-origin", blog, "--no-access-log"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert server.stderr is not None
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
        yield Servers(blog, api, site)
    finally:
        server.terminate()
        server.wait(timeout=20)
        server.stderr.close()
        static.shutdown()
        static.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser: Browser, url: str, width: int = 1280) -> tuple[Page, list[str]]:
    """A fresh context at ``url`` (desktop, or a phone below 500 px) and the page errors it collects."""
    phone = width < 500
    context = browser.new_context(
        viewport={"width": width, "height": 844 if phone else 800}, is_mobile=phone, has_touch=phone, locale="ja-JP"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    expect(page.locator(".mikke-input")).to_be_visible()
    return page, errors


def close_page(page: Page, errors: list[str]) -> None:
    """Close the page's context and fail on its page errors. A route handler may still be reading a
    search's response (the box searches again after a test's last check): closing disposes of that
    response, and without ``ignoreErrors`` the handler's error would break the next test's set-up."""
    page.unroute_all(behavior="ignoreErrors")
    page.context.close()
    assert not errors


@pytest.fixture
def page(browser: Browser, servers: Servers) -> Iterator[Page]:
    """The site's "about" page with the box, desktop-sized; fails on page errors."""
    page, errors = open_page(browser, servers.blog + ABOUT_URL)
    yield page
    close_page(page, errors)


@pytest.fixture
def post_page(browser: Browser, servers: Servers) -> Iterator[Page]:
    """The long sample post, read at the top, desktop-sized; fails on page errors."""
    page, errors = open_page(browser, servers.blog + FUTURE_URL)
    yield page
    close_page(page, errors)


def search_requests(page: Page) -> list[str]:
    """Every /api/search URL the page requests from now on."""
    seen: list[str] = []

    def record(request: Request) -> None:
        if "/api/search" in request.url:
            seen.append(request.url)

    page.on("request", record)
    return seen


def api_search(api: str, query: str, **params: str) -> dict[str, Any]:
    """What the box gets for ``query`` (its own parameters)."""
    params = {"q": query, "limit": "10", "group": "post", "prefix": "true", **params}
    with urllib.request.urlopen(f"{api}/api/search?{urllib.parse.urlencode(params)}") as response:
        data: dict[str, Any] = json.load(response)
        return data


def rewrite(page: Page, api: str, change: Any) -> None:
    """Answer the box's searches with the real response passed through ``change(data)``."""

    def handle(route: Route) -> None:
        response = route.fetch()
        data = response.json()
        change(data)
        route.fulfill(response=response, json=data)

    page.route(api + "/api/search?**", handle)


def screenshot(page: Page, name: str) -> None:
    """Save the window once no search is running and the list has faded back in (at 1280 px, its middle column)."""
    page.wait_for_function("!document.querySelector('.mikke-loading')")
    page.wait_for_timeout(400)
    ARTIFACTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 1280
    clip: FloatRect | None = {"x": 240, "y": 0, "width": 800, "height": 700} if width == 1280 else None
    page.screenshot(path=str(ARTIFACTS / name), clip=clip)


def type_query(page: Page, query: str) -> None:
    """Type like a person, then wait for the box to have searched (after its pause) and shown the answer."""
    page.locator(".mikke-input").press_sequentially(query, delay=30)
    page.wait_for_timeout(300)
    page.wait_for_function("!document.querySelector('.mikke-loading')")


# --- results grouped by post ---------------------------------------------------------


def test_each_post_comes_once_with_its_sections(page: Page, servers: Servers) -> None:
    requests = search_requests(page)
    type_query(page, "液体冷却")
    expected = api_search(servers.api, "液体冷却")
    assert expected["group"] == "post" and expected["hits"]
    posts = page.locator(".mikke-post")
    expect(posts).to_have_count(len(expected["hits"]))
    titles = [t.strip() for t in page.locator(".mikke-post .mikke-title").all_inner_texts()]
    assert titles == [hit["post"]["title"] for hit in expected["hits"]]
    assert len(set(titles)) == len(titles), "a post is listed twice"
    for index, hit in enumerate(expected["hits"]):
        post = posts.nth(index)
        expect(post.locator(".mikke-date")).to_have_count(1 if hit["post"]["date"] else 0)
        expect(post.locator(".mikke-tag")).to_have_text(hit["post"]["tags"])
        sections = post.locator(".mikke-section")
        expect(sections).to_have_count(len(hit["sections"]))
        hrefs = [sections.nth(i).get_attribute("href") for i in range(len(hit["sections"]))]
        assert hrefs == [section["url"] for section in hit["sections"]]
    assert max(len(hit["sections"]) for hit in expected["hits"]) > 1, "the query should find posts with sections"
    assert all(len(hit["sections"]) <= 3 for hit in expected["hits"])
    expect(
        page.locator(".mikke-section .mikke-snippet mark").filter(has_text=re.compile("^液体冷却$")).first
    ).to_be_visible()
    expect(page.locator(".mikke-status")).to_have_text(f"{expected['total']} 件の記事")

    input_box = page.locator(".mikke-input")
    expect(input_box).to_have_attribute("role", "combobox")
    expect(input_box).to_have_attribute("aria-expanded", "true")
    expect(page.locator(".mikke-results")).to_have_attribute("role", "listbox")
    expect(posts.first).to_have_attribute("role", "group")
    expect(page.locator(".mikke-section").first).to_have_attribute("role", "option")
    assert len(requests) < 4, "typing is debounced: fewer requests than keystrokes"
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(requests[-1]).query)
    assert query["q"] == ["液体冷却"] and query["group"] == ["post"] and query["prefix"] == ["true"]
    screenshot(page, "search-grouped-1280.png")


def test_a_match_in_a_heading_is_highlighted_there(page: Page, servers: Servers) -> None:
    type_query(page, "見出し")
    heading = page.locator(".mikke-section .mikke-heading mark").first
    expect(heading).to_have_text("見出し")
    expected = api_search(servers.api, "見出し")
    assert any("<mark>" in s.get("heading_html", "") for hit in expected["hits"] for s in hit["sections"])


def test_code_is_shown_in_a_monospace_font(page: Page, servers: Servers) -> None:
    type_query(page, "コードの段落")
    code = page.locator(".mikke-kind-code .mikke-snippet").first
    expect(code).to_contain_text("print")
    family = code.evaluate("node => getComputedStyle(node).fontFamily")
    assert "monospace" in family
    screenshot(page, "code-1280.png")
    text = page.locator(".mikke-kind-text .mikke-snippet").first
    if text.count():
        assert "monospace" not in text.evaluate("node => getComputedStyle(node).fontFamily")


def test_the_clamp_never_hides_the_first_highlight(page: Page, servers: Servers) -> None:
    lead = "前置きの文です。" * 40

    def push_the_mark_down(data: dict[str, Any]) -> None:
        for hit in data["hits"]:
            for section in hit["sections"]:
                section["snippet"]["html"] = lead + section["snippet"]["html"]

    rewrite(page, servers.api, push_the_mark_down)
    type_query(page, "液体冷却")
    snippets = page.locator(".mikke-snippet:has(mark)")
    expect(snippets.first).to_be_visible()
    hidden = snippets.evaluate_all(
        """nodes => nodes.filter(node => {
             const mark = node.querySelector('mark');
             return mark && mark.getClientRects()[0].bottom > node.getBoundingClientRect().bottom + 1;
           }).length"""
    )
    assert hidden == 0
    leads = snippets.evaluate_all(
        """nodes => nodes.map(node => {
             const text = node.textContent;
             return text.slice(0, text.indexOf(node.querySelector('mark').textContent));
           })"""
    )
    assert all(lead.startswith("…") and len(lead) <= 33 for lead in leads), leads


# --- a result on the page being read ----------------------------------------------------


def same_page_section(servers: Servers, query: str, text_fragment: bool) -> dict[str, Any]:
    """A section of the long post (not its opening), linked by an id or by a text fragment."""
    for hit in api_search(servers.api, query)["hits"]:
        for section in hit["sections"]:
            path, _, fragment = section["url"].partition("#")
            opening = section["heading"] == hit["post"]["title"]
            if path == FUTURE_URL and fragment and fragment.startswith(":~:") == text_fragment and not opening:
                return dict(section)
    raise AssertionError(f"no section of {FUTURE_URL} for {query!r}")


def arrow_down_to(page: Page, url: str) -> Locator:
    """Press the down arrow in the box until the result linking to ``url`` is selected; returns it."""
    box = page.locator(".mikke-input")
    options = page.locator(".mikke-result")
    expect(options.first).to_be_visible()
    hrefs = [options.nth(i).get_attribute("href") for i in range(options.count())]
    for _ in range(hrefs.index(url) + 1):
        box.press("ArrowDown")
    return options.nth(hrefs.index(url))


def assert_landed(page: Page, box_text: str) -> None:
    """The panel is closed and the page was scrolled to the lit-up passage, outside the box."""
    expect(page.locator(".mikke-panel")).to_be_hidden()
    expect(page.locator(".mikke-input")).to_have_attribute("aria-expanded", "false")
    target = page.locator(".mikke-flash")
    expect(target).to_have_count(1)
    assert target.evaluate("node => !node.closest('.mikke-search')")
    assert page.evaluate("scrollY") > 500
    top = target.evaluate("node => node.getBoundingClientRect().top")
    assert -2 <= top <= 100, f"the passage is at {top} px, not at the top of the window"
    expect(target).to_contain_text(box_text)


def test_a_result_on_this_page_scrolls_to_its_heading(post_page: Page, servers: Servers) -> None:
    section = same_page_section(servers, "液体冷却", text_fragment=False)
    type_query(post_page, "液体冷却")
    link = post_page.locator(f'.mikke-section[href="{section["url"]}"]')
    url_before = post_page.url
    link.click()
    assert_landed(post_page, section["heading"])
    fragment = section["url"].split("#", 1)[1]
    assert post_page.evaluate("decodeURIComponent(location.hash)") == "#" + urllib.parse.unquote(fragment)
    assert post_page.url.split("#")[0] == url_before.split("#")[0], "the page was reloaded"
    target = post_page.locator(".mikke-flash")
    assert target.get_attribute("id") == urllib.parse.unquote(fragment)
    screenshot(post_page, "same-page-heading-1280.png")


def test_a_text_fragment_on_this_page_is_found_in_the_page_not_the_box(post_page: Page, servers: Servers) -> None:
    section = same_page_section(servers, "液体冷却", text_fragment=True)
    type_query(post_page, "液体冷却")
    arrow_down_to(post_page, section["url"])
    post_page.locator(".mikke-input").press("Enter")
    start = urllib.parse.unquote(section["url"].split(":~:text=", 1)[1].split(",")[0])
    assert_landed(post_page, start[:12])
    screenshot(post_page, "same-page-text-fragment-1280.png")


@pytest.mark.parametrize(
    ("parts", "landing"),
    [
        (["閉ループ直接液体冷却", "-のような最新のデータ"], "最適化するスキルがますます求められる"),
        (["日本の強みです。-", "閉ループ直接液体冷却", "最先端技術", "-は、日本の産業界"], "冷却技術や精密機械製造"),
        (["非常に重要です。Nscaleが-", "閉ループ直接液体冷却"], "用コストと持続可能性の観点"),
    ],
)
def test_a_text_directive_finds_its_own_occurrence(
    post_page: Page, servers: Servers, parts: list[str], landing: str
) -> None:
    def encode(part: str) -> str:
        """A directive's part: its text percent-encoded, the dash of a prefix or suffix kept."""
        text = urllib.parse.quote(part.strip("-"), safe="")
        return ("-" if part.startswith("-") else "") + text + ("-" if part.endswith("-") else "")

    fragment = ":~:text=" + ",".join(encode(part) for part in parts)

    def point_the_first_section_here(data: dict[str, Any]) -> None:
        data["hits"][0]["sections"][0]["url"] = f"{FUTURE_URL}#{fragment}"

    rewrite(post_page, servers.api, point_the_first_section_here)
    type_query(post_page, "液体冷却")
    post_page.locator(".mikke-section").first.click()
    assert_landed(post_page, landing)


def test_a_result_on_another_page_navigates_there(page: Page, servers: Servers) -> None:
    section = same_page_section(servers, "冷却", text_fragment=False)
    type_query(page, "冷却")
    box = page.locator(".mikke-input")
    selected = arrow_down_to(page, section["url"])
    expect(selected).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", selected.get_attribute("id") or "")
    with page.expect_navigation():
        box.press("Enter")
    assert urllib.parse.unquote(page.url) == urllib.parse.unquote(servers.blog + section["url"])
    fragment = urllib.parse.unquote(section["url"].split("#", 1)[1])
    assert page.locator(f'[id="{fragment}"]').evaluate("node => node.getBoundingClientRect().top") < 100


# --- the list ---------------------------------------------------------------------------


def test_a_new_query_starts_at_the_top_of_the_list(page: Page) -> None:
    box = page.locator(".mikke-input")
    type_query(page, "AI")
    panel = page.locator(".mikke-panel")
    expect(page.locator(".mikke-post").nth(2)).to_be_visible()
    panel.evaluate("node => { node.scrollTop = node.scrollHeight; }")
    assert panel.evaluate("node => node.scrollTop") > 100, "the list should be long enough to scroll"
    box.fill("")
    type_query(page, "GPU")
    expect(page.locator(".mikke-snippet mark").filter(has_text=re.compile("^gpu$", re.I)).first).to_be_visible()
    assert panel.evaluate("node => node.scrollTop") == 0


def test_escape_closes_and_more_posts_load_on_demand(browser: Browser, servers: Servers) -> None:
    page, errors = open_page(browser, servers.blog + ABOUT_URL)
    page.locator(".mikke-search").evaluate("node => { node.remove(); }")
    page.evaluate(
        """api => {
             const root = document.createElement('div');
             root.className = 'mikke-search';
             root.dataset.endpoint = api + '/api/search';
             root.dataset.limit = '2';
             document.querySelector('main').prepend(root);
             window.Mikke.init(root);
           }""",
        servers.api,
    )
    box = page.locator(".mikke-input")
    type_query(page, "AI")
    posts = page.locator(".mikke-post")
    expect(posts).to_have_count(2)
    total = api_search(servers.api, "AI")["total"]
    assert total > 2
    page.locator(".mikke-more").click()
    expect(posts).to_have_count(min(total, 4))
    titles = page.locator(".mikke-post .mikke-title").all_inner_texts()
    assert len(set(titles)) == len(titles)
    box.press("Escape")
    expect(page.locator(".mikke-results")).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    close_page(page, errors)


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
    expect(page.locator(".mikke-snippet mark").filter(has_text=re.compile("^液体")).first).to_be_visible()
    assert len(requests) == 1 and "q=%E6%B6%B2%E4%BD%93&" in requests[0]


def test_a_stale_response_is_dropped(page: Page, servers: Servers) -> None:
    held: list[Route] = []

    def hold_first(route: Route) -> None:
        if not held:
            held.append(route)
        else:
            route.continue_()

    page.route(servers.api + "/api/search?**", hold_first)
    box = page.locator(".mikke-input")
    box.press_sequentially("液体", delay=30)
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(100)
    assert len(held) == 1
    box.fill("GPU")
    expect(page.locator(".mikke-snippet mark").filter(has_text=re.compile("^GPU$", re.I)).first).to_be_visible()
    stale = {"query": "液体", "group": "post", "total": 1, "hits": [{"post": {"title": "STALE"}, "sections": []}]}
    with contextlib.suppress(PlaywrightError):  # the box may have aborted it already
        held[0].fulfill(json=stale, headers={"Access-Control-Allow-Origin": servers.blog})
    page.wait_for_timeout(500)
    expect(page.locator(".mikke-results")).not_to_contain_text("STALE")
    expect(box).to_have_value("GPU")


# --- what the box says -----------------------------------------------------------------------


def test_errors_are_told_in_japanese(page: Page, servers: Servers) -> None:
    status = page.locator(".mikke-status")
    type_query(page, "の")
    expect(status).to_have_text("検索できる語がありません。別の言葉で検索してください。")
    color = status.evaluate("node => getComputedStyle(node).color")
    red, green, blue = (int(v) for v in re.findall(r"\d+", color)[:3])
    assert not (red > 150 and green < 100 and blue < 100), f"an error in red ({color})"
    screenshot(page, "error-japanese-1280.png")

    page.route(servers.api + "/api/search?**", lambda route: route.abort())
    page.locator(".mikke-input").fill("")
    type_query(page, "GPU")
    expect(status).to_have_text("検索サーバーに接続できませんでした。通信環境を確かめてもう一度お試しください。")
    expect(page.locator(".mikke-result")).to_have_count(0)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("query_too_long", "検索語が長すぎます。短くして検索してください。"),
        ("index_unavailable", "検索の準備がまだできていません。しばらくしてからもう一度お試しください。"),
        ("index_corrupt", "検索用のデータに問題があり、いまは検索できません。サイトの管理者にお知らせください。"),
        ("internal", "検索中に問題が起きました。しばらくしてからもう一度お試しください。"),
        ("something_new", "検索できませんでした。しばらくしてからもう一度お試しください。"),
    ],
)
def test_each_error_code_has_its_message(page: Page, servers: Servers, code: str, message: str) -> None:
    body = {"ok": False, "code": code, "error": "an English message for developers"}
    headers = {"Access-Control-Allow-Origin": servers.blog}
    page.route(servers.api + "/api/search?**", lambda route: route.fulfill(status=503, json=body, headers=headers))
    type_query(page, "GPU")
    expect(page.locator(".mikke-status")).to_have_text(message)


def test_a_long_query_is_refused_in_japanese(page: Page) -> None:
    page.locator(".mikke-input").fill("検索" * 300)
    page.locator(".mikke-input").press("Enter")
    expect(page.locator(".mikke-status")).to_have_text("検索語が長すぎます。短くして検索してください。")


def test_a_partial_match_is_labelled(page: Page, servers: Servers) -> None:
    expected = api_search(servers.api, "ブロックチェーン")
    assert expected["matched"] == "some" and expected["hits"]
    type_query(page, "ブロックチェーン")
    missing = "」「".join(expected["missing_words"])
    notice = f"「{missing}」に完全に一致する記事はありません。一部の語に一致した結果:"
    expect(page.locator(".mikke-status")).to_have_text(notice)
    expect(page.locator(".mikke-post")).to_have_count(len(expected["hits"]))
    assert "件" not in page.locator(".mikke-status").inner_text()
    screenshot(page, "partial-match-1280.png")


def test_a_suggestion_runs_its_query(page: Page, servers: Servers) -> None:
    def suggest(data: dict[str, Any]) -> None:
        if data["query"] == "nvdia":
            data["suggestion"] = "nvidia"

    rewrite(page, servers.api, suggest)
    requests = search_requests(page)
    type_query(page, "nvdia")
    suggestion = page.locator(".mikke-suggestion")
    expect(suggestion).to_have_text("nvidia")
    expect(page.locator(".mikke-status")).to_contain_text("もしかして: nvidia")
    screenshot(page, "suggestion-1280.png")
    suggestion.click()
    expect(page.locator(".mikke-input")).to_have_value("nvidia")
    expect(page.locator(".mikke-snippet mark").filter(has_text=re.compile("^nvidia$", re.I)).first).to_be_visible()
    assert "q=nvidia&" in requests[-1]
    expect(page.locator(".mikke-suggestion")).to_have_count(0)


def test_no_results_state(page: Page) -> None:
    type_query(page, "ぬか漬け")
    expect(page.locator(".mikke-status")).to_contain_text("見つかりませんでした")
    expect(page.locator(".mikke-result")).to_have_count(0)


def test_an_xss_post_renders_as_text(page: Page) -> None:
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    type_query(page, "脆弱性")
    post = page.locator(".mikke-post").first
    expect(post).to_contain_text("<img src=x onerror=alert('title')>脆弱性テスト")
    expect(post).to_contain_text("<script>alert('body')</script>")
    expect(post.locator(".mikke-snippet mark").first).to_have_text("脆弱性")
    assert page.locator(".mikke-results img, .mikke-results script").count() == 0
    page.wait_for_timeout(500)
    assert dialogs == []
    assert "脆弱性" not in page.evaluate("document.title")


# --- layouts ----------------------------------------------------------------------------


def test_the_demo_page_works_under_its_content_security_policy(browser: Browser, servers: Servers) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="dark")
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
    page.goto(servers.api + "/")
    type_query(page, "GPU")
    expect(page.locator(".mikke-snippet mark").first).to_have_text(re.compile("^gpu$", re.I))
    assert console == []
    screenshot(page, "demo-dark-1280.png")
    context.close()


def test_phone_layout(browser: Browser, servers: Servers) -> None:
    page, errors = open_page(browser, servers.blog + FUTURE_URL, width=390)
    type_query(page, "液体冷却")
    expect(page.locator(".mikke-section").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"
    for selector in (".mikke-field", ".mikke-panel", ".mikke-section"):
        box = page.locator(selector).first.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, selector
    over = page.locator(".mikke-panel *").evaluate_all(
        "nodes => nodes.filter(node => node.getBoundingClientRect().right > 390).length"
    )
    assert over == 0
    screenshot(page, "search-phone-390.png")

    section = same_page_section(servers, "液体冷却", text_fragment=False)
    page.locator(f'.mikke-section[href="{section["url"]}"]').tap()
    assert_landed(page, section["heading"])
    screenshot(page, "same-page-phone-390.png")
    close_page(page, errors)
