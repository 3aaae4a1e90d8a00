"""Real sites: the Markdown dialects of four real Japanese sites parse into clean passages.

Real pages come from ``$MIKKE_SITES`` (default ``../shared/data/sites``); those tests
skip when the data is absent. The small inline documents below pin each construct.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from pathlib import Path

import pytest

from mikke import Config, iter_post_paths, load_post
from mikke._corpus import parse_post
from mikke._markdown import parse_sections

REPO = Path(__file__).resolve().parent.parent
SITES = Path(os.environ.get("MIKKE_SITES", REPO.parent / "shared" / "data" / "sites"))
MARKUP = re.compile(r"{%|{{|{:|{/\*|\]\(|\[!|<div|</?[A-Z][a-z]\w*>|\w\[(?:meta|link|color) ")


def site(name: str) -> Config:
    if not (SITES / name).is_dir():
        pytest.skip(f"site data not found at {SITES / name} (set MIKKE_SITES)")
    return Config(corpus=SITES / name)


def texts(body: str) -> list[tuple[str, str]]:
    """(kind, text) of every passage of a Markdown body."""
    return [(p.kind, p.text) for s in parse_sections(body) for p in s.passages]


def anchors(body: str) -> list[tuple[str, str]]:
    return [(s.heading, s.anchor) for s in parse_sections(body)]


# --- the four real sites -------------------------------------------------------------------


def test_chrome_eleventy_shortcodes_and_kramdown_ids() -> None:
    post = load_post("site/ja/articles/webtransport/index.md", site("chrome-dev-ja"))
    sections = {s.heading: s for s in post.sections}
    assert sections["データグラムAPI"].anchor == "datagram"  # `### データグラムAPI {: #datagram }`
    body = [p.text for s in post.sections for p in s.passages if p.kind == "text"]
    assert any(t.startswith("この提案は、オリジンの試用期間中も変更され続けます。") for t in body)  # {% Aside %} body
    assert not any(MARKUP.search(t) for t in body)


def test_chrome_html_table_keeps_its_text_row_by_row() -> None:
    post = load_post("site/ja/articles/contact-picker/index.md", site("chrome-dev-ja"))
    status = next(s for s in post.sections if s.anchor == "status")
    assert status.passages[0].text.splitlines()[:3] == [
        "ステップ 状態",
        "1.説明者を作成します 完了",
        "2.仕様の初期ドラフトを作成します 完了",
    ]


def test_react_mdx_components_and_anchor_comments() -> None:
    post = load_post("src/content/learn/build-a-react-app-from-scratch.md", site("react-ja"))
    assert post.title == "ゼロからの React アプリ構築"
    assert ("ステップ 1：ビルドツールのインストール", "step-1-install-a-build-tool") in [
        (s.heading, s.anchor) for s in post.sections
    ]
    body = [p.text for _, p in post.passages() if p.kind == "text"]
    assert any(t.startswith("React の始め方としてゼロからスタートするのは簡単ですが") for t in body)  # <DeepDive>
    assert not any(MARKUP.search(t) for t in body)


def test_cpprefjp_title_code_and_annotations() -> None:
    post = load_post("reference/vector/vector/push_back.md", site("cpprefjp"))
    assert post.title == "push_back"  # no front matter: the first heading
    code = [p.text for _, p in post.passages() if p.kind == "code"]
    assert code[0].startswith("void push_back(const T& x);")
    assert any("std::vector<std::string> v;" in c for c in code)
    summary = next(s for s in post.sections if s.heading == "概要")
    assert [p.text for p in summary.passages] == ["新たな要素を末尾に追加する。"]
    assert not any(re.search(r"\[(meta|link|color) ", p.text) for _, p in post.passages())


def test_docfx_front_matter_notes_includes_and_html_anchors() -> None:
    post = load_post("articles/human-resources/hr-benefits-aca-reports.md", site("ms-dynamics365-ja"))
    assert post.title == "医療費負担適正化法 (Affordable Care Act) 報告の生成"
    assert post.date == dt.date(2020, 2, 3)  # ms.date: 02/03/2020
    assert ("はじめに", "getting-started") in [(s.heading, s.anchor) for s in post.sections]  # <a name=…>
    body = [p.text for _, p in post.passages()]
    assert "ACA レポートは、米国の法人に対してのみ有効になります。" in body  # > [!NOTE] without the marker
    assert not any(MARKUP.search(t) for t in body)


def test_impossible_front_matter_dates_do_not_break_a_page() -> None:
    config = site("ms-dynamics365-ja")
    for path in (
        "articles/human-resources/configure-links.md",
        "articles/finance/localizations/e-invoicing-fr-get-started.md",
    ):
        assert load_post(path, config).sections


def test_every_chrome_page_parses_with_little_markup_left() -> None:
    config = site("chrome-dev-ja")
    paths = list(iter_post_paths(config))
    text = [p.text for path in paths for _, p in load_post(path, config).passages() if p.kind == "text"]
    leaking = [t for t in text if MARKUP.search(t)]
    assert len(paths) == 274 and len(text) > 5000
    assert len(leaking) <= 0.005 * len(text), leaking[:5]


def test_markup_residue_bench_finds_old_style_leaks() -> None:
    sys.path.insert(0, str(REPO / "bench"))
    from markup_residue import leaked, residue, without_code

    assert residue("vector[meta header]\n{% Aside %}<div>") == ["{%", "* x[", "html"]
    assert leaked("<Suspense> と <div>", without_code("`<Suspense>` と <div>")) == ["html"]
    assert leaked("HTML の <img> タグ", "HTML の &lt;img&gt; タグ") == []


# --- each construct on a small document ----------------------------------------------------


def test_template_tags_paired_shortcodes_and_silent_blocks() -> None:
    body = (
        "{% Aside 'caution' %}注意して使う。{% endAside %}\n\n"
        "{% comment %}\n下書きのメモ。\n{% endcomment %}\n\n"
        "{% capture note %}変数の中身。{% endcapture %}\n\n"
        "題名は{{ page.title }}です。{# Nunjucks のコメント #}\n\n"
        "`{{ page.title }}` と書く。\n\n"
        "```liquid\n{% raw %}{{ page.title }}{% endraw %}\n```\n"
    )
    assert texts(body) == [
        ("text", "注意して使う。"),
        ("text", "題名はです。"),
        ("text", "{{ page.title }} と書く。"),
        ("code", "{{ page.title }}"),
    ]


def test_liquid_highlight_blocks_are_code() -> None:
    body = '説明です。\n\n{% highlight ruby %}\nputs "{{ x }}"\n{% endhighlight %}\n\n後の文。\n'
    assert texts(body) == [("text", "説明です。"), ("code", 'puts "{{ x }}"'), ("text", "後の文。")]


def test_mdx_imports_components_comments_and_ids() -> None:
    body = (
        "import Diagram from './Diagram';\n\n"
        "<Intro>\nはじめの説明。\n</Intro>\n\n"
        '<Diagram name="flow" height={350}>\n\n図の説明。\n\n</Diagram>\n\n'
        "{/* 翻訳メモ：あとで直す */}\n\n"
        "## 状態 {/*state*/}\n\n"
        "<Sandpack>\n\n```js\nexport default function App() {\n  return <div style={{color: 'red'}} />;\n}\n```\n"
        "\n</Sandpack>\n"
    )
    assert texts(body) == [
        ("text", "はじめの説明。"),
        ("text", "図の説明。"),
        ("code", "export default function App() {\n  return <div style={{color: 'red'}} />;\n}"),
    ]
    assert anchors(body)[-1] == ("状態", "state")


def test_kramdown_attribute_lists() -> None:
    body = "## 背景 {: #background }\n\n本文です。\n{: .note}\n\n### 詳細{: #details}\n\n続き。\n"
    assert anchors(body) == [("背景", "background"), ("詳細", "details")]
    assert texts(body) == [("text", "本文です。"), ("text", "続き。")]


def test_docfx_includes_notes_zones_and_anchors() -> None:
    body = (
        '# <a name="intro"></a>概要\n\n'
        "[!INCLUDE [banner](../includes/banner.md)]\n\n"
        "> [!NOTE]\n> この機能はプレビューです。\n\n"
        '> [!div class="checklist"]\n> * 手順を確認する\n\n'
        ':::zone pivot="ja"\n\n地域別の説明。\n\n:::zone-end\n'
    )
    assert anchors(body) == [("概要", "intro")]
    assert texts(body) == [
        ("text", "この機能はプレビューです。"),
        ("text", "手順を確認する"),
        ("text", "地域別の説明。"),
    ]


def test_html_blocks_keep_text_not_tags() -> None:
    body = (
        '<div class="box">\n<p>囲みの<b>本文</b>です。</p>\n</div>\n\n'
        "<table>\n<tr><th>項目</th><th>値</th></tr>\n<tr><td>温度</td><td>30&nbsp;度</td></tr>\n</table>\n\n"
        "<pre><code>&lt;div&gt;コード&lt;/div&gt;</code></pre>\n\n"
        '<script>alert(1)</script>\n\n<!-- 隠れたメモ -->\n\n<img src="a.png" alt="画像">\n'
    )
    assert texts(body) == [
        ("text", "囲みの本文です。"),
        ("text", "項目 値\n温度 30 度"),
        ("code", "<div>コード</div>"),
    ]


def test_reference_links_cpprefjp_annotations_and_code_fences() -> None:
    body = (
        "詳しくは[仕様書][spec]と[入門]を参照。\n\n[spec]: https://example.com/spec\n[入門]: /intro.md\n\n"
        "```cpp\nstd::vector<int> v;\n```\n* std::vector[link /reference/vector/vector.md]\n\n"
        "- 手順一\n\n    ```sh\n    make\n\n> 引用の本文。\n"  # a fence left open in a list item ends with the item
    )
    assert texts(body) == [
        ("text", "詳しくは仕様書と入門を参照。"),
        ("code", "std::vector<int> v;"),
        ("text", "手順一"),
        ("code", "make"),
        ("text", "引用の本文。"),
    ]


def test_front_matter_variants() -> None:
    config = Config()
    post = parse_post(
        "a.md", "---\ndate: 2024-05-26 10:00:00 +0900\ntags: AI, 冷却\n---\n# 見出し\n本文。\n", "", config
    )
    assert (post.title, post.date, post.tags) == ("見出し", dt.date(2024, 5, 26), ("AI", "冷却"))
    post = parse_post("b.md", "---\ndate: 2024-05-26\ntags: [AI, 2025]\ntitle: 題\n---\n本文。\n", "", config)
    assert (post.title, post.date, post.tags) == ("題", dt.date(2024, 5, 26), ("AI", "2025"))
    post = parse_post("_posts/2023-01-02-no-title.md", "本文だけ。\n", "", config)
    assert (post.title, post.date) == ("no-title", dt.date(2023, 1, 2))
    post = parse_post("c.md", "---\ntitle:\ndate: 2024-13-45\n---\n", "", config)
    assert (post.title, post.date, post.sections) == ("c", None, ())


def test_which_files_are_posts_is_configurable(tmp_path: Path) -> None:
    for name in ("_posts/2025-01-01-a.md", "docs/b.md", "docs/c.markdown", "docs/d.mdx", "_site/e.md", "f.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("本文。\n", encoding="utf-8")
    assert list(iter_post_paths(Config(corpus=tmp_path))) == [
        "_posts/2025-01-01-a.md",
        "docs/b.md",
        "docs/c.markdown",
        "docs/d.mdx",
    ]
    only_posts = Config(corpus=tmp_path, include=("_posts/**",), exclude=())
    assert list(iter_post_paths(only_posts)) == ["_posts/2025-01-01-a.md"]
