"""A real Jekyll site: every URL and fragment mikke returns lands in the built page.

For each of ``jekyll_site.CONFIGURATIONS`` the sample blog plus the fixture posts are
built with ``jekyll build`` (Debian's jekyll and minima, offline) and indexed by mikke from
the same source, which mikke reads the site's ``_config.yml`` from. Then:

* every heading id mikke computes is the id kramdown gave that heading (page by page, and for
  a list of hard headings run through kramdown itself);
* queries made from every passage's words return hits whose ``url`` is a file in
  ``_site/`` (``baseurl`` included), and whose ``section_url`` fragment is an id of an
  element of that page showing the hit's heading, or a text fragment whose text the
  page shows, first (as a browser searches: block by block, ignoring case) inside the
  hit's own passage.
"""

from __future__ import annotations

import functools
import html
import html.parser
import json
import re
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest

from jekyll_site import CONFIGURATIONS, Site, jekyll_missing, make_site
from mikke import Config, QueryError, Searcher, update_index
from mikke._corpus import iter_post_paths, load_post
from mikke._markdown import parse_sections
from mikke._models import Post

pytestmark = pytest.mark.skipif(bool(jekyll_missing()), reason=jekyll_missing() or "jekyll is installed")

#: Elements whose end is a block boundary: a text fragment cannot match across one.
_BLOCK_TAGS = """address article aside blockquote br dd details div dl dt figcaption figure footer form h1 h2 h3 h4
h5 h6 header hr li main nav ol p pre section summary table tbody td tfoot th thead tr ul"""
_BLOCKS = frozenset(_BLOCK_TAGS.split())
_HIDDEN = frozenset({"head", "script", "style", "template", "noscript", "svg"})
_BOUNDARY = "\u2029"
_SPACES = re.compile(r"[ \t\r\n\f\u00a0]+")


class _Page(html.parser.HTMLParser):
    """A built page's ids (with the text of their element) and its visible text, blocks
    separated by ``_BOUNDARY``."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: dict[str, str] = {}
        self._open: list[tuple[str, str | None, int]] = []  # tag, id, where its text starts
        self._parts: list[str] = []
        self._hidden = 0
        self._content = -1
        self.feed(source)
        self.close()
        self.text = _SPACES.sub(" ", "".join(self._parts))
        #: Where the post's own text (minima's ``post-content``) starts in ``text``.
        self.content = len(_SPACES.sub(" ", "".join(self._parts[: self._content])))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in _HIDDEN or "hidden" in values:
            self._hidden += 1
        if tag in _BLOCKS:
            self._parts.append(_BOUNDARY)
        if "post-content" in (values.get("class") or "").split() and self._content < 0:
            self._content = len(self._parts)
        if tag not in ("br", "hr", "img", "input", "meta", "link"):
            self._open.append((tag, values.get("id"), len(self._parts)))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            name, element_id, start = self._open.pop()
            if element_id is not None:
                self.ids[element_id] = _SPACES.sub(" ", "".join(self._parts[start:]).replace(_BOUNDARY, "")).strip()
            if name in _HIDDEN:
                self._hidden -= 1
            if name == tag:
                break
        if tag in _BLOCKS:
            self._parts.append(_BOUNDARY)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._parts.append(data)


def _directive(fragment: str) -> tuple[str, str]:
    """The decoded ``textStart`` and suffix of ``:~:text=[prefix-,]start[,end][,-suffix]``."""
    terms = fragment.removeprefix(":~:text=").split(",")
    assert not terms[0].endswith("-"), f"mikke makes no prefix: {fragment}"
    suffix = unquote(terms[-1][1:]) if len(terms) > 1 and terms[-1].startswith("-") else ""
    return unquote(terms[0]), suffix


def _find(page: str, text: str, suffix: str = "") -> int:
    """Where ``text`` (followed by ``suffix`` past spaces and block ends) first shows in ``page``,
    as a browser compares (case ignored, spaces collapsed, within one block), or -1."""
    pattern = re.escape(_SPACES.sub(" ", text).casefold())
    if suffix:
        pattern += f"[ {_BOUNDARY}]*" + re.escape(_SPACES.sub(" ", suffix).casefold())
    found = re.search(pattern, page.casefold())
    return found.start() if found else -1


def _queries(post: Post) -> Iterator[str]:
    """Queries that should find each passage of the post: the first words of each passage."""
    for section, passage in post.passages():
        words = [w for w in re.split(r"[\s、。，．！？「」（）:：*`\"'#|]+", passage.text) if w]
        if words:
            yield " ".join(words[:2])[:24]
        if section.heading:
            yield section.heading[:24]


@pytest.fixture(scope="module", params=sorted(CONFIGURATIONS))
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Site, Config]:
    built = make_site(tmp_path_factory.mktemp(request.param), request.param)
    config = Config(corpus=built.source, index=built.source.parent / "index")
    update_index(config)
    return built, config.with_site()


def _typography(text: str) -> str:
    """Text with kramdown's typographic symbols written back as typed."""
    for shown, typed in (("—", "---"), ("–", "--"), ("…", "..."), ("“", '"'), ("”", '"'), ("‘", "'"), ("’", "'")):
        text = text.replace(shown, typed)
    return _SPACES.sub(" ", text).strip()


def test_every_heading_id_is_kramdowns(site: tuple[Site, Config]) -> None:
    built, config = site
    checked = 0
    for relpath in iter_post_paths(config):
        post = load_post(relpath, config)
        file = built.file_for(post.url)
        assert file, f"{relpath}: {post.url} is not in _site"
        source = file.read_text(encoding="utf-8")
        content = source[source.index('class="post-content') if 'class="post-content' in source else 0 :]
        rendered = [
            (element_id or "", _typography(html.unescape(re.sub(r"<[^>]+>", "", inner))))
            for element_id, inner in re.findall(r'<h[2-6](?: id="([^"]*)")?>(.*?)</h[2-6]>', content, re.S)
        ]
        at = 0
        for section in post.sections:
            if not section.heading:
                continue
            texts = [text for _, text in rendered[at:]]
            if _typography(section.heading) not in texts:  # a bold line: no heading, no id
                assert section.anchor == "", (relpath, section.heading)
                continue
            at += texts.index(_typography(section.heading))
            assert section.anchor == rendered[at][0], (relpath, section.heading, rendered[at])
            at += 1
            checked += 1
    print(f"\n{built.source.parent.name}: {checked} heading ids equal kramdown's")
    assert checked >= 25


#: Headings whose ids are easy to get wrong (run through kramdown itself, with Jekyll's Ruby).
HARD_HEADINGS = [
    "**日本が**AIで果たす役割", "**日本が**AIで果たす役割", "🚀 準備", "！？", "Hello *world* and `code`", "C++ と C#",
    "100% 完了", "Ünïcödé Ärger", "a -- b --- c ... d", "\"引用\" と 'single'", "<span>HTML</span>内",
    "ＡＢＣ　全角スペース", "タブ\tあり", "x_y_z と __bold__", "[リンク](http://a.b) と ![画像](x.png)",
    "AT&amp;T &copy; 2025", "Ⓐ丸文字 ⅢⅣ", "１２３ 全角数字", "ΣΑΣ ギリシャ", "İstanbul", "한국어 제목",
    "中文标题：测试", "末尾 #", "見出し \\# エスケープ", "The End.", "😀", "1. 番号", "- リスト風", "概要", "概要-1",
    "概要", "Foo & Bar", "foo_bar_", "_foo_", "ｶﾀｶﾅ半角",
]  # fmt: skip
KRAMDOWN_IDS = """
require "json"; require "kramdown"; require "kramdown-parser-gfm"
options = JSON.parse(ARGV[1]).transform_keys(&:to_sym)
html = Kramdown::Document.new(STDIN.read, {input: ARGV[0], auto_ids: true}.merge(options)).to_html
puts JSON.generate(html.scan(/<h2(?: id="([^"]*)")?>/).map { |m| m[0] || "" })
"""


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"auto_id_prefix": "p-"},
        {"anchor_scheme": "kramdown"},
        {"anchor_scheme": "kramdown", "auto_id_stripping": True},
    ],
)
def test_ids_of_hard_headings_are_kramdowns(options: dict[str, object]) -> None:
    body = "".join(f"## {heading}\n\n本文{n}です。\n\n" for n, heading in enumerate(HARD_HEADINGS))
    config = Config().with_options(**options)
    kramdown = {k: v for k, v in options.items() if k != "anchor_scheme"}
    done = subprocess.run(
        ["ruby", "-e", KRAMDOWN_IDS, "GFM" if config.anchor_scheme == "gfm" else "kramdown", json.dumps(kramdown)],
        input=body, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    assert [s.anchor for s in parse_sections(body, config.ids) if s.heading] == json.loads(done.stdout)


def test_every_url_and_fragment_lands_on_its_passage(site: tuple[Site, Config]) -> None:
    built, config = site
    posts = {relpath: load_post(relpath, config) for relpath in iter_post_paths(config)}
    pages: dict[str, _Page] = {}
    seen: set[tuple[str, str]] = set()
    counts: Counter[str] = Counter()
    searcher = Searcher(config)
    try:
        for post in posts.values():
            for query in dict.fromkeys(_queries(post)):
                try:
                    hits = searcher.search(query, limit=50).hits
                except QueryError:  # a heading of symbols only: its passage is found by its words
                    continue
                for hit in hits:
                    passage = next(
                        p
                        for s, p in posts[hit.path].passages()
                        if hit.snippet.text.strip("…").replace(" ", "") in p.text.replace("\n", "").replace(" ", "")
                    )
                    if (hit.path, passage.text) in seen:
                        continue
                    seen.add((hit.path, passage.text))
                    file = built.file_for(hit.url)
                    assert file, f"{hit.url} ({hit.path}) is not in _site"
                    counts["urls"] += 1
                    page = pages.get(hit.path) or pages.setdefault(hit.path, _Page(file.read_text(encoding="utf-8")))
                    fragment = unquote(hit.section_url.partition("#")[2])
                    if not fragment:
                        counts["post URL only"] += 1
                    elif fragment.startswith(":~:text="):
                        start, suffix = _directive(hit.section_url.partition("#")[2])
                        found = _find(page.text, start, suffix)
                        assert found >= 0, f"{hit.section_url}: {start!r} is not shown in {file}"
                        # It lands in the post's text (not its title), in the block showing the passage.
                        assert found >= page.content, f"{hit.section_url}: {start!r} shows first before the post's text"
                        end = page.text.find(_BOUNDARY, found)
                        block = _typography(page.text[page.text.rfind(_BOUNDARY, 0, found) + 1 : end]).casefold()
                        own = _typography(passage.text.replace("\n", " ")).casefold()
                        assert block and (block in own or own[:12] in block), (
                            f"{hit.section_url}: {start!r} shows first in {block[:60]!r}, not in {own[:60]!r}"
                        )
                        counts["text fragments with a suffix" if suffix else "text fragments"] += 1
                    else:
                        assert fragment in page.ids, f"{hit.section_url}: no id {fragment!r} in {file}"
                        assert _typography(page.ids[fragment]) == _typography(hit.heading), fragment
                        counts["ids"] += 1
    finally:
        searcher.close()
    total = sum(len(p.passages()) for p in posts.values())
    print(f"\n{built.source.parent.name}: {dict(counts)} over {len(seen)} of {total} passages")
    assert len(seen) == total
    assert counts["post URL only"] == 0


#: Where the block showing a passage's ``textStart`` is after the browser followed its link.
_WHERE = """([start]) => {
  const fold = (s) => s.toLowerCase().replace(/\\s+/g, " ");
  const blocks = [...document.querySelectorAll(".post-content :is(p, li, td, th, pre)")];
  const block = blocks.find((b) => fold(b.textContent).includes(fold(start)));
  if (!block) return null;
  const box = block.getBoundingClientRect();
  return {top: box.top, bottom: box.bottom, scrolled: window.scrollY, height: window.innerHeight};
}"""


def test_chromium_scrolls_to_each_text_fragment(tmp_path: Path) -> None:
    """Chromium itself follows every text fragment of the default site to its passage's block."""
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("needs Chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    built = make_site(tmp_path, "defaults")
    config = Config(corpus=built.source, index=tmp_path / "index").with_site()
    links = [
        (post.url, passage.fragment)
        for post in (load_post(path, config) for path in iter_post_paths(config))
        for _, passage in post.passages()
        if passage.fragment
    ]
    handler = functools.partial(_QuietHandler, directory=str(built.site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    scrolled = 0
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 700})
            for url, fragment in [*links, (links[-1][0], ":~:text=%E5%AD%98%E5%9C%A8%E3%81%97%E3%81%AA%E3%81%84")]:
                page.goto("about:blank")
                page.goto(f"{origin}{url}#{fragment}")
                page.wait_for_timeout(300)
                start, _ = _directive(fragment)
                where = page.evaluate(_WHERE, [start])
                if start == "存在しない":  # a fragment the page does not show: no scroll
                    assert page.evaluate("window.scrollY") == 0
                    continue
                assert where and where["bottom"] > 0 and where["top"] < where["height"], (url, start, where)
                scrolled += where["top"] + where["scrolled"] > where["height"]  # below the first screen
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    print(f"\nChromium landed on {len(links)} text fragments, {scrolled} of them below the first screen")
    assert scrolled > len(links) // 2


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No access log."""
