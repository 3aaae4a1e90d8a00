"""Japanese analysis: Sudachi morphemes -> whoosh tokens, the same for index and query.

The pipeline is a whoosh tokenizer plus filters composed with ``|``:

    SudachiTokenizer | FoldFilter | PartOfSpeechStopFilter

* ``SudachiTokenizer`` segments with split mode C (whole compounds) and also
  emits each compound's A units (its parts) at the compound's position, marked
  ``part=True``: ``センター`` then finds ``データセンター``, while a query for the
  whole compound matches both the compound and its parts and ranks higher.
  Token text is Sudachi's normalized form (サーバ -> サーバー, 引越し -> 引っ越し);
  offsets come from Sudachi's ``begin()/end()`` on the original text.
* ``FoldFilter`` applies NFKC and case folding to the token text only.
* ``PartOfSpeechStopFilter`` drops particles, auxiliaries, symbols, whitespace
  and other function words.

>>> [t.text for t in analyzer()("サーバとＧＰＵ")]
['サーバー', 'gpu']
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterator
from typing import Any, NamedTuple

from sudachipy import Dictionary, SplitMode
from whoosh.analysis import Composable, Filter, Token, Tokenizer

#: Parts of speech (first level of Sudachi's POS tuple) that carry no search meaning.
STOP_POS = frozenset({"助詞", "助動詞", "補助記号", "空白", "記号", "代名詞", "連体詞", "接続詞", "感動詞"})

#: Normalized forms that are function words or question words in any position
#: (like the stop list of Lucene's Japanese analyzer): という, もの, こと, なぜ, どんな…;
#: the light verbs する, いる, おる, なる, ある (in every written form: される, いた, なります,
#: 在る), and 何 where Sudachi tags it a numeral (何年) or it is a compound's part (何月).
STOP_WORDS = frozenset(
    {"言う", "物", "こと", "為", "他", "様", "何故", "どう", "幾つ", "幾ら", "どんな", "良く", "特に"}
    | {"為る", "居る", "おる", "成る", "有る", "何"}
)

#: Sudachi refuses very long inputs; longer text is analysed in chunks of this many characters.
MAX_CHUNK_CHARS = 4000

_CHUNK_BREAK = re.compile(r"[。！？!?\n]")


def fold(text: str) -> str:
    """Width and case folding used for every indexed or queried term.

    >>> fold("ＧＰＵ Ｓｅｒｖｅｒ")
    'gpu server'
    """
    return unicodedata.normalize("NFKC", text).lower()


def _chunks(text: str) -> Iterator[tuple[int, str]]:
    """Split long text into (offset, chunk) pieces at sentence ends where possible."""
    start = 0
    while len(text) - start > MAX_CHUNK_CHARS:
        window = text[start : start + MAX_CHUNK_CHARS]
        breaks = [m.end() for m in _CHUNK_BREAK.finditer(window)]
        end = start + (breaks[-1] if breaks and breaks[-1] > MAX_CHUNK_CHARS // 2 else MAX_CHUNK_CHARS)
        yield start, text[start:end]
        start = end
    if start < len(text):
        yield start, text[start:]


_DICTIONARY_LOCK = threading.Lock()


@functools.cache
def _load_dictionary() -> Any:
    return Dictionary(dict="core")


def _dictionary() -> Any:
    """The process's one Sudachi dictionary (75 MB), loaded on first use."""
    with _DICTIONARY_LOCK:  # two threads starting at once must not load two
        return _load_dictionary()


class _Sudachi(threading.local):
    """One Sudachi tokenizer per thread (a tokenizer refuses to be used by two threads
    at once), all over the one dictionary, created on first use (never pickled)."""

    tokenizer: Any = None

    def get(self) -> Any:
        if self.tokenizer is None:
            self.tokenizer = _dictionary().tokenizer(mode=SplitMode.C, fields={"pos", "normalized_form", "split_a"})
        return self.tokenizer


_SUDACHI = _Sudachi()


class SudachiTokenizer(Tokenizer):  # type: ignore[misc]
    """Sudachi split mode C morphemes, plus the A units of each compound.

    >>> [(t.text, t.startchar, t.endchar, t.part) for t in SudachiTokenizer()(
    ...     "データセンター", chars=True)]
    [('データセンター', 0, 7, False), ('データ', 0, 3, True), ('センター', 3, 7, True)]
    """

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos - 1
        for offset, chunk in _chunks(value):
            for text, pos_tag, is_part, begin, end in _units(chunk):
                pos += not is_part
                token.text = text
                token.pos_tag = pos_tag  # parts share their compound's fate in filters
                token.part = is_part
                token.stopped = False
                token.boost = 1.0
                if keeporiginal:
                    token.original = chunk[begin:end]
                if positions:
                    token.pos = pos
                if chars:
                    token.startchar = start_char + offset + begin
                    token.endchar = start_char + offset + end
                yield token


@functools.lru_cache(maxsize=256)
def _units(chunk: str) -> tuple[tuple[str, str, bool, int, int], ...]:
    """(normalized form, POS, is a part, start, end) of each split mode C morpheme of
    ``chunk``, each followed by its A units when it has several. Cached: a post's
    title, excerpt and headings, repeated on each of its passages, are analysed once.

    >>> _units("データセンター")
    (('データセンター', '名詞', False, 0, 7), ('データ', '名詞', True, 0, 3), ('センター', '名詞', True, 3, 7))
    """
    units = []
    for morpheme in _SUDACHI.get().tokenize(chunk):
        pos_tag = morpheme.part_of_speech()[0]
        units.append((morpheme.normalized_form(), pos_tag, False, morpheme.begin(), morpheme.end()))
        parts = morpheme.split(SplitMode.A)
        if len(parts) > 1:
            units += [(part.normalized_form(), pos_tag, True, part.begin(), part.end()) for part in parts]
    return tuple(units)


class FoldFilter(Filter):  # type: ignore[misc]
    """NFKC width folding and lower-casing of the token text (offsets untouched).

    >>> [t.text for t in (SudachiTokenizer() | FoldFilter())("ＡＩとＧＰＵ")]
    ['ai', 'と', 'gpu']
    """

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            token.text = _fold_term(token.text)
            yield token


class PartOfSpeechStopFilter(Filter):  # type: ignore[misc]
    """Drop tokens whose part of speech is in :data:`STOP_POS`, stop words
    (:data:`STOP_WORDS`) and empty tokens.

    >>> [t.text for t in (SudachiTokenizer() | PartOfSpeechStopFilter())("冷却の技術")]
    ['冷却', '技術']
    >>> [t.text for t in analyzer()("冷却とは何という技術ですか")]
    ['冷却', '技術']
    """

    def __init__(self, stop_pos: frozenset[str] = STOP_POS) -> None:
        self.stop_pos = stop_pos

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.stop_pos == getattr(other, "stop_pos", None)

    def __hash__(self) -> int:
        return hash((type(self), self.stop_pos))

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            if not is_stop(token.text, token.pos_tag, self.stop_pos):
                yield token


def is_stop(term: str, pos_tag: str, stop_pos: frozenset[str] = STOP_POS) -> bool:
    """True for a folded term that is not indexed: a stop part of speech, a stop word, or blank.
    :func:`index_terms` inlines this test (``test_direct_postings_equal_whooshs_analyzer_on_real_text``
    checks that both give the same terms).

    >>> is_stop("の", "助詞"), is_stop("冷却", "名詞")
    (True, False)
    """
    return pos_tag in stop_pos or term in STOP_WORDS or not term.strip()


def analyzer() -> Composable:
    """The analyzer stored in the schema and used for every query.

    >>> [t.text for t in analyzer()("引越しのサーバ")]
    ['引っ越し', 'サーバー']
    """
    return SudachiTokenizer() | FoldFilter() | PartOfSpeechStopFilter()


#: Each index term of a text -> the positions of its tokens and their offsets, flat: ``[start, end, ...]``.
IndexTerms = dict[str, tuple[list[int], list[int]]]


@functools.lru_cache(maxsize=64)
def index_terms(text: str) -> IndexTerms:
    """The tokens of ``analyzer()(text, positions=True, chars=True)`` grouped by term (in order of
    first occurrence), read from the cached morphemes without building tokens. Indexing takes a
    passage's postings and its stored offsets from this one analysis (cached: do not modify).

    >>> index_terms("冷却と液体冷却")
    {'冷却': ([0, 3], [0, 2, 5, 7]), '液体': ([2], [3, 5])}
    """
    terms: IndexTerms = {}
    pos = -1
    for shift, chunk in _chunks(text):
        for normalized, pos_tag, part, begin, end in _units(chunk):
            pos += not part
            if pos_tag in STOP_POS:  # is_stop inlined, the part of speech first (most stopped
                continue  # morphemes are particles): its call per morpheme cost 5-8% of this loop
            term = _fold_term(normalized)
            if term in STOP_WORDS or not term.strip():
                continue
            found = terms.get(term)
            if found is None:
                terms[term] = ([pos], [shift + begin, shift + end])
            else:
                found[0].append(pos)
                found[1].extend((shift + begin, shift + end))
    return terms


class AnalyzedToken(NamedTuple):
    """One index term of a text, with its offsets into the text."""

    text: str
    surface: str
    pos_tag: str
    start: int
    end: int
    part: bool


def analyze(text: str) -> list[AnalyzedToken]:
    """Analyse ``text`` into index terms with offsets into ``text``: the tokens of
    :func:`analyzer`, made without whoosh's token objects (snippets analyse every hit).

    >>> [(t.text, t.surface, t.start, t.end) for t in analyze("ＧＰＵサーバ")]
    [('gpu', 'ＧＰＵ', 0, 3), ('サーバー', 'サーバ', 3, 6)]
    """
    tokens = []
    for offset, chunk in _chunks(text):
        for normalized, pos_tag, part, begin, end in _units(chunk):
            term = _fold_term(normalized)
            if not is_stop(term, pos_tag):
                start, stop = offset + begin, offset + end
                tokens.append(AnalyzedToken(term, text[start:stop], pos_tag, start, stop, part))
    return tokens


_fold_term = functools.lru_cache(maxsize=65_536)(fold)
