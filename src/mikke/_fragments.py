"""Text fragments (``#:~:text=``) that land on a passage the page gives no id.

A browser scrolls to the first place in the page that shows a text directive's
``textStart`` (ignoring case), beginning and ending on word boundaries and inside
one block. So a passage's fragment is the shortest beginning of its text that
the page shows in one piece, that ends at a boundary (a full-width clause mark
such as 「、」「。」, a space, or the end of its line), and whose first occurrence
in the page (after the title) is this passage's.

>>> page = Page("液体冷却の記事")
>>> first, second = page.add("液体冷却の基礎です。導入です。"), page.add("液体冷却の基礎です。応用です。")
>>> page.fragment(first, "液体冷却の基礎です。導入です。", True)
':~:text=%E6%B6%B2%E4%BD%93%E5%86%B7%E5%8D%B4%E3%81%AE%E5%9F%BA%E7%A4%8E%E3%81%A7%E3%81%99%E3%80%82'
>>> page.fragment(second, "液体冷却の基礎です。応用です。", True)  # its first sentence is the first's
':~:text=%E6%B6%B2%E4%BD%93%E5%86%B7%E5%8D%B4%E3%81%AE%E5%9F%BA%E7%A4%8E%E3%81%A7%E3%81%99%E3%80%82%E5%BF%9C%E7%94%A8%E3%81%A7%E3%81%99%E3%80%82'
>>> page.fragment(second, "液体冷却の基礎です。", True)  # nothing of its own
''
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

#: Characters after which a text fragment may end (a boundary in Japanese text).
CLAUSE_ENDS = frozenset("、。，．！？：；」』）】〉》")
#: A fragment shorter than this (in characters) could match the site's own header or footer.
MIN_FRAGMENT_CHARS = 6


def encode(text: str) -> str:
    """Percent-encode a text directive's term: ``-``, ``&`` and ``,`` are syntax there.

    >>> encode("R&D, e-mail 液体")
    'R%26D%2C%20e%2Dmail%20%E6%B6%B2%E4%BD%93'
    """
    return quote(text, safe="").replace("-", "%2D")


def text_directive(start: str) -> str:
    """The fragment that scrolls to the first occurrence of ``start``.

    >>> text_directive("冷却-水")
    ':~:text=%E5%86%B7%E5%8D%B4%2D%E6%B0%B4'
    """
    return ":~:text=" + encode(start)


def fold(text: str) -> str:
    """Text as the browser compares it (case and width ignored): a superset of its matches."""
    return unicodedata.normalize("NFKC", text).casefold()


class Page:
    """The text of one page in reading order (title first), to find first occurrences in."""

    def __init__(self, title: str = "") -> None:
        self._parts = [fold(title), "\n"]
        self._size = len(self._parts[0]) + 1
        self._text = ""

    def add(self, block: str) -> int:
        """Append one block's text; returns the offset where it starts."""
        start = self._size
        folded = fold(block)
        self._parts += [folded, "\n"]
        self._size += len(folded) + 1
        self._text = ""
        return start

    def fragment(self, offset: int, lead: str, end_is_boundary: bool, after: str = "") -> str:
        """The text directive for the text ``lead`` found at page ``offset`` ("" if none is unique).

        ``end_is_boundary``: the page shows a boundary right after ``lead`` (a line, cell or block
        ends); ``after``: the text it shows next, for a suffix (``-,suffix``) when no beginning of
        ``lead`` alone shows first here (a passage that repeats the title, a table's first cell).
        """
        if not self._text:
            self._text = "".join(self._parts)
        for start in _cuts(lead, end_is_boundary):
            folded = fold(start)
            if folded and self._text.find(folded, 0, offset + len(folded)) == offset:
                return text_directive(start)
        if not end_is_boundary:
            return ""
        for suffix in _cuts(after.strip(), True):
            pattern = re.compile(re.escape(fold(lead)) + r"\s*" + re.escape(fold(suffix)))
            found = pattern.search(self._text)
            if found and found.start() == offset:
                return text_directive(lead) + ",-" + encode(suffix)
        return ""


def _cuts(text: str, end_is_boundary: bool) -> list[str]:
    """The beginnings of ``text`` that end at a boundary, shortest first (one of at least
    ``MIN_FRAGMENT_CHARS`` characters unless it is the whole ``text``).

    >>> _cuts("はい、液体冷却です。続き", False), _cuts("AI GPU", True)
    (['はい、液体冷却です。'], ['AI GPU'])
    """
    cuts = {i + 1 for i, c in enumerate(text) if c in CLAUSE_ENDS}
    cuts |= {i for i, c in enumerate(text) if c == " " and i}
    if end_is_boundary:
        cuts.add(len(text))
    starts = (text[:cut].strip() for cut in sorted(cuts))
    return [s for s in starts if s and (len(s) >= MIN_FRAGMENT_CHARS or s == text.strip())]
