"""Markdown body -> sections -> passages of plain text.

Real sites write more than CommonMark, so the body is first cleaned outside code
blocks and inline code (``parse_cleaned``): Liquid/Nunjucks tags (``{% … %}``,
``{{ … }}``, ``{# … #}``; the bodies of ``comment``, ``capture`` and block ``set``
dropped, those of other paired shortcodes kept), MDX (JSX component lines,
``import``/``export`` lines, ``{/* … */}`` comments), kramdown attribute lists
(``{: .class}``), DocFX (``[!INCLUDE …]``, the ``[!NOTE]``-style markers of a
quote whose text is kept, ``:::zone`` lines) and cpprefjp's annotation lines
(``* name[link …]``). Heading ids written as ``{#id}``, ``{: #id }``,
``{/*id*/}`` or ``<a name="id"></a>`` become the section's anchor. Every step
runs in linear time, so a hostile file cannot stall parsing.

Headings are ``#``..``######``, ``### **…**`` and paragraphs that are only
``**bold**``. Emphasis is removed, links keep their text, images are dropped,
HTML blocks keep only their text (``<pre>`` becomes code), code blocks become
passages of kind ``code``, and separator lines such as ``---END---`` are not
text. A passage whose normalized text repeats an earlier one of the same
document is kept once.

>>> sections = parse_sections("導入。\\n\\n## GPUの話\\n\\n**GPU**は速い。\\n\\n---END---\\n")
>>> [(s.heading, s.anchor, [p.text for p in s.passages]) for s in sections]
[('', '', ['導入。']), ('GPUの話', 'gpuの話', ['GPUは速い。'])]
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import itertools
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ._anchors import HeadingIds, IdSettings
from ._fragments import Page, fold
from ._models import Passage, Section

#: Bump when the same file gives other passages: a stored index is then rebuilt.
PARSER_VERSION = 5
#: Passages longer than this are split at sentence ends.
MAX_PASSAGE_CHARS = 400
#: Sentences at least this long are indexed once per document (repeated sections).
MIN_DEDUP_SENTENCE_CHARS = 12
#: Longest template tag or MDX comment removed; a longer "tag" is left as text (a stray ``{%``).
MAX_TAG_CHARS = 5000
#: A ``**bold**`` paragraph longer than this is emphasis, not a heading.
MAX_BOLD_HEADING_CHARS = 80

_MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
_MD_BLOCKS = MarkdownIt("commonmark", {"html": True}).enable("table").disable(["inline", "text_join"])  # no inline


# Inline code spans (kept as written) and their placeholders while the rest is cleaned.
_CODE_SPAN = re.compile(r"(?<![`\\])(`+)(?!`)(?:[^\n`]|`(?!\1)|\n(?![ \t]*\n)){1,2000}?(?<!`)\1(?!`)")
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")

# Template tags (removed by ``drop_spans``, in linear time and bounded so that a stray tag cannot swallow a page).
_LIQUID_HIGHLIGHT = re.compile(r"^[ \t]*{%-?\s*highlight\s+(\w+)[^%\n]*%}[ \t]*$", re.M)
_LIQUID_ENDHIGHLIGHT = re.compile(r"^[ \t]*{%-?\s*endhighlight\s*-?%}[ \t]*$", re.M)
_LIQUID_RAW = re.compile(r"{%-?\s*(?:raw|endraw)\s*-?%}")
_SILENT_TAGS = tuple(  # paired tags whose body is not shown where it is written
    (re.compile(r"{%-?\s*" + name + r"\b[^%=]{0,200}%}"), re.compile(r"{%-?\s*end" + name + r"\s*-?%}"))
    for name in ("comment", "capture", "set")
)

# MDX.
_JSX_STRING = re.compile(r"""{(['"])(?:(?!\1)[^\\\n]|\\.){0,200}\1}""")
_JSX_LINE = re.compile(r"^[ \t]*</?[A-Z][\w.]*(?:\s(?:[^<>{}]|{[^{}]*})*?)?/?>[ \t]*$", re.M)
_MDX_IMPORT = re.compile(
    r"^(?:import\s[^\n]*?(?:from\s+)?['\"][^'\"\n]+['\"];?|export\s+(?:const|let)\s[^\n]*;)[ \t]*$", re.M
)

# kramdown, DocFX, cpprefjp, HTML comments.
_IAL_INLINE = re.compile(r"(?:(?<=\S)|(?<=\S\n))[ \t]*{:[^{}\n]*}")  # after text on its line or the line above
_DOCFX_INCLUDE = re.compile(r"\[!include\s*\[[^\[\]\n]*\]\([^()\n]*\)\]", re.I)
_DOCFX_MARKER = re.compile(
    r"\[!(?:note|tip|important|warning|caution|div|video|重要|注意|ヒント|メモ|警告)\b[^\[\]\n]*\]", re.I
)
_DOCFX_FENCE = re.compile(r"^[ \t]*:::.*$", re.M)
_CPPREFJP_ANNOTATION = re.compile(
    r"^[ \t]*\*[ \t]+\S[^\n]*\[(?:meta|link|color|italic)(?:[ \t][^\[\]\n]*)?\][ \t]*$", re.M
)

# Headings and blocks.
_HEADING_ID = re.compile(r"\s*(?:{:?\s*#([\w\-]+)[^{}]*}|{/\*\s*([\w\-]+)\s*\*/})\s*$")
_HTML_ANCHOR = re.compile(r"""<a\s+(?:name|id)\s*=\s*["']([^"']+)["']""", re.I)
_IAL_LINE = re.compile(r"^{:\s*#([\w\-]+)[^{}]*}$")
_SEPARATOR = re.compile(r"^\s*[-=*_~#+]{3,}\s*[A-Za-z0-9 ]{0,20}\s*[-=*_~#+]{3,}\s*$")
_SEPARATOR_LINE = re.compile(r"^[ \t]*([-=*_~#+])\1{2,}[ \t]*[A-Za-z0-9][A-Za-z0-9 ]{0,19}\1{3,}[ \t]*$", re.M)
_CONTAINERS = r"(?:[ \t]*+(?:>|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t])))*+[ \t]*+"  # quote and list markers
_FENCE_OPEN = re.compile(_CONTAINERS + r"(`{3,}(?=[^`\n]*$)|~{3,})")
_ATX_HEADING = re.compile(_CONTAINERS + r"#{1,6}(?:[ \t]|$)")
_SETEXT_UNDERLINE = re.compile(r"[ \t]{0,3}(?:=+|-+)[ \t]*$")
_SENTENCE = re.compile(r"[^。！？!?\n]*[。！？!?\n]|[^。！？!?\n]+")  # up to its end mark, or the text's end
_SPACE = re.compile(r"\s+")

# HTML blocks -> text.
_HTML_SCRIPT = (re.compile(r"<(?:script|style)\b", re.I), re.compile(r"</(?:script|style)\s*>", re.I))
_HTML_BREAK = re.compile(
    r"</?(?:address|article|aside|blockquote|br|caption|dd|details|div|dl|dt|figcaption|figure|footer|h[1-6]|"
    r"header|hr|li|main|nav|ol|p|pre|section|summary|table|tbody|tfoot|thead|tr|ul)\b[^<>]*>",
    re.I,
)
_HTML_CELL = re.compile(r"</?(?:td|th)\b[^<>]*>", re.I)
_HTML_TAG = re.compile(r"""</?[A-Za-z][\w.:-]*(?:\s(?:[^<>"']|"[^"<>]*"|'[^'<>]*')*)?/?>""")


#: In a block's ``shown`` text: where the page's text is not one run (inline HTML, an image),
#: and where a table cell ends (a boundary between blocks of the page).
GAP, CELL = "\ue002", "\ue003"
#: Where a text fragment stops in prose: kramdown shows these as typographic quotes and dashes.
_TYPOGRAPHIC = re.compile(r"[\"']|--|\.\.\.|<<|>>")


@dataclass
class _Block:
    kind: str  # "heading" | "bold" | "text" | "code" | "ial"
    text: str
    raw: str = ""
    explicit_id: str = ""
    children: Sequence[Token] = ()  # a heading's inline tokens
    shown: str = ""  # the text with GAP and CELL marks ("" when the page may show it otherwise)


@dataclass
class _SectionBuilder:
    heading: str
    anchor: str
    passages: list[Passage] = field(default_factory=list)


def digest(text: str) -> str:
    """Identity of a passage's normalized text (width, case and spacing ignored).

    >>> digest("ＡＩ インフラ") == digest("aiインフラ")
    True
    """
    key = "".join(unicodedata.normalize("NFKC", text).lower().split())  # the whitespace ``\s`` matches
    return hashlib.blake2b(key.encode("utf-8"), digest_size=12).hexdigest()


def drop_spans(text: str, opener: str, closer: str, limit: int) -> str:
    """Remove every ``opener … closer`` span of at most ``limit`` characters, in linear time.

    (A lazy regex such as ``<!--.*?-->`` rescans the rest of the text for each unclosed opener.)

    >>> drop_spans("a<!-- x -->b<!-- unclosed", "<!--", "-->", 100)
    'ab<!-- unclosed'
    """
    parts, kept, search, end = [], 0, 0, -1
    while (start := text.find(opener, search)) >= 0:
        if end < start + len(opener):  # the first closer after this opener
            end = text.find(closer, start + len(opener))
            if end < 0:
                break
        if end + len(closer) - start <= limit:
            parts.append(text[kept:start])
            kept = search = end + len(closer)
        else:
            search = start + 1
    parts.append(text[kept:])
    return "".join(parts)


def strip_liquid(source: str) -> str:
    """Drop template tags (Liquid, Nunjucks): ``{% … %}``, ``{{ … }}``, ``{# … #}``.

    >>> strip_liquid("a{% include x.html %}b{{ page.title }}c")
    'abc'
    """
    source = _LIQUID_RAW.sub("", source)
    if "{%" in source:
        for opening, closing in _SILENT_TAGS:
            source = _drop_paired(source, opening, closing)
    for opener, closer in (("{%", "%}"), ("{{", "}}"), ("{#", "#}")):
        if opener in source:
            source = drop_spans(source, opener, closer, MAX_TAG_CHARS)
    return source


def _drop_paired(source: str, opening: re.Pattern[str], closing: re.Pattern[str]) -> str:
    """Drop every span from an ``opening`` match to the next ``closing`` match, in linear time.

    >>> _drop_paired("a<script>x</script>b<SCRIPT>", *_HTML_SCRIPT)
    'ab<SCRIPT>'
    """
    parts, kept = [], 0
    for start in opening.finditer(source):
        if start.start() < kept:
            continue
        end = closing.search(source, start.end())
        if end is None:
            break
        parts.append(source[kept : start.start()])
        kept = end.end()
    return "".join(parts) + source[kept:] if parts else source


def _clean_prose(text: str) -> str:
    """Remove site-generator syntax from Markdown that is not in a code fence or heading.

    Inline code spans are left as written: ``{{ x }}`` in backticks shows on the page as is.
    """
    spans: list[str] = []

    def hide(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"\ue000{len(spans) - 1}\ue001"

    if "`" in text:  # each pattern runs only where its text can match: most prose has none of them
        text = _CODE_SPAN.sub(hide, text)
    text = drop_spans(drop_spans(text, "{/*", "*/}", MAX_TAG_CHARS), "<!--", "-->", len(text))
    text = strip_liquid(text)
    if "import" in text or "export" in text:
        text = _MDX_IMPORT.sub("", text)
    if "<" in text:
        text = _JSX_LINE.sub("", text)
    text = _DOCFX_MARKER.sub("", _DOCFX_INCLUDE.sub("", text))
    if "[" in text:
        text = _CPPREFJP_ANNOTATION.sub("", text)
    if ":::" in text:
        text = _DOCFX_FENCE.sub("", text)
    text = _JSX_STRING.sub(" ", text)
    if "{:" in text:
        text = _IAL_INLINE.sub("", text)
    text = _SEPARATOR_LINE.sub("", text)
    return _PLACEHOLDER.sub(lambda m: spans[int(m.group(1))], text) if spans else text


def _guessed_kinds(lines: Sequence[str]) -> list[str]:
    """Each line's kind, "code", "heading" or "prose", as the Markdown parser is expected to find it:
    fenced code, ``#`` headings and underlined (setext) headings, in lists and quotes too. Linear time.

    >>> _guessed_kinds(["# 見出し\\n", "本文\\n", "> ```js\\n", "> x\\n", "> ```\\n", "下線\\n", "===\\n"])
    ['heading', 'prose', 'code', 'code', 'code', 'heading', 'heading']
    """
    kinds = ["prose"] * len(lines)
    fence = ""  # the open fence's marker
    for n, line in enumerate(lines):
        if fence:
            kinds[n] = "code"
            rest = line.lstrip(" \t>").rstrip()  # after the quote markers
            if len(rest) >= len(fence) and rest == rest[0] * len(rest) and rest[0] == fence[0]:
                fence = ""
        elif opening := _FENCE_OPEN.match(line):
            fence = opening.group(1)
            kinds[n] = "code"
        elif _ATX_HEADING.match(line):
            kinds[n] = "heading"
        elif _SETEXT_UNDERLINE.match(line) and n and lines[n - 1].strip() and kinds[n - 1] == "prose":
            start = n
            while start and lines[start - 1].strip() and kinds[start - 1] == "prose":
                start -= 1
            kinds[start : n + 1] = ["heading"] * (n + 1 - start)
    return kinds


def _parsed_kinds(tokens: Sequence[Token], count: int) -> list[str]:
    """Each of ``count`` lines' kind, "code", "heading" or "prose", in markdown-it's ``tokens``."""
    kinds = ["prose"] * count
    for token in tokens:
        if token.map and token.type in ("fence", "code_block", "heading_open"):
            start, end = token.map
            kinds[start:end] = ["heading" if token.type == "heading_open" else "code"] * (end - start)
    return kinds


def _cleaned(lines: Sequence[str], kinds: Sequence[str]) -> tuple[str, list[str]]:
    """The lines cleaned run by run of one kind, and the kind of each line of the result."""
    parts: list[str] = []
    cleaned_kinds: list[str] = []
    start = 0
    for end in range(1, len(lines) + 1):
        if end == len(lines) or kinds[end] != kinds[start]:
            text, kind = "".join(lines[start:end]), kinds[start]
            if kind == "code":
                part = _LIQUID_RAW.sub("", text)
            elif kind == "heading":
                part = strip_liquid(text)
            else:
                part = _clean_prose(text)
            parts.append(part)
            cleaned_kinds += [kind] * len(part.splitlines())
            start = end
    return "".join(parts), cleaned_kinds


def _with_fences(source: str) -> str:
    """``source`` with Liquid's ``{% highlight %}`` blocks written as code fences."""
    if "highlight" not in source:  # most pages: the patterns would try every line
        return source
    return _LIQUID_ENDHIGHLIGHT.sub("```", _LIQUID_HIGHLIGHT.sub(r"```\1", source))


def clean_source(source: str) -> str:
    """The Markdown with site-generator syntax removed; code blocks are left as written.

    Code blocks and headings are those the Markdown parser finds in ``source``, so an
    unclosed fence in a list item ends where the renderer ends it.

    >>> clean_source("{% Aside %}注意{% endAside %}\\n\\n<Note>\\nメモ {: .note}\\n</Note>\\n").split()
    ['注意', 'メモ']
    >>> clean_source("> [!NOTE]\\n> 注意書き\\n\\n```js\\nx = {{a: 1}};\\n```\\n").split()
    ['>', '>', '注意書き', '```js', 'x', '=', '{{a:', '1}};', '```']
    """
    source = _with_fences(source)
    lines = source.splitlines(keepends=True)
    return _cleaned(lines, _parsed_kinds(_MD_BLOCKS.parse(source), len(lines)))[0]


def parse_cleaned(source: str) -> list[Token]:
    """markdown-it's tokens of the Markdown with site-generator syntax removed.

    Cleaning goes by line kind (code, heading, prose), which only a parse tells, and it can
    change what a parse finds (an emptied line ends a paragraph). So the kinds are guessed
    from the lines (:func:`_guessed_kinds`), and the parse of the text cleaned by them is kept
    when it finds the same kinds (99.7% of ms-dynamics365-ja's pages: one parse); otherwise
    the text is cleaned by the kinds a parse of ``source`` finds (:func:`clean_source`).
    """
    lines = _with_fences(source).splitlines(keepends=True)
    cleaned, kinds = _cleaned(lines, _guessed_kinds(lines))
    tokens = _MD.parse(cleaned)
    if _parsed_kinds(tokens, len(kinds)) == kinds:
        return tokens
    return _MD.parse(clean_source(source))


def inline_text(source: str) -> str:
    """Plain text of one line of inline Markdown (for titles and headings).

    >>> inline_text("**Nscaleの[調達](/x)**{{ site.suffix }}")
    'Nscaleの調達'
    """
    source = _IAL_INLINE.sub("", drop_spans(strip_liquid(source), "{/*", "*/}", MAX_TAG_CHARS))
    tokens = _MD.parseInline(source)
    return _plain(tokens[0].children or []).strip() if tokens else ""


def _html_shown(source: str) -> str:
    """HTML without comments (an unclosed one hides the rest, as in a browser), scripts and styles."""
    source = drop_spans(source, "<!--", "-->", len(source)).split("<!--", 1)[0]
    return _drop_paired(source, *_HTML_SCRIPT)


def html_text(source: str) -> str:
    """The text of an HTML block: tags and comments dropped, one line per block element.

    >>> html_text("<table><tr><td>温度</td>\\n<td>30 &amp; <b>上昇</b></td></tr><tr><td>湿度</td></tr></table>")
    '温度 30 & 上昇\\n湿度'
    """
    source = _SPACE.sub(" ", _html_shown(source))  # line breaks in HTML are spaces
    source = _HTML_CELL.sub(" ", _HTML_BREAK.sub("\n", source))
    lines = (inline_text(_HTML_TAG.sub("", line)) for line in source.splitlines())
    return "\n".join(_SPACE.sub(" ", line) for line in lines if line)


def _plain(children: Sequence[Token], gaps: bool = False) -> str:
    """Text of inline tokens: emphasis and links unwrapped, images and HTML dropped
    (marked with ``GAP`` when ``gaps``)."""
    parts = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif gaps and child.type in ("html_inline", "image"):
            parts.append(GAP)
    return "".join(parts)


def _shown(children: Sequence[Token], text: str) -> str:
    """``text`` (the stripped plain text of ``children``) with its ``GAP`` marks, or "" if they do not fit."""
    shown = _plain(children, gaps=True).strip(" \t\n\r" + GAP)
    return shown if shown.replace(GAP, "") == text else ""


def _unmarked(shown: str) -> str:
    return shown.replace(CELL, " ").replace(GAP, "")


def _is_bold_only(children: Sequence[Token]) -> bool:
    kinds = [c.type for c in children if not (c.type == "text" and not c.content.strip())]
    return (
        len(kinds) >= 3
        and kinds[0] == "strong_open"
        and kinds[-1] == "strong_close"
        and ("strong_open" not in kinds[1:-1])
    )


def _heading(content: str, children: Sequence[Token]) -> _Block:
    """A heading block (``children``: the parsed ``content``), its explicit id taken from ``{#id}``,
    ``{/*id*/}`` or ``<a name>``."""
    match = _HEADING_ID.search(content)
    raw = content[: match.start()] if match else content
    explicit = (match.group(1) or match.group(2)) if match else ""
    if not explicit and (anchor := _HTML_ANCHOR.search(raw)):
        explicit = anchor.group(1)
    if match or "{" in content:  # the id or template syntax: parse what is left
        tokens = _MD.parseInline(_IAL_INLINE.sub("", drop_spans(strip_liquid(raw), "{/*", "*/}", MAX_TAG_CHARS)))
        children = (tokens[0].children or []) if tokens else []
    return _Block("heading", _plain(children).strip(), raw=raw, explicit_id=explicit, children=children)


def _html_block(content: str) -> _Block | None:
    """An HTML block as a code block (``<pre>``) or a text block; None when it holds no text."""
    content = _html_shown(content).strip()
    if content[:4].lower() == "<pre":
        code = html.unescape(_HTML_TAG.sub("", content)).strip("\n")
        return _Block("code", code) if code.strip() else None
    text = html_text(content)
    return _Block("text", text) if text else None


def _gathered(lines: Sequence[str]) -> _Block:
    """The text block of a list's or table's lines (each kept with its marks)."""
    shown = "\n".join(line for line in lines if line)
    return _Block("text", _unmarked(shown), shown=shown)


def _blocks(tokens: Sequence[Token]) -> Iterator[_Block]:
    """Flatten markdown-it block tokens into headings, text blocks and code blocks."""
    container_depth = 0  # inside lists and tables, lines gather into one block (with their marks)
    lines: list[str] = []
    row: list[str] | None = None  # cells of the table row being read
    heading_next = False
    for token in tokens:
        if token.type in ("bullet_list_open", "ordered_list_open", "table_open"):
            container_depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close", "table_close"):
            container_depth -= 1
            if container_depth == 0 and lines:
                yield _gathered(lines)
                lines = []
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            lines.append(CELL.join(cell for cell in row if cell))
            row = None
        elif token.type == "heading_open":
            heading_next = True
        elif token.type in ("fence", "code_block"):
            if token.content.strip():
                if lines:  # the list text before a code block inside the list
                    yield _gathered(lines)
                    lines = []
                code = token.content.rstrip("\n")
                yield _Block("code", code, shown=code)
        elif token.type == "html_block":
            block = _html_block(token.content)
            if block and container_depth and block.kind == "text":
                lines.append(GAP + block.text)
            elif block:
                yield block
        elif token.type == "inline":
            children = token.children or []
            if heading_next:
                heading_next = False
                yield _heading(token.content, children)
            elif row is not None or container_depth:
                text = _plain(children).strip()
                (row if row is not None else lines).append(_shown(children, text) or (GAP + text if text else ""))
            elif ial := _IAL_LINE.match(token.content.strip()):
                yield _Block("ial", "", explicit_id=ial.group(1))
            elif _SEPARATOR.match(token.content):
                continue
            elif _is_bold_only(children) and "\n" not in token.content.strip():
                text = _plain(children).strip()
                if len(text) <= MAX_BOLD_HEADING_CHARS:
                    yield _Block("bold", text, raw=token.content)
                else:
                    yield _Block("text", text, shown=_shown(children, text))
            else:
                text = _plain(children).strip()
                if text:
                    yield _Block("text", text, shown=_shown(children, text))


def split_passage(text: str, limit: int = MAX_PASSAGE_CHARS) -> list[str]:
    """Split ``text`` at sentence ends into pieces of at most ``limit`` characters.

    >>> split_passage("一文目。二文目。三文目。", limit=8)
    ['一文目。二文目。', '三文目。']
    """
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE.findall(text):
        while len(sentence) > limit:  # one sentence longer than the limit: hard cut
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[:limit])
            sentence = sentence[limit:]
        if len(current) + len(sentence) > limit:
            pieces.append(current)
            current = ""
        current += sentence
    if current:
        pieces.append(current)
    return [p.strip() for p in pieces if p.strip()]


def _unseen_sentences(text: str, seen: set[str]) -> str:
    """``text`` without the sentences already seen in this document (recording the new ones).

    Posts repeat whole sections with small edits; a repeated sentence is indexed once.
    Short sentences (under ``MIN_DEDUP_SENTENCE_CHARS``) are always kept.

    >>> seen: set[str] = set()
    >>> _unseen_sentences("液体冷却は重要な技術です。GPUは熱い。", seen)
    '液体冷却は重要な技術です。GPUは熱い。'
    >>> _unseen_sentences("液体冷却は重要な技術です。新しい一文が加わりました。", seen)
    '新しい一文が加わりました。'
    """
    kept = []
    for sentence in _SENTENCE.findall(text):
        if len(sentence.strip()) >= MIN_DEDUP_SENTENCE_CHARS:
            key = digest(sentence)
            if key in seen:
                continue
            seen.add(key)
        kept.append(sentence)
    return "".join(kept).strip()


@dataclass(frozen=True)
class _Run:
    """Text the page shows in one piece, at ``offset`` in its block's text."""

    offset: int
    text: str
    boundary: bool  # a boundary follows it (its line, cell or block ends there)
    after: str = ""  # the text shown right after it, up to the next mark, when a boundary is between


def _runs(block: _Block, position: int, length: int) -> list[_Run]:
    """The runs of text the page shows in one piece on the first line of ``block.text[position:]``
    (at most ``length`` characters): a run ends at a cell, an inline HTML tag or image, or (in
    prose) a typographic quote, dash or ellipsis, which kramdown shows as another character."""
    shown = block.shown
    at = seen = 0
    while seen < position and at < len(shown):  # block.text offset -> shown offset
        seen += shown[at] != GAP
        at += 1
    line_end = shown.find("\n", at)
    end = min(line_end if line_end >= 0 else len(shown), at + length)
    runs = []
    while at < end:
        stop = end
        for mark in (CELL, GAP):
            found = shown.find(mark, at, stop)
            stop = found if found >= 0 else stop
        typographic = _TYPOGRAPHIC.search(shown, at, stop) if block.kind == "text" else None
        text = shown[at : typographic.start() if typographic else stop]
        offset = len(shown[:at].replace(GAP, ""))
        boundary = not typographic and (stop == len(shown) or shown[stop] in "\n" + CELL)
        after = ""
        if boundary and stop < len(shown):
            rest = shown[stop + 1 :]
            after = rest[: min((i for i in (rest.find(m) for m in ("\n", CELL, GAP)) if i >= 0), default=len(rest))]
        if text.strip():
            runs.append(_Run(offset + len(text) - len(text.lstrip()), text.strip(), boundary, after))
        if typographic:
            at = typographic.end()
        elif stop < end and shown[stop] == CELL:
            at = stop + 1
        else:
            break  # after a tag or image the page may show more than the text: no new run
    return runs


def _first_run(block: _Block) -> str:
    """The text a block shows first, up to its first line end, cell end, tag or image."""
    shown = block.shown or block.text
    ends = [i for i in (shown.find(mark) for mark in ("\n", CELL, GAP)) if i >= 0]
    return shown[: min(ends, default=len(shown))].strip()


def parse_sections(body: str, ids: IdSettings | None = None, title: str = "") -> list[Section]:
    """Parse a Markdown body (front matter removed) into sections of unique passages.

    A section's anchor is its heading's id (``ids``: how the renderer makes them); a passage
    in a section without one gets a text fragment, unique after the page's ``title``.

    >>> sections = parse_sections("導入です。\\n\\n**太字の行**\\n\\n本文です。\\n\\n## 見出し\\n\\n続きです。\\n")
    >>> [(s.anchor, [p.fragment for p in s.passages]) for s in sections]  # doctest: +NORMALIZE_WHITESPACE
    [('', [':~:text=%E5%B0%8E%E5%85%A5%E3%81%A7%E3%81%99%E3%80%82']),
     ('', [':~:text=%E6%9C%AC%E6%96%87%E3%81%A7%E3%81%99%E3%80%82']), ('見出し', [''])]
    """
    headings = HeadingIds(ids)
    page = Page(title)
    seen: set[str] = set()
    seen_sentences: set[str] = set()
    sections = [_SectionBuilder("", "")]
    pending: list[tuple[list[Passage], int, list[tuple[int, _Run]]]] = []  # passages to give fragments
    blocks = list(_blocks(parse_cleaned(body)))
    shown_blocks = [b for b in blocks if b.kind != "ial"]
    next_text = {id(b): _first_run(c) for b, c in itertools.pairwise(shown_blocks)}
    for n, block in enumerate(blocks):
        if block.kind == "ial":
            continue  # taken by the heading before it
        start = page.add(block.text)
        if block.kind == "heading":
            if n + 1 < len(blocks) and blocks[n + 1].kind == "ial":  # {: #id} on the next line
                block.explicit_id = blocks[n + 1].explicit_id
            anchor = block.explicit_id or headings.make(block.raw, block.children)
            sections.append(_SectionBuilder(block.text, anchor))
            continue
        if block.kind == "bold":  # a paragraph: the page gives it no id
            sections.append(_SectionBuilder(block.text, ""))
            continue
        text = _unseen_sentences(block.text, seen_sentences) if block.kind == "text" else block.text
        position = 0
        for piece in split_passage(text) if block.kind == "text" else [text]:
            key = digest(piece)
            if not piece or key in seen:
                continue
            seen.add(key)
            found = block.text.find(_SENTENCE.findall(piece[:20])[0], position)  # its first sentence's start
            passages = sections[-1].passages
            if found >= 0:
                position = found
                if not sections[-1].anchor and block.shown:
                    runs = _runs(block, found, len(piece))
                    if runs and runs[-1].boundary and not runs[-1].after:  # the block ends: the next one follows
                        runs[-1] = dataclasses.replace(runs[-1], after=next_text.get(id(block), ""))
                    pending.append(
                        (passages, len(passages), [(start + len(fold(block.text[: r.offset])), r) for r in runs])
                    )
            passages.append(Passage(piece, key, block.kind))
    for owner, index, placed in pending:  # now that the page's text is known to its end
        for offset, run in placed:
            fragment = page.fragment(offset, run.text, run.boundary, run.after)
            if fragment:
                owner[index] = dataclasses.replace(owner[index], fragment=fragment)
                break
    return [Section(s.heading, s.anchor, tuple(s.passages)) for s in sections if s.passages]
