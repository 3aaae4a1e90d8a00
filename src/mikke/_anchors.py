"""Heading ids as the blog's Markdown renderer makes them.

Three schemes, as Jekyll's kramdown would render the page:

* ``gfm``: kramdown-parser-gfm (Jekyll's default ``input: GFM``), ``generate_gfm_header_id``:
  the heading's text (code spans kept, markup gone, ``--`` an en dash) lower-cased, every
  character but ``\\p{Word}``, ``-``, space and tab dropped, spaces and tabs to ``-``; the
  n-th repeat of an id gets ``-n``. Japanese stays. A heading left with nothing gets no id.
* ``kramdown``: kramdown's own parser (``input: kramdown``), ``generate_id``: the heading's
  raw Markdown (or its text, with ``auto_id_stripping``), leading non-letters dropped, only
  ASCII letters, digits, spaces and hyphens kept; ``section`` when nothing is left.
* ``github``: GitHub's heading slugs (a site rendered elsewhere).

Each Markdown heading is given as its raw text and its markdown-it inline tokens.

>>> from markdown_it import MarkdownIt
>>> def ids(scheme: str, *headings: str, **options: object) -> list[str]:
...     made = HeadingIds(IdSettings(scheme, **options))  # type: ignore[arg-type]
...     return [made.make(h, MarkdownIt().parseInline(h)[0].children or []) for h in headings]
>>> ids("gfm", "**AIインフラ競争**", "日本の役割", "日本の役割", "`mikke index` の使い方", "🚀 準備", "！？")
['aiインフラ競争', '日本の役割', '日本の役割-1', 'mikke-index-の使い方', '-準備', '']
>>> ids("kramdown", "**AIインフラ競争**", "日本の役割", "日本の未来", "AI", "2025 Roadmap -- Q1")
['ai', 'section', 'section-1', 'ai-1', 'roadmap----q1']
>>> ids("gfm", "概要", "概要", auto_id_prefix="h-")
['h-概要', 'h-概要-1']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from markdown_it.token import Token

#: The heading id schemes (``anchor_scheme``).
SCHEMES = ("gfm", "kramdown", "github")

_KRAMDOWN_LEADING = re.compile(r"^[^a-zA-Z]+", re.M)
_KRAMDOWN_DROP = re.compile(r"[^a-zA-Z0-9 -]")
_GITHUB_DROP = re.compile(r"[^\w\- ]")
_MARKUP = re.compile(r"[*_`~]")
_DASHES = re.compile(r"---|--")  # kramdown's typographic symbols that are not dropped anyway
#: Symbols (category So) that Ruby's ``\p{Word}`` counts as letters (Other_Alphabetic): ⓐ, 🄰, 🅐, 🅰.
_ALPHABETIC_SYMBOLS = ((0x24B6, 0x24E9), (0x1F130, 0x1F149), (0x1F150, 0x1F169), (0x1F170, 0x1F189))


@dataclass(frozen=True)
class IdSettings:
    """kramdown's id options, as Jekyll's ``_config.yml`` gives them under ``kramdown:``."""

    scheme: str = "gfm"
    auto_ids: bool = True
    auto_id_prefix: str = ""
    auto_id_stripping: bool = False
    transliterated_header_ids: bool = False


def _is_word(char: str) -> bool:
    """Ruby's ``\\p{Word}``: letters, marks, decimal and letter numbers, connectors (``_``).

    >>> [_is_word(c) for c in "aＡ漢ー_ⓐ１-：🚀"]
    [True, True, True, True, True, True, True, False, False, False]
    """
    category = unicodedata.category(char)
    if category[0] in "LM" or category in ("Nd", "Nl", "Pc"):
        return True
    code = ord(char)
    return category == "So" and any(start <= code <= end for start, end in _ALPHABETIC_SYMBOLS)


def gfm_id(text: str) -> str:
    """kramdown-parser-gfm's id of a heading's text, before its repeat suffix and prefix.

    >>> gfm_id("AT&T と R&D の <比較>"), gfm_id("2025 Roadmap – Q1 & Q2"), gfm_id("ＡＩとＧＰＵ")
    ('att-と-rd-の-比較', '2025-roadmap--q1--q2', 'ａｉとｇｐｕ')
    """
    lowered = "".join(c.lower() for c in text)  # per character: Ruby has no final-sigma rule
    kept = "".join(c for c in lowered if c in "- \t" or _is_word(c))
    return kept.replace(" ", "-").replace("\t", "-")


def kramdown_id(raw: str) -> str:
    """kramdown's ``basic_generate_id`` (empty when nothing is left).

    >>> kramdown_id("[空冷][ref]との比較"), kramdown_id("AT&amp;T と R&D")
    ('ref', 'atampt--rd')
    """
    return _KRAMDOWN_DROP.sub("", _KRAMDOWN_LEADING.sub("", raw)).replace(" ", "-").lower()


def github_id(raw: str) -> str:
    """GitHub's heading slug: lower case, punctuation dropped, spaces to hyphens."""
    text = _MARKUP.sub("", raw).strip().lower()
    return _GITHUB_DROP.sub("", text).replace(" ", "-") or "section"


def heading_text(children: Sequence[Token], *, code: bool = True) -> str:
    """A heading's text as kramdown collects it for an id: text (with ``--`` and ``---`` as
    dashes) and, when ``code``, code spans; no images, no HTML tags.

    >>> from markdown_it import MarkdownIt
    >>> heading_text(MarkdownIt().parseInline("[A](x) -- `b` ![c](d)")[0].children or [])
    'A – b '
    """
    parts = []
    for child in children:
        if child.type == "text":
            parts.append(_DASHES.sub(lambda m: "—" if len(m.group(0)) == 3 else "–", child.content))
        elif child.type == "code_inline" and code:
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts)


class HeadingIds:
    """Gives the headings of one document their ids, in order, as the renderer does."""

    def __init__(self, settings: IdSettings | None = None) -> None:
        self.settings = settings or IdSettings()
        self._counts: dict[str, int] = {}

    def make(self, raw: str, children: Sequence[Token]) -> str:
        """The id of the next heading without an explicit one ("" when it gets none or it
        cannot be known). ``raw``: its Markdown; ``children``: its parsed inline tokens."""
        settings = self.settings
        if not settings.auto_ids:
            return ""
        if settings.scheme == "gfm":
            slug = gfm_id(heading_text(children))
            count = self._counts[slug] = self._counts.get(slug, -1) + 1
            slug = f"{slug}-{count}" if count else slug
            return settings.auto_id_prefix + slug if slug or settings.auto_id_prefix else ""
        if settings.scheme == "kramdown":
            text = raw
            if settings.auto_id_stripping:  # only the text (kramdown's :text elements)
                text = heading_text(children, code=False)
            if settings.transliterated_header_ids and not text.isascii():
                return ""  # transliterated by the stringex gem's tables, which mikke does not have
            slug = kramdown_id(text) or "section"
            if slug in self._counts:
                self._counts[slug] += 1
                return f"{settings.auto_id_prefix}{slug}-{self._counts[slug]}"
            self._counts[slug] = 0
            return settings.auto_id_prefix + slug
        slug = github_id(raw)
        if slug in self._counts:
            self._counts[slug] += 1
            return f"{slug}-{self._counts[slug]}"
        self._counts[slug] = 0
        return slug
