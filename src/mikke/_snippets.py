"""Snippets: the best window of a passage, with every matched term highlighted.

A snippet is data (plain text plus ``(start, end)`` spans); ``to_html`` and
``to_ansi`` render it, escaping first and inserting highlights after.

>>> s = make_snippet("AIの話。データセンターの冷却技術。終わり。", {"センター", "冷却"}, width=40)
>>> [s.text[a:b] for a, b in s.highlights]
['センター', '冷却']
>>> to_html(make_snippet("<b>GPU</b>", {"gpu"}))
'&lt;b&gt;<mark>GPU</mark>&lt;/b&gt;'

Highlights need the offsets of the text's index terms. Indexing records them
(:func:`pack_offsets`, stored with each passage), so a search passes them in and
runs no analysis; without them the text is analysed here (cached per text).
"""

from __future__ import annotations

import bisect
import functools
import html
import re
import sys
from collections.abc import Collection

from ._analysis import index_terms
from ._models import Snippet

#: Target snippet length in characters.
SNIPPET_CHARS = 120
ELLIPSIS = "…"

#: The marks that end a sentence, besides a line's end.
SENTENCE_MARKS = "。！？!?"
#: A sentence's end (the lookahead lets the regex skip to the next candidate character: faster).
SENTENCE_END = re.compile(rf"(?=[{SENTENCE_MARKS}\n])(?:[{SENTENCE_MARKS}]+|\n+)")


#: Each index term of a text -> the offsets of its tokens, flat: ``[start, end, start, end...]``.
TermOffsets = dict[str, list[int]]
#: :data:`TermOffsets` as a passage stores them: two strings, compact and read back in one go
#: with the passage's other stored fields: the terms joined by NUL, and ``chr()`` codes:
#: where each term's offsets start in this string (and where the last ones end), then the offsets.
PackedOffsets = tuple[str, str]


def term_offsets(text: str) -> TermOffsets:
    """The offsets of the tokens of each index term of ``text``: :func:`~mikke._analysis.analyze`'s
    tokens grouped by term, from :func:`~mikke._analysis.index_terms` (at index time the same
    analysis gives the passage's postings).

    >>> term_offsets("冷却と液体冷却")
    {'冷却': [0, 2, 5, 7], '液体': [3, 5]}
    """
    return {term: offsets for term, (_, offsets) in index_terms(text).items()}


def pack_offsets(text: str) -> PackedOffsets | None:
    """``term_offsets(text)`` packed to be stored; None for text holding a NUL (the terms of such
    text could too) or too long for ``chr()`` codes.

    >>> unpack_offsets(pack_offsets("冷却と液体冷却"), {"冷却", "技術"})
    {'冷却': [0, 2, 5, 7]}
    """
    if "\x00" in text:
        return None
    found = index_terms(text)
    first = len(found) + 1
    starts: list[int] = []
    flat: list[int] = []
    for _, offsets in found.values():
        starts.append(first + len(flat))
        flat += offsets
    starts.append(first + len(flat))
    if max(starts[-1], len(text)) > sys.maxunicode:
        return None
    return "\x00".join(found), "".join(map(chr, starts + flat))


def unpack_offsets(packed: PackedOffsets, terms: Collection[str]) -> TermOffsets:
    """The offsets of those of ``terms`` that ``packed`` holds: each term found among the NUL-joined
    terms (whole: between NULs), its number the NULs before it (a passage holds few of a query's
    terms; its others are neither split nor hashed)."""
    words, codes = packed
    found = {}
    for term in terms:
        at = words.find(term)
        while at >= 0:
            end = at + len(term)
            if (not at or words[at - 1] == "\x00") and (end == len(words) or words[end] == "\x00"):
                n = words.count("\x00", 0, at)
                found[term] = list(map(ord, codes[ord(codes[n]) : ord(codes[n + 1])]))
                break
            at = words.find(term, at + 1)
    return found


def highlight_spans(
    text: str, terms: Collection[str], offsets: PackedOffsets | TermOffsets | None = None
) -> list[tuple[int, int]]:
    """Offsets of the tokens of ``text`` whose index term is in ``terms``, merged;
    ``offsets`` is ``pack_offsets(text)`` when known, or its terms' offsets already unpacked
    (``term_offsets(text)``, or ``unpack_offsets`` of it for some terms, ``terms`` among them).

    >>> highlight_spans("閉ループ直接液体冷却", {"液体", "冷却"})
    [(6, 10)]
    >>> highlight_spans("閉ループ直接液体冷却", {"液体"}, term_offsets("閉ループ直接液体冷却"))
    [(6, 8)]
    """
    if offsets is None:
        every = _term_offsets(text)
        held = [every[term] for term in frozenset(terms) if term in every]
    elif isinstance(offsets, dict):
        held = [found for term, found in offsets.items() if term in terms]
    else:
        held = list(unpack_offsets(offsets, terms).values())  # of ``terms`` only
    if not held:
        return []
    # Each term's tokens come in order: one term's are sorted already.
    spans = [*zip(held[0][::2], held[0][1::2], strict=True)] if len(held) == 1 else sorted(_pairs(held))
    merged = [spans[0]]
    for span in spans[1:]:
        if span[0] <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(span[1], merged[-1][1]))
        else:
            merged.append(span)
    return merged


def _pairs(held: list[list[int]]) -> list[tuple[int, int]]:
    """The ``(start, end)`` pairs of the flat offsets of several terms."""
    return [pair for flat in held for pair in zip(flat[::2], flat[1::2], strict=True)]


#: ``term_offsets``, cached: text without stored offsets (a caller's own) is analysed once for
#: the next keystroke of a search box or the next page.
_term_offsets = functools.lru_cache(maxsize=4096)(term_offsets)


@functools.lru_cache(maxsize=4096)
def sentence_ends(text: str) -> tuple[int, ...]:
    """Where each sentence of ``text`` ends: after its run of 。！？!? or of newlines (cached: the
    sentence re-ranking reads the passages a search then makes snippets of, and many of them again
    for later questions).

    >>> sentence_ends("一文目。二文目！？\\n三文目")
    (4, 9, 10)
    """
    return tuple([match.end() for match in SENTENCE_END.finditer(text)])


def _candidate_windows(text: str, spans: list[tuple[int, int]], width: int) -> list[tuple[int, int]]:
    """Windows starting at sentence starts, ending at the last sentence end that fits,
    plus windows around each highlight for sentences longer than ``width``. A sentence starting
    after the last highlight's start is left out: its window holds no highlight, so the first
    window (from 0) is ahead of it in :func:`make_snippet`.

    >>> _candidate_windows("一文目。二文目。三文目。", [(4, 6)], 5)
    [(0, 4), (4, 8), (3, 8)]
    """
    found, size = sentence_ends(text), len(text)
    ends = [*found, size]
    windows = []
    for start in (0, *found[: bisect.bisect_right(found, spans[-1][0] if spans else 0)]):  # to the last highlight
        if start < size:
            fits = bisect.bisect_right(ends, start + width)  # ends[:fits] end within the width
            end = ends[fits - 1] if fits else start
            windows.append((start, end if end > start else min(start + width, size)))
    for span_start, _ in spans:
        start = max(0, span_start - width // 3)
        windows.append((start, min(size, start + width)))
    return windows


def make_snippet(
    text: str,
    terms: Collection[str],
    width: int = SNIPPET_CHARS,
    offsets: PackedOffsets | TermOffsets | None = None,
) -> Snippet:
    """The window of about ``width`` characters that shows the most distinct matched terms;
    ``offsets`` is ``pack_offsets(text)`` when known (stored at index time), or its terms' offsets
    already unpacked (:func:`highlight_spans`), else it is computed."""
    spans = highlight_spans(text, terms, offsets)
    if len(text) <= width:
        return Snippet(text.replace("\n", " "), tuple(spans))
    windows = _candidate_windows(text, spans, width)
    start, end = windows[0]
    shown: list[tuple[int, int]] = []
    if spans:
        # The spans are sorted and apart (merged), so those inside a window are a run of them: from
        # the first starting in it to the last ending in it.
        starts, ends = [a for a, _ in spans], [b for _, b in spans]
        words: list[str] = []
        best = (0, 0, 0)  # a window's score: the distinct words it shows, the highlights, an earlier start
        for window_start, window_end in windows:
            first, stop = bisect.bisect_left(starts, window_start), bisect.bisect_right(ends, window_end)
            count = stop - first
            if count <= 0:
                continue  # no highlight: scores no more than the first window (from 0), the fallback
            if count > 1:
                words = words or [text[a:b].replace("\n", " ").lower() for a, b in spans]
                score = (len(set(words[first:stop])), count, -window_start)
            else:
                score = (1, 1, -window_start)
            if score > best:  # the first of the best
                best, start, end = score, window_start, window_end
        shown = spans[bisect.bisect_left(starts, start) : bisect.bisect_right(ends, end)]
    body = text[start:end].replace("\n", " ")
    lead = len(body) - len(body.lstrip())
    body = body.strip()
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if start + lead + len(body) < len(text.rstrip()) else ""
    shift = len(prefix) - start - lead
    return Snippet(prefix + body + suffix, tuple(_shift(shown, shift, len(prefix) + len(body))))


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
