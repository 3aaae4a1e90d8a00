"""Snippets: the best window of a passage, with every matched term highlighted.

A snippet is data (plain text plus ``(start, end)`` spans); ``to_html`` and
``to_ansi`` render it, escaping first and inserting highlights after.

>>> s = make_snippet("AIの話。データセンターの冷却技術。終わり。", {"センター", "冷却"}, width=40)
>>> [s.text[a:b] for a, b in s.highlights]
['センター', '冷却']
>>> to_html(make_snippet("<b>GPU</b>", {"gpu"}))
'&lt;b&gt;<mark>GPU</mark>&lt;/b&gt;'
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Collection

from ._analysis import AnalyzedToken, analyze
from ._models import Snippet

#: Target snippet length in characters.
SNIPPET_CHARS = 120
ELLIPSIS = "…"

_SENTENCE_END = re.compile(r"[。！？!?]+|\n+")


def highlight_spans(text: str, terms: Collection[str]) -> list[tuple[int, int]]:
    """Offsets of the tokens of ``text`` whose indexed term is in ``terms``, merged.

    >>> highlight_spans("閉ループ直接液体冷却", {"液体", "冷却"})
    [(6, 10)]
    """
    spans = sorted((t.start, t.end) for t in _analyzed(text) if t.text in terms)
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


@functools.lru_cache(maxsize=4096)
def _analyzed(text: str) -> tuple[AnalyzedToken, ...]:
    """``analyze(text)``, cached: the same passages come back for the next keystroke of a
    search box or the next page."""
    return tuple(analyze(text))


def _sentence_starts(text: str) -> list[int]:
    starts = [0] + [m.end() for m in _SENTENCE_END.finditer(text)]
    return sorted({s for s in starts if s < len(text)})


def _candidate_windows(text: str, spans: list[tuple[int, int]], width: int) -> list[tuple[int, int]]:
    """Windows starting at sentence starts, ending at the last sentence end that fits,
    plus windows around each highlight for sentences longer than ``width``."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text)]
    windows = []
    for start in _sentence_starts(text):
        fitting = [e for e in ends if start < e <= start + width]
        windows.append((start, max(fitting) if fitting else min(start + width, len(text))))
    for span_start, _ in spans:
        start = max(0, span_start - width // 3)
        windows.append((start, min(len(text), start + width)))
    return windows


def make_snippet(text: str, terms: Collection[str], width: int = SNIPPET_CHARS) -> Snippet:
    """The window of about ``width`` characters that shows the most distinct matched terms."""
    flat = text.replace("\n", " ")
    spans = highlight_spans(text, terms)
    if len(text) <= width:
        return Snippet(flat, tuple(spans))

    def covered(window: tuple[int, int]) -> list[tuple[int, int]]:
        return [(a, b) for a, b in spans if a >= window[0] and b <= window[1]]

    def score(window: tuple[int, int]) -> tuple[int, int, int]:
        inside = covered(window)
        return (len({flat[a:b].lower() for a, b in inside}), len(inside), -window[0])

    start, end = max(_candidate_windows(text, spans, width), key=score)
    body = flat[start:end]
    lead = len(body) - len(body.lstrip())
    body = body.strip()
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if start + lead + len(body) < len(text.rstrip()) else ""
    shift = len(prefix) - start - lead
    return Snippet(prefix + body + suffix, tuple(_shift(covered((start, end)), shift, len(prefix) + len(body))))


def _shift(spans: list[tuple[int, int]], by: int, limit: int) -> list[tuple[int, int]]:
    return [(a + by, b + by) for a, b in spans if a + by >= 0 and b + by <= limit]


def to_html(snippet: Snippet) -> str:
    """HTML with ``<mark>`` around highlights; the text is escaped first."""
    out, last = [], 0
    for start, end in snippet.highlights:
        out += [html.escape(snippet.text[last:start]), "<mark>", html.escape(snippet.text[start:end]), "</mark>"]
        last = end
    out.append(html.escape(snippet.text[last:]))
    return "".join(out)


def to_ansi(snippet: Snippet) -> str:
    """Terminal text with highlights in bold.

    >>> to_ansi(make_snippet("GPUの話", {"gpu"}))
    '\\x1b[1mGPU\\x1b[22mの話'
    """
    out, last = [], 0
    for start, end in snippet.highlights:
        out += [snippet.text[last:start], "\x1b[1m", snippet.text[start:end], "\x1b[22m"]
        last = end
    out.append(snippet.text[last:])
    return "".join(out)
