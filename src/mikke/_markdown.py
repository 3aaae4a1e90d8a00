"""Markdown body -> sections -> passages of plain text.

Headings are ``#``..``######``, ``### **…**`` and paragraphs that are only
``**bold**``. Emphasis is removed, links keep their text, images, raw HTML and
Liquid tags are dropped, code blocks become passages of kind ``code``, and
separator lines such as ``---END---`` are not text. A passage whose normalized
text repeats an earlier one of the same document is kept once.

>>> sections = parse_sections("導入。\\n\\n## GPUの話\\n\\n**GPU**は速い。\\n\\n---END---\\n")
>>> [(s.heading, s.anchor, [p.text for p in s.passages]) for s in sections]
[('', '', ['導入。']), ('GPUの話', 'gpu', ['GPUは速い。'])]
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ._anchors import Anchors
from ._models import Passage, Section

#: Passages longer than this are split at sentence ends.
MAX_PASSAGE_CHARS = 400
#: A ``**bold**`` paragraph longer than this is emphasis, not a heading.
MAX_BOLD_HEADING_CHARS = 80

_MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])

_LIQUID_COMMENT = re.compile(r"{%-?\s*comment\s*-?%}.*?{%-?\s*endcomment\s*-?%}", re.S)
_LIQUID_HIGHLIGHT = re.compile(r"^[ \t]*{%-?\s*highlight\s+(\w+)[^%]*%}[ \t]*$", re.M)
_LIQUID_ENDHIGHLIGHT = re.compile(r"^[ \t]*{%-?\s*endhighlight\s*-?%}[ \t]*$", re.M)
_LIQUID_TAG = re.compile(r"{%.*?%}|{{.*?}}", re.S)
_HEADING_ID = re.compile(r"\s*(?:{:?\s*#([\w\-]+)[^}]*}|{/\*\s*([\w\-]+)\s*\*/})\s*$")
_IAL_LINE = re.compile(r"^{:\s*#([\w\-]+)[^}]*}$")
_SEPARATOR = re.compile(r"^\s*[-=*_~#+]{3,}\s*[A-Za-z0-9 ]{0,20}\s*[-=*_~#+]{3,}\s*$")
_SENTENCE_END = re.compile(r"(?<=[。！？!?])|(?<=\n)")
_SPACE = re.compile(r"\s+")


@dataclass
class _Block:
    kind: str  # "heading" | "bold" | "text" | "code"
    text: str
    raw: str = ""
    explicit_id: str = ""


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
    key = _SPACE.sub("", unicodedata.normalize("NFKC", text).lower())
    return hashlib.blake2b(key.encode("utf-8"), digest_size=12).hexdigest()


def strip_liquid(source: str) -> str:
    """Drop Liquid comments and tags; ``{% highlight %}`` blocks become code fences.

    >>> strip_liquid("a{% include x.html %}b{{ page.title }}c")
    'abc'
    """
    source = _LIQUID_COMMENT.sub("", source)
    source = _LIQUID_HIGHLIGHT.sub(r"```\1", source)
    source = _LIQUID_ENDHIGHLIGHT.sub("```", source)
    return _LIQUID_TAG.sub("", source)


def inline_text(source: str) -> str:
    """Plain text of one line of inline Markdown (for titles from front matter).

    >>> inline_text("**Nscaleの[調達](/x)**")
    'Nscaleの調達'
    """
    tokens = _MD.parseInline(strip_liquid(source))
    return _plain(tokens[0].children or []).strip() if tokens else ""


def _plain(children: Sequence[Token]) -> str:
    """Text of inline tokens: emphasis and links unwrapped, images and HTML dropped."""
    parts = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts)


def _is_bold_only(children: Sequence[Token]) -> bool:
    kinds = [c.type for c in children if not (c.type == "text" and not c.content.strip())]
    return (
        len(kinds) >= 3
        and kinds[0] == "strong_open"
        and kinds[-1] == "strong_close"
        and ("strong_open" not in kinds[1:-1])
    )


def _blocks(tokens: Sequence[Token]) -> Iterator[_Block]:
    """Flatten markdown-it block tokens into headings, text blocks and code blocks."""
    container_depth = 0  # inside lists and tables, lines gather into one block
    lines: list[str] = []
    row: list[str] | None = None  # cells of the table row being read
    heading_next = False
    for token in tokens:
        if token.type in ("bullet_list_open", "ordered_list_open", "table_open"):
            container_depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close", "table_close"):
            container_depth -= 1
            if container_depth == 0 and lines:
                yield _Block("text", "\n".join(line for line in lines if line))
                lines = []
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            lines.append(" ".join(cell for cell in row if cell))
            row = None
        elif token.type == "heading_open":
            heading_next = True
        elif token.type in ("fence", "code_block"):
            if token.content.strip():
                yield _Block("code", token.content.rstrip("\n"))
        elif token.type == "inline":
            children = token.children or []
            if heading_next:
                heading_next = False
                match = _HEADING_ID.search(token.content)
                raw = token.content[: match.start()] if match else token.content
                explicit = (match.group(1) or match.group(2)) if match else ""
                yield _Block("heading", inline_text(raw), raw=raw, explicit_id=explicit)
            elif row is not None:
                row.append(_plain(children).strip())
            elif container_depth:
                lines.append(_plain(children).strip())
            elif _IAL_LINE.match(token.content.strip()):
                yield _Block("ial", "", explicit_id=_IAL_LINE.match(token.content.strip()).group(1))  # type: ignore[union-attr]
            elif _SEPARATOR.match(token.content):
                continue
            elif _is_bold_only(children) and "\n" not in token.content.strip():
                text = _plain(children).strip()
                if len(text) <= MAX_BOLD_HEADING_CHARS:
                    yield _Block("bold", text, raw=token.content)
                else:
                    yield _Block("text", text)
            else:
                text = _plain(children).strip()
                if text:
                    yield _Block("text", text)


def split_passage(text: str, limit: int = MAX_PASSAGE_CHARS) -> list[str]:
    """Split ``text`` at sentence ends into pieces of at most ``limit`` characters.

    >>> split_passage("一文目。二文目。三文目。", limit=8)
    ['一文目。二文目。', '三文目。']
    """
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in (s for s in _SENTENCE_END.split(text) if s):
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


def text_fragment(heading: str) -> str:
    """A text-fragment anchor for a heading the renderer gives no id (a bold line).

    >>> text_fragment("投資家 向け")
    ':~:text=%E6%8A%95%E8%B3%87%E5%AE%B6%20%E5%90%91%E3%81%91'
    """
    return ":~:text=" + quote(heading, safe="")


def parse_sections(body: str, anchor_scheme: str = "kramdown") -> list[Section]:
    """Parse a Markdown body (front matter removed) into sections of unique passages."""
    anchors = Anchors(anchor_scheme)
    seen: set[str] = set()
    sections = [_SectionBuilder("", "")]
    for block in _blocks(_MD.parse(strip_liquid(body))):
        if block.kind == "ial":
            last = sections[-1]
            if last.heading and not last.passages and not last.anchor.startswith(":~:"):
                last.anchor = anchors.claim(block.explicit_id)
            continue
        if block.kind == "heading":
            anchor = anchors.claim(block.explicit_id) if block.explicit_id else anchors.make(block.raw)
            sections.append(_SectionBuilder(block.text, anchor))
            continue
        if block.kind == "bold":
            sections.append(_SectionBuilder(block.text, text_fragment(block.text)))
            continue
        for piece in split_passage(block.text) if block.kind == "text" else [block.text]:
            key = digest(piece)
            if key not in seen:
                seen.add(key)
                sections[-1].passages.append(Passage(piece, key, block.kind))
    return [Section(s.heading, s.anchor, tuple(s.passages)) for s in sections if s.passages]
