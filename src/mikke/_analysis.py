"""Japanese analysis: Sudachi morphemes -> index terms, one definition for index and query.

Every text goes through one pipeline, :func:`chunk_terms` (per chunk, cached):

* Sudachi segments with split mode C (whole compounds) and also gives each compound's
  A units (its parts) at the compound's position, marked ``part``: ``センター`` then
  finds ``データセンター``, while a query for the whole compound matches both the
  compound and its parts and ranks higher. A term is Sudachi's normalized form
  (サーバ -> サーバー, 引越し -> 引っ越し), one written in hiragana only is written in katakana
  (ごみ -> ゴミ: :func:`kana_fold`); offsets come from Sudachi's
  ``begin()/end()`` on the original text. Kana in brackets after a kanji are its reading,
  dropped, unless they are katakana: 汽缶（ボイラー） keeps ボイラー (:func:`_glosses_kept`).
* :func:`fold` applies NFKC and case folding to the term (never to offsets).
* Stop: particles, auxiliaries, symbols (not letters such as Σ), whitespace and other function words
  (:data:`STOP_POS`, :data:`STOP_WORDS`) are dropped; they still take a position.
* Each term carries its reading (Sudachi's ``reading_form``, in hiragana): the
  index records which words read how (:func:`reading_pairs`), so a query typed in
  kana finds the words it reads as.

Everything else reads those terms: :func:`index_terms` (a passage's postings and
offsets), :func:`analyze` (queries, snippets, ``mikke analyze``) and
:class:`SudachiTokenizer`, the whoosh analyzer stored in the schema (whoosh's
own writer, for updates).

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
from whoosh.analysis import Composable, Token, Tokenizer

#: Parts of speech (first level of Sudachi's POS tuple) that carry no search meaning.
STOP_POS = frozenset({"助詞", "助動詞", "補助記号", "空白", "記号", "代名詞", "連体詞", "接続詞", "感動詞"})
#: Kept although their first level is stopped: letters such as α, Σ, シグマ (記号-文字).
KEEP_POS = frozenset({("記号", "文字")})

#: Normalized forms that are function words or question words in any position
#: (like the stop list of Lucene's Japanese analyzer): という, もの, こと, なぜ, どんな…;
#: the light verbs する, いる, おる, なる, ある (in every written form: される, いた, なります,
#: 在る), 何 where Sudachi tags it a numeral (何年) or it is a compound's part (何月), and the
#: polite prefix お/ご (御: お問い合わせ, ご利用).
STOP_WORDS = frozenset(
    {"言う", "物", "こと", "為", "他", "様", "何故", "どう", "幾つ", "幾ら", "どんな", "良く", "特に"}
    | {"為る", "居る", "おる", "成る", "有る", "何", "御"}
)

#: Sudachi refuses very long inputs; longer text is analysed in chunks of this many characters.
MAX_CHUNK_CHARS = 4000

_CHUNK_BREAK = re.compile(r"[。！？!?\n]")

#: A left bracket before a word in katakana (full or half width) and its right bracket (汽缶（ボイラー）, 党(ナチス)).
_GLOSS = re.compile(r"[（(](?=[\u30a1-\u30faー\uff66-\uff9f]+[)）])")


def _glosses_kept(text: str) -> str:
    """``text`` with the left bracket of a word in katakana in brackets written ［: Sudachi reads up
    to four kana in brackets after a kanji as its reading and drops them (石油（せきゆ）), a word in
    katakana too, mostly a word of its own (汽缶（ボイラー）, 後天性免疫不全症候群(エイズ)); one
    character for one, so every offset stays.

    >>> _glosses_kept("汽缶（ボイラー）と石油（せきゆ）")
    '汽缶［ボイラー）と石油（せきゆ）'
    """
    return _GLOSS.sub("［", text) if "（" in text or "(" in text else text


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
            fields = {"pos", "normalized_form", "reading_form", "split_a"}
            self.tokenizer = _dictionary().tokenizer(mode=SplitMode.C, fields=fields)
        return self.tokenizer


_SUDACHI = _Sudachi()


def _stopped(morpheme: Any) -> bool:
    """Whether a morpheme's part of speech is stopped (:data:`STOP_POS`, :data:`KEEP_POS`)."""
    return _pos(morpheme)[1]


#: Each part of speech's id in the dictionary -> its first level and whether it is stopped.
_POS: dict[int, tuple[str, bool]] = {}


def _pos(morpheme: Any) -> tuple[str, bool]:
    """A morpheme's part of speech (first level) and whether it is stopped, kept by its id."""
    found = _POS.get(morpheme.part_of_speech_id())
    if found is None:
        pos = morpheme.part_of_speech()
        found = _POS[morpheme.part_of_speech_id()] = (pos[0], pos[0] in STOP_POS and pos[:2] not in KEEP_POS)
    return found


#: One index term of a chunk: (term, reading, part of speech, is a part, position, start, end).
#: Positions count whole morphemes (stopped ones too) from 0 in the chunk; a part shares its compound's.
Unit = tuple[str, str, str, bool, int, int, int]


@functools.lru_cache(maxsize=256)
def chunk_terms(chunk: str) -> tuple[tuple[Unit, ...], int]:
    """The index terms of ``chunk`` (at most :data:`MAX_CHUNK_CHARS`), each whole morpheme followed by
    its parts when it has several, and the number of positions the chunk takes. Cached: a post's
    title, excerpt and headings, repeated on each of its passages, are analysed once.

    >>> chunk_terms("冷却の液体")
    ((('冷却', 'れいきゃく', '名詞', False, 0, 0, 2), ('液体', 'えきたい', '名詞', False, 2, 3, 5)), 3)
    """
    units: list[Unit] = []
    position = -1
    for morpheme in _SUDACHI.get().tokenize(_glosses_kept(chunk)):
        position += 1
        pos_tag, stopped = _pos(morpheme)
        if stopped:  # its parts too
            continue
        parts = morpheme.split(SplitMode.A)
        for n, unit in enumerate((morpheme, *parts) if len(parts) > 1 else (morpheme,)):
            if n and _stopped(unit):  # a compound's particle or symbol: 天の川's の, モナ・リザ's ・
                continue
            term = _fold_term(unit.normalized_form())
            if term not in STOP_WORDS and term.strip():
                term = _katakana(term)
                reading = _hiragana(unit.reading_form())
                units.append((term, reading, pos_tag, n > 0, position, unit.begin(), unit.end()))
    return tuple(units), position + 1


class Word(NamedTuple):
    """One of Sudachi's words of a short text: its term, its surface, whether Sudachi's dictionary
    holds it, whether it is stopped (a particle, a symbol...), and its part of speech (first level)."""

    term: str
    surface: str
    known: bool
    stopped: bool
    pos: str


def words(text: str) -> list[Word]:
    """Sudachi's words of a short ``text`` (split mode C, not cached), as the index would cut it.

    >>> [(w.term, w.known, w.stopped) for w in words("マラソンのラマソン")]
    [('マラソン', True, False), ('の', True, True), ('ラマソン', False, False)]
    """
    return [
        Word(
            term := _fold_term(m.normalized_form()),
            m.surface(),
            not m.is_oov(),
            m.part_of_speech()[0] in STOP_POS or term in STOP_WORDS,
            m.part_of_speech()[0],
        )
        for m in _SUDACHI.get().tokenize(_glosses_kept(text))
    ]


def known_word(text: str) -> bool:
    """Whether Sudachi's dictionary holds ``text`` as one word, after Sudachi's input normalization
    (ーー is read as ー): a look-up, a third of the time of :func:`words`, and true of every text
    that :func:`words` cuts into one word Sudachi knows.

    >>> known_word("データベース"), known_word("データーーベース"), known_word("ラマソン")
    (True, True, False)
    """
    return len(_dictionary().lookup(text)) > 0


def text_terms(text: str) -> Iterator[tuple[Unit, int, int]]:
    """Each index term of ``text`` (of any length) with its position and start in the whole text.

    >>> [(unit[0], position, start) for unit, position, start in text_terms("冷却と液体")]
    [('冷却', 0, 0), ('液体', 2, 3)]
    """
    shift = 0
    for offset, chunk in _chunks(text):
        units, count = chunk_terms(chunk)
        for unit in units:
            yield unit, shift + unit[4], offset + unit[5]
        shift += count


class SudachiTokenizer(Tokenizer):  # type: ignore[misc]
    """The index terms of :func:`chunk_terms` as whoosh tokens: the analyzer stored in the schema.

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
        for (term, _, pos_tag, part, _, begin, end), position, start in text_terms(value):
            token.text = term
            token.pos_tag = pos_tag
            token.part = part
            token.stopped = False
            token.boost = 1.0
            if keeporiginal:
                token.original = value[start : start + end - begin]
            if positions:
                token.pos = start_pos + position
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + start + end - begin
            yield token


def analyzer() -> Composable:
    """The analyzer stored in the schema (whoosh's own writer analyses updates with it).

    >>> [t.text for t in analyzer()("引越しのサーバ")]
    ['引っ越し', 'サーバー']
    """
    return SudachiTokenizer()


#: Each index term of a text -> the positions of its tokens and their offsets, flat: ``[start, end, ...]``.
IndexTerms = dict[str, tuple[list[int], list[int]]]


@functools.lru_cache(maxsize=64)
def index_terms(text: str) -> IndexTerms:
    """The terms of ``text`` grouped (in order of first occurrence), with their positions and
    offsets. Indexing takes a passage's postings and its stored offsets from this one analysis
    (cached: do not modify).

    >>> index_terms("冷却と液体冷却")
    {'冷却': ([0, 3], [0, 2, 5, 7]), '液体': ([2], [3, 5])}
    """
    terms: IndexTerms = {}
    shift = 0
    for offset, chunk in _chunks(text):
        units, count = chunk_terms(chunk)
        for term, _, _, _, position, begin, end in units:
            found = terms.get(term)
            if found is None:
                terms[term] = ([shift + position], [offset + begin, offset + end])
            else:
                found[0].append(shift + position)
                found[1].extend((offset + begin, offset + end))
        shift += count
    return terms


def reading_pairs(text: str) -> set[str]:
    """``reading<TAB>term`` for each term of ``text`` written with a kanji or a Latin letter, and
    no digit (the ``reading`` field of a post's marker document: a word in kana is found as
    typed, and numbers are not looked up by their reading).

    >>> sorted(reading_pairs("液体のデータと冷却、soccer 42"))
    ['えきたい\\t液体', 'さっかー\\tsoccer', 'れいきゃく\\t冷却']
    """
    pairs = {_reading_pair(unit[0], unit[1]) for _, chunk in _chunks(text) for unit in chunk_terms(chunk)[0]}
    pairs.discard("")
    return pairs


@functools.lru_cache(maxsize=65_536)
def _reading_pair(term: str, reading: str) -> str:
    """``reading<TAB>term`` when :func:`reading_pairs` records the term, else "" (cached: a build
    meets the same words again and again)."""
    if _READ.search(term) and not _DIGIT.search(term) and _KANA.fullmatch(reading):
        return f"{reading}\t{term}"
    return ""


class AnalyzedToken(NamedTuple):
    """One index term of a text, with its offsets into the text."""

    text: str
    surface: str
    pos_tag: str
    start: int
    end: int
    part: bool


def analyze(text: str) -> list[AnalyzedToken]:
    """Analyse ``text`` into index terms with offsets into ``text``, without whoosh's token objects.

    >>> [(t.text, t.surface, t.start, t.end) for t in analyze("ＧＰＵサーバ")]
    [('gpu', 'ＧＰＵ', 0, 3), ('サーバー', 'サーバ', 3, 6)]
    """
    return list(_analyzed(text))


@functools.lru_cache(maxsize=256)
def _analyzed(text: str) -> tuple[AnalyzedToken, ...]:
    """:func:`analyze`'s tokens, cached: a query is read by its parsing, its expansion and its labels."""
    tokens = []
    for (term, _, pos_tag, part, _, begin, end), _, start in text_terms(text):
        stop = start + end - begin
        tokens.append(AnalyzedToken(term, text[start:stop], pos_tag, start, stop, part))
    return tuple(tokens)


_READ = re.compile(r"[\u3400-\u9fff\uf900-\ufaff々〆ヵヶa-z]")  # a kanji or a Latin letter
_DIGIT = re.compile(r"\d")
_KANA = re.compile(r"[\u3041-\u309fー]+")  # a reading Sudachi knows (an unknown word's is its surface)
_KATAKANA = {code: code - 0x60 for code in range(ord("ァ"), ord("ヶ") + 1)}


def to_hiragana(text: str) -> str:
    """Katakana -> hiragana (readings are compared in hiragana).

    >>> to_hiragana("エキタイ・データ")
    'えきたい・でーた'
    """
    return text.translate(_KATAKANA)


_HIRAGANA_WORD = re.compile(r"[\u3041-\u3096ー]+")
_HIRAGANA = {code: code + 0x60 for code in range(ord("ぁ"), ord("ゖ") + 1)}


def kana_fold(term: str) -> str:
    """A term written in hiragana only, in katakana: ごみ and ゴミ are one term (Sudachi
    normalizes ねこ and ネコ to 猫, but keeps ごみ and ゴミ apart).

    >>> kana_fold("ごみ"), kana_fold("ゴミ"), kana_fold("ごみ箱")
    ('ゴミ', 'ゴミ', 'ごみ箱')
    """
    return term.translate(_HIRAGANA) if _HIRAGANA_WORD.fullmatch(term) else term


_hiragana = functools.lru_cache(maxsize=65_536)(to_hiragana)
_katakana = functools.lru_cache(maxsize=65_536)(kana_fold)
_fold_term = functools.lru_cache(maxsize=65_536)(fold)
