"""Posts -> sections -> passages: headings, anchors, markup removal and duplicates."""

from __future__ import annotations

import dataclasses
import datetime as dt
from urllib.parse import unquote

from conftest import FUTURE_POST, IMPACT_POST, SAMPLE_POSTS
from mikke import Config, load_post
from mikke._markdown import parse_sections

CONFIG = Config(corpus=SAMPLE_POSTS.parent)


def test_front_matter_of_a_sample_post() -> None:
    post = load_post(FUTURE_POST, CONFIG)
    assert post.title == "Nscaleの11億ドル調達、AIインフラの未来をどう変えるのか？"  # ** removed
    assert post.date == dt.date(2025, 9, 26)
    assert post.tags == ("AI", "最新ニュース", "技術動向", "投資", "チップ")
    assert post.categories == ("投資分析",)
    assert post.excerpt == "Nscale、AIインフラ11億ドル調達について詳細に分析します。"
    assert post.url == "/%E6%8A%95%E8%B3%87%E5%88%86%E6%9E%90/2025/09/26/nscale-funding-ai-infrastructure-future.html"


def test_sections_of_the_future_post() -> None:
    sections = load_post(FUTURE_POST, CONFIG).sections
    headings = [s.heading for s in sections]
    # bold-only paragraphs and `### **…**` are headings; ---END--- is not text
    assert headings[:3] == [
        "Nscaleの11億ドル調達、AIインフラの未来をどう変えるのか？",
        "AIインフラ競争の多層性と戦略的意味合い",
        "投資家が注目すべき点：バリュエーションと成長性",
    ]
    assert "激化するAIインフラ競争の裏側：潜在的リスクと新たな課題" in headings
    assert not any("END" in p.text or "**" in p.text for s in sections for p in s.passages)


def test_kramdown_anchors_follow_the_renderer() -> None:
    anchors: dict[str, str] = {}
    for section in load_post(FUTURE_POST, dataclasses.replace(CONFIG, anchor_scheme="kramdown")).sections:
        anchors.setdefault(section.heading, section.anchor)
    # `### **激化するAI…**`: kramdown drops the leading non-ASCII text and keeps "AI"
    assert anchors["激化するAIインフラ競争の裏側：潜在的リスクと新たな課題"] == "ai"
    assert anchors["日本がAIインフラ競争で果たすべき役割とチャンス"] == "ai-1"
    assert anchors["未来への招待：変化の波を乗りこなすために"] == "section"


def test_gfm_anchors_keep_japanese_and_bold_lines_link_by_their_text() -> None:
    sections = load_post(FUTURE_POST, CONFIG).sections
    anchors = {s.heading: s.anchor for s in reversed(sections)}  # the first of repeated headings
    assert anchors["日本がAIインフラ競争で果たすべき役割とチャンス"] == "日本がaiインフラ競争で果たすべき役割とチャンス"
    assert anchors["未来への招待：変化の波を乗りこなすために"] == "未来への招待変化の波を乗りこなすために"
    # A bold line gets no id: each passage under it links with a text fragment of its own text.
    bold = next(s for s in sections if s.heading == "投資家が注目すべき点：バリュエーションと成長性")
    assert bold.anchor == ""
    for passage in bold.passages:
        start = unquote(passage.fragment.removeprefix(":~:text="))
        assert passage.text.startswith(start) and len(start) >= 6


def test_impact_post_starts_with_an_unheaded_section() -> None:
    sections = load_post(IMPACT_POST, CONFIG).sections
    assert (sections[0].heading, sections[0].anchor) == ("", "")
    assert sections[1].heading == "AIネイティブ・インフラが切り開く未来：既存クラウドとの決定的な差異"


def test_repeated_sections_are_indexed_once() -> None:
    post = load_post(FUTURE_POST, CONFIG)
    texts = [p.text for _, p in post.passages()]
    source = (SAMPLE_POSTS.parent / FUTURE_POST).read_text(encoding="utf-8")
    repeated = "閉ループ直接液体冷却のような最先端技術は、日本の産業界が培ってきた"
    assert source.count(repeated) == 2
    assert sum(repeated in t for t in texts) == 1
    assert len(texts) == len(set(texts))


def test_markup_is_removed_and_code_is_kept_as_code() -> None:
    body = (
        "## 見出し {#custom}\n\n"
        "本文の**強調**と[リンク](https://example.com)と![画像](a.png)と<span>HTML</span>。"
        "{% include note.html %}{{ page.title }}\n\n"
        "```python\nprint('データ')\n```\n\n"
        "- 項目一\n- 項目**二**\n\n"
        "| 列 | 値 |\n|---|---|\n| 温度 | 30 |\n"
    )
    (section,) = parse_sections(body)
    assert section.anchor == "custom"
    assert [(p.kind, p.text) for p in section.passages] == [
        ("text", "本文の強調とリンクととHTML。"),
        ("code", "print('データ')"),
        ("text", "項目一\n項目二"),
        ("text", "列 値\n温度 30"),
    ]


def test_a_heading_reads_as_the_page_shows_it() -> None:
    # Its link text, taken from the whole document's parse: a reference defined further down resolves.
    body = "## [液体冷却][ref]の**基礎**\n\n本文です。\n\n### 運用 {#ops}\n\n本文二です。\n\n[ref]: https://example.com/cooling\n"
    assert [(s.heading, s.anchor) for s in parse_sections(body)][1:] == [("運用", "ops")]
    assert [s.heading for s in parse_sections(body)] == ["液体冷却の基礎", "運用"]


def test_a_removed_line_ends_the_paragraph_around_it() -> None:
    # The cleaned Markdown is parsed again: a line that cleaning empties (an MDX component, a
    # DocFX zone marker) ends a paragraph, as the blank line it leaves does. In the raw source
    # both lines continue the paragraph, so cleaning its blocks (one parse) would give one passage.
    for removed in ("<Note />", ':::zone target="docs"'):
        (section,) = parse_sections(f"前の段落です。\n{removed}\n後の段落です。\n")
        assert [p.text for p in section.passages] == ["前の段落です。", "後の段落です。"], removed


def test_code_and_headings_are_what_the_parse_of_the_cleaned_text_finds() -> None:
    # A heading inside a JSX component: a heading once the component's lines are removed, so its
    # explicit id (which prose cleaning would drop) is kept.
    (section,) = parse_sections("<DeepDive>\n#### 仕組み {/*how-it-works*/}\n\n本文です。\n\n</DeepDive>\n")
    assert (section.heading, section.anchor) == ("仕組み", "how-it-works")
    # An indented code block looks like prose line by line: the parse finds it, and it keeps its braces.
    sections = parse_sections("本文です。\n\n    x = {{ a }}  # {% raw %}\n\n後の文です。\n")
    assert [(p.kind, p.text) for p in sections[0].passages] == [
        ("text", "本文です。"),
        ("code", "x = {{ a }}  # "),
        ("text", "後の文です。"),
    ]
    # cpprefjp's annotation lines under an indented code block are not shown, nor indexed.
    body = "効果：\n\n    ```cpp\n    f();\n    ```\n    * f[link f.md]\n\n## 次\n\n本文。\n"
    assert [p.text for p in parse_sections(body)[0].passages] == ["効果：", "```cpp\nf();\n```"]


def test_long_paragraph_is_split_at_sentence_ends() -> None:
    sentences = [f"液体冷却は第{i}世代のデータセンターの電力効率を大きく改善する技術です。" for i in range(20)]
    (section,) = parse_sections("".join(sentences))
    lengths = [len(p.text) for p in section.passages]
    assert len(lengths) > 1 and max(lengths) <= 400
    assert all(p.text.endswith("。") for p in section.passages)
